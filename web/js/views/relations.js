// Friends and blocks as this session knows them (GET /api/v1/users/@me/relationships), shared by the
// profile card, the Friends page, the blocked list in Settings and the chat (a blocked user's
// messages are collapsed). Changes go through here so every open screen is told ('relations').

import * as R from '../content.js';
import * as store from '../store.js';

const byUser = new Map(); // user id -> { type: friend|outgoing|incoming|blocked, ... }
let loaded = null;

export function load() {
  loaded = R.me.relationships().then((out) => {
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

async function change(request) {
  await request;
  await load();
}

export const befriend = (id) => change(R.me.befriend(id));
export const unfriend = (id) => change(R.me.unfriend(id));
export const block = (id) => change(R.me.block(id));
export const unblock = (id) => change(R.me.unblock(id));
