// A chat view's history from the node: the first page or a linked message's context, older pages,
// newer ones after a jump, the catch-up after a new session, acks, the copy kept for offline.

import { messages as M } from '../content.js';
import * as outbox from '../outbox.js';
import * as store from '../store.js';
import { placeUnread, unreadGateOpen } from './unread_divider.js';

const { state } = store;
const PAGE = 50;
const AROUND = 100; // a jump loads this many messages: half before the target, the target and after

/** The message the address points at (#m-ID: a search hit or the quick switcher). */
function hashTarget() {
  const m = /^#m-(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

/** Open the channel: its first page (or a linked message's context). `again`: a retry (retryLoad),
 *  which leaves the focus alone. */
export async function load(view, { again = false } = {}) {
  clearTimeout(view.loadTimer);
  view.loadTimer = null;
  const target = hashTarget();
  if (target && !view.bucket.byId.has(target)) {
    view.historyStatus.textContent = 'Loading messages…';
    if (!(await loadAround(view, target, { retry: true }))) return;
  } else if (!view.bucket.loaded) {
    view.historyStatus.textContent = 'Loading messages…';
    const readies = view.shell.readies;
    try {
      const page = await M.list(view.channelId, { limit: PAGE });
      store.mergeMessages(view.channelId, page.messages);
      view.bucket.hasMore = page.messages.length >= PAGE;
      view.bucket.loaded = true;
    } catch (err) {
      view.historyStatus.textContent = err.message;
      retryLoad(view, err);
      return;
    }
    // The socket became ready while the page was on its way (its catch-up had nothing to start
    // from): what was sent between the page and the socket is fetched now.
    if (view.shell.readies !== readies) catchUp(view);
  } else {
    catchUp(view);
  }
  view.renderAll();
  if (target && view.bucket.byId.has(target)) highlight(view, target);
  else view.scrollToBottom();
  view.observer.observe(view.sentinel);
  view.newerObserver.observe(view.newerSentinel);
  placeUnread(view, { scroll: !target });
  if (!again) view.focusComposer();
  ack(view);
  remember(view, 0);
}

/** A first page the network failed to bring: ask again in 1 s, 2 s ... 30 s, and on READY (catchUp). */
function retryLoad(view, err) {
  if (err.status !== 0 || view.destroyed) return;
  view.loadWait = Math.min(30000, (view.loadWait || 500) * 2);
  view.loadTimer = setTimeout(() => load(view, { again: true }), view.loadWait);
}

/** Keep the latest page of this channel in IndexedDB (outbox.js): a cold start offline shows it,
 *  and lets the member write to it, until the node can be reached. */
export function remember(view, delay = 300) {
  clearTimeout(view.rememberTimer);
  view.rememberTimer = setTimeout(() => {
    const b = view.bucket;
    if (!b.loaded || b.hasNewer || !state.me) return; // a window into history is not "the latest"
    const messages = b.list.filter((m) => !m.deleted).slice(-PAGE)
      .map((m) => ({ id: m.id, author_id: m.author_id, content: m.content, created_at: m.created_at }));
    const names = { [state.me.id]: store.displayName(state.me.id) };
    for (const m of messages) names[m.author_id] = store.displayName(m.author_id);
    const { id, username, display_name: displayName } = state.me;
    outbox.remember('last', {
      me: { id, username, display_name: displayName }, path: location.pathname, channelId: view.channelId,
      label: view.label, messages, names,
    });
  }, delay);
}

/** Show a message that may be far back in history: its context (the messages API's `around`
 *  cursor) replaces what we held, and history loads in both directions from there. */
export async function jumpTo(view, id) {
  if (!view.bucket.byId.has(id)) {
    if (!(await loadAround(view, id))) return;
    view.renderAll();
  }
  highlight(view, id);
}

/** The history around message `id`; false (the status line says why) if it cannot be had.
 *  `retry`: retryLoad after a network failure. */
async function loadAround(view, id, { retry = false } = {}) {
  try {
    const page = await M.list(view.channelId, { around: id, limit: AROUND });
    const idx = page.messages.findIndex((m) => m.id === id);
    if (idx < 0) throw Object.assign(new Error('That message is gone.'), { status: 404 });
    const b = view.bucket;
    // The window may not join up with what we held, so it replaces it.
    replaceWindow(view, page.messages);
    b.hasMore = idx >= AROUND / 2;
    b.hasNewer = page.messages.length >= AROUND;
    b.newest = page.messages[page.messages.length - 1].id;
    b.loaded = true;
    return true;
  } catch (err) {
    view.historyStatus.textContent = err.status === 404 ? 'That message is gone.' : err.message;
    if (retry) retryLoad(view, err);
    return false;
  }
}

function replaceWindow(view, messages) {
  view.bucket.list = [];
  view.bucket.byId = new Map();
  store.mergeMessages(view.channelId, messages);
}

function highlight(view, id) {
  const el = view.elements.get(id);
  if (!el) return;
  el.scrollIntoView({ block: 'center' });
  el.classList.add('jump-target');
  setTimeout(() => view.elements.get(id)?.classList.remove('jump-target'), 6000);
  view.jump.hidden = !view.bucket.hasNewer;
}

/** Newer messages after a jump into history, until the window reaches the present. */
export async function loadNewer(view) {
  const b = view.bucket;
  if (!b.loaded || !b.hasNewer || b.loadingNewer) return;
  b.loadingNewer = true;
  try {
    const page = await M.list(view.channelId, { after: b.newest, limit: PAGE });
    b.hasNewer = page.messages.length >= PAGE;
    if (page.messages.length) b.newest = page.messages[page.messages.length - 1].id;
    store.mergeMessages(view.channelId, page.messages);
    view.renderAll();
    if (!b.hasNewer) view.jump.hidden = view.nearBottom();
  } catch (err) {
    view.historyStatus.textContent = err.message;
  } finally {
    b.loadingNewer = false;
  }
}

/** Back to the latest messages (after a jump into history, the latest page replaces the window). */
export async function toPresent(view) {
  const b = view.bucket;
  if (b.hasNewer) {
    const page = await M.list(view.channelId, { limit: PAGE }).catch(() => null);
    if (page) {
      replaceWindow(view, page.messages);
      b.hasMore = page.messages.length >= PAGE;
      b.hasNewer = false;
      view.renderAll();
    }
  }
  if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
  view.scrollToBottom(true);
}

export async function loadOlder(view) {
  const b = view.bucket;
  if (!b.loaded || !b.hasMore || b.loading || !b.list.length) return;
  b.loading = true;
  view.historyStatus.textContent = 'Loading older messages…';
  try {
    const page = await M.list(view.channelId, { before: b.list[0].id, limit: PAGE });
    b.hasMore = page.messages.length >= PAGE;
    const fromBottom = view.scroller.scrollHeight - view.scroller.scrollTop;
    store.mergeMessages(view.channelId, page.messages);
    view.renderAll();
    // Keep what the reader was looking at in place while older messages appear above it.
    view.scroller.scrollTop = view.scroller.scrollHeight - fromBottom;
    view.historyStatus.textContent = b.hasMore ? '' : `This is the beginning of ${view.label}.`;
  } catch (err) {
    view.historyStatus.textContent = err.message;
  } finally {
    b.loading = false;
  }
}

/** After a fresh gateway session, fetch everything newer than what we hold (nothing was replayed). */
export async function catchUp(view) {
  const b = view.bucket;
  if (view.loadTimer) return load(view, { again: true }); // its first page is still owed
  if (!b.loaded || b.hasNewer) return; // a window into history: loadNewer walks to the present
  let after = b.list.length ? b.list[b.list.length - 1].id : null;
  for (let i = 0; i < 20; i++) {
    const page = await M.list(view.channelId, after ? { after, limit: 100 } : { limit: PAGE }).catch(() => null);
    if (!page) return;
    const added = store.mergeMessages(view.channelId, page.messages);
    if (added.length) view.applyChange({ added });
    if (page.messages.length < 100 || !after) break;
    after = page.messages[page.messages.length - 1].id;
  }
  view.flushOutbox();
}

export function ack(view) {
  const last = view.bucket.list[view.bucket.list.length - 1];
  if (!last || document.hidden || view.lastAck === last.id || !unreadGateOpen(view)) return;
  view.lastAck = last.id;
  M.ack(view.channelId, last.id).catch(() => {});
}
