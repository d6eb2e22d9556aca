// Friends and blocks as this session knows them (GET /api/v1/users/@me/relationships), shared by the
// profile card, the Friends page, the blocked list in Settings and the chat (a blocked user's
// messages are collapsed). Changes go through here so every open screen is told ('relations').

import * as api from '../api.js';
import * as store from '../store.js';

const enc = encodeURIComponent;
const byUser = new Map(); // user id -> { type: friend|outgoing|incoming|blocked, ... }
let loaded = null;

export function load() {
  loaded = api.get('/api/v1/users/@me/relationships').then((out) => {
    byUser.clear();
    for (const r of out.relationships) byUser.set(r.user_id, r);
    store.emit('relations');
    return byUser;
  });
  loaded.catch(() => { loaded = null; });
  return loaded;
}

export function ready() {
  return loaded || load();
}

export function typeOf(userId) {
  return byUser.get(userId)?.type || null;
}

export function isBlocked(userId) {
  return typeOf(userId) === 'blocked';
}

export function list(type) {
  return [...byUser.values()].filter((r) => r.type === type);
}

async function change(method, path) {
  await api.api(method, path);
  await load();
}

export const befriend = (id) => change('PUT', `/api/v1/users/@me/friends/${enc(id)}`);
export const unfriend = (id) => change('DELETE', `/api/v1/users/@me/friends/${enc(id)}`);
export const block = (id) => change('PUT', `/api/v1/users/@me/blocks/${enc(id)}`);
export const unblock = (id) => change('DELETE', `/api/v1/users/@me/blocks/${enc(id)}`);
