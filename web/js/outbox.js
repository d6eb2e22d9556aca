// What the app keeps to work after a cold start offline (IndexedDB): the outbox (messages not yet
// confirmed) and the last opened channel; and drafts (localStorage). Outbox items go in order, each
// with a nonce, so a retry after a lost reply or a reload never makes a second message.

import { token } from './api.js';
import { messages as M } from './content.js';
import * as store from './store.js';

const DB_NAME = 'cryb-offline';
const OUTBOX = 'outbox'; // key: nonce; {nonce, channel_id, author_id, content, reply_to, created_at}
const KV = 'kv'; // 'last': the last opened channel ({me, path, channel, messages, names})

let opened = null;
function db() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(OUTBOX, { keyPath: 'nonce' });
        req.result.createObjectStore(KV);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    opened.catch(() => { opened = null; });
  }
  return opened;
}

/** One IndexedDB transaction; resolves with the request's result once it has committed. */
async function run(name, mode, fn) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const t = conn.transaction(name, mode);
    const req = fn(t.objectStore(name));
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

// -- the last opened channel ------------------------------------------------------------------------

export const remember = (key, value) => run(KV, 'readwrite', (s) => s.put(value, key)).catch(() => {});
export const recall = (key) => run(KV, 'readonly', (s) => s.get(key)).catch(() => null);

// -- the outbox -------------------------------------------------------------------------------------

const items = []; // in the order written; each also {id: 'pending-<nonce>', pending, error}
const listeners = new Set();
let loading = null;
let flushing = null;
let backoff = 1000; // after a send that got no answer while online (its reply may have been lost)

function newNonce() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

function shown(row, pending = 'waiting') {
  return { ...row, id: `pending-${row.nonce}`, reactions: [], pending };
}

function changed(channelId, detail = {}) {
  for (const fn of listeners) fn({ channelId, ...detail });
}

/** fn({channelId, added?, error?}) after any change; returns the unsubscribe function. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Read what a previous page (or a cold start offline) left in the outbox, once. */
export function load() {
  if (!loading) {
    loading = run(OUTBOX, 'readonly', (s) => s.getAll()).then((rows) => {
      rows.sort((a, b) => a.created_at - b.created_at);
      // A message the node refused stays refused across reloads (sent again only by Retry).
      for (const row of rows) if (!items.some((i) => i.nonce === row.nonce)) items.push(shown(row, row.failed ? 'failed' : 'waiting'));
      for (const ch of new Set(rows.map((r) => r.channel_id))) changed(ch);
    }).catch(() => {});
  }
  return loading;
}

/** The current user's unsent messages in a channel, oldest first (rendered as pending). */
export function pending(channelId) {
  const me = store.state.me?.id;
  return items.filter((i) => i.channel_id === channelId && i.author_id === me);
}

/** Queue a message: stored first (so a reload cannot lose it), then sent with the others. */
export async function add({ channelId, content, replyTo = null, attachments = [] }) {
  const row = { nonce: newNonce(), channel_id: channelId, author_id: store.state.me.id, content, reply_to: replyTo, attachments, created_at: Date.now() };
  // Shown once IndexedDB has committed it (a few ms): a reload right after it appears keeps it.
  await run(OUTBOX, 'readwrite', (s) => s.put(row)).catch(() => {});
  items.push(shown(row, 'sending'));
  changed(channelId);
  return flush();
}

/** Keep whether the node refused it, so a reload does not send it again on its own. */
function markFailed(item, failed) {
  const { nonce, channel_id: channelId, author_id: authorId, content, reply_to: replyTo, attachments, created_at: createdAt } = item;
  const row = { nonce, channel_id: channelId, author_id: authorId, content, reply_to: replyTo, attachments, created_at: createdAt, failed };
  return run(OUTBOX, 'readwrite', (s) => s.put(row)).catch(() => {});
}

async function forget(item) {
  const at = items.indexOf(item);
  if (at >= 0) items.splice(at, 1);
  await run(OUTBOX, 'readwrite', (s) => s.delete(item.nonce)).catch(() => {});
}

/** Send what is queued, in order; stop at the first message that cannot reach the node. */
export function flush() {
  if (!flushing) flushing = sendAll().finally(() => { flushing = null; });
  return flushing;
}

async function sendAll() {
  await load();
  if (!token()) return; // not signed in yet (a cold start offline): the app flushes once it is
  const me = store.state.me?.id;
  const tried = new Set();
  for (;;) {
    // Picked afresh each time: messages queued while this runs are sent by it too.
    const item = items.find((i) => !tried.has(i) && i.pending !== 'failed' && i.author_id === me);
    if (!item) return;
    tried.add(item);
    item.pending = 'sending';
    changed(item.channel_id);
    try {
      const body = { content: item.content, nonce: item.nonce };
      if (item.reply_to) body.reply_to = item.reply_to;
      if (item.attachments && item.attachments.length) body.attachments = item.attachments;
      const sent = await M.send(item.channel_id, body);
      await forget(item);
      const added = store.mergeMessages(item.channel_id, [sent]);
      changed(item.channel_id, { added, error: '' });
      backoff = 1000;
    } catch (err) {
      if (err.status === 0) {
        item.pending = 'waiting';
        // Offline: the 'online' event sends. Online: the request or its reply was lost; the same
        // nonce goes again soon (the node answers the message if it was made).
        if (navigator.onLine) {
          setTimeout(flush, backoff);
          backoff = Math.min(backoff * 2, 30000);
        }
        changed(item.channel_id, { error: 'You are offline. Your message will be sent when the connection is back.' });
        return;
      }
      item.pending = 'failed';
      await markFailed(item, true);
      const error = err.status === 429 ? 'Slow down: you are sending messages too quickly.'
        : err.code === 'timed_out' ? 'You are timed out in this community: the message was not sent.' : err.message;
      changed(item.channel_id, { error });
    }
  }
}

window.addEventListener('online', () => flush());

export function retry(id) {
  const item = items.find((i) => i.id === id);
  if (item) {
    item.pending = 'waiting';
    markFailed(item, false);
  }
  return flush();
}

export async function discard(id) {
  const item = items.find((i) => i.id === id);
  if (!item) return;
  await forget(item);
  changed(item.channel_id, { error: '' });
}

const DRAFT = 'cryb-draft:';

/** A channel's unsent text, kept across reloads: draft(id) reads it, draft(id, '') drops it. */
export function draft(id, text) {
  try {
    if (text === undefined) return localStorage.getItem(DRAFT + id) || '';
    if (text) localStorage.setItem(DRAFT + id, text);
    else localStorage.removeItem(DRAFT + id);
  } catch { /* no storage: the page keeps it */ }
  return '';
}

/** Signing out: nothing of this account stays in the browser. */
export async function clear() {
  items.length = 0;
  try {
    for (const k of Object.keys(localStorage)) if (k.startsWith(DRAFT)) localStorage.removeItem(k);
  } catch { /* nothing kept */ }
  await run(OUTBOX, 'readwrite', (s) => s.clear()).catch(() => {});
  await run(KV, 'readwrite', (s) => s.clear()).catch(() => {});
}
