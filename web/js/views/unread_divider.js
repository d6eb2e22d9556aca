// The "New" line above the first message a member has not read when they open a channel, from the
// read states the gateway's READY carries (last_read_id and an unread count per channel). The view
// scrolls to it. It goes once the member answers in the channel or leaves it; the next visit starts
// from the read state this one acknowledged.
//
// A channel's read state must be taken before this session acknowledges anything in it, so a chat
// view holds back its acks until READY has come (or a few seconds have passed without a gateway).

import { h } from '../dom.js';
import * as store from '../store.js';
import { redraw } from './chat_messages.js';

const { state } = store;
const NO_GATEWAY_MS = 8000; // then acks go out anyway: a read state that never comes must not block them

// What the member had read, per channel: from READY, then updated as they leave channels.
const reads = { me: null, ready: false, channels: new Map() };

store.on('ready', (ready) => {
  if (reads.me !== state.me?.id) {
    reads.channels.clear();
    reads.me = state.me?.id;
  } else if (reads.ready) return; // a later READY (a reconnect) is after our own acks: keep what we had
  for (const r of ready.read_states || []) reads.channels.set(r.channel_id, { last: r.last_read_id, unread: r.unread });
  reads.ready = true;
});

function readsKnown() {
  return reads.ready && reads.me === state.me?.id;
}

/** Set up a ChatView: its divider state, the late placement when READY comes after the history. */
export function attachUnread(view) {
  view.firstUnread = null;
  view.unreadPlaced = false;
  view.unreadGate = readsKnown();
  const timer = setTimeout(() => { view.unreadGate = true; view.ack(); }, NO_GATEWAY_MS);
  view.unsubs.push(
    () => clearTimeout(timer),
    store.on('ready', () => {
      if (!view.unreadGate) {
        view.unreadGate = true;
        if (view.bucket.loaded) placeUnread(view);
        view.ack();
      }
    }),
    store.on('messages', (ev) => {
      // Answering in the channel means it has been read: the line goes.
      if (ev.channelId !== view.channelId || !view.firstUnread) return;
      const mine = (ev.added || []).some((id) => {
        const m = view.bucket.byId.get(id);
        return m && !m.thread_id && m.author_id === state.me?.id;
      });
      if (mine) setFirst(view, null);
    }),
    () => {
      // Leaving: what was shown is now read (the view acknowledged it).
      const last = lastShown(view);
      if (last && readsKnown()) reads.channels.set(view.channelId, { last: last.id, unread: 0 });
    },
  );
}

/** May the view acknowledge what it shows yet? (ChatView.ack) */
export function unreadGateOpen(view) {
  return view.unreadGate !== false;
}

/** After the history first shows (ChatView.load): put the line in and scroll to it. */
export function placeUnread(view, { scroll = true } = {}) {
  if (view.unreadPlaced || !view.unreadGate || !readsKnown()) return;
  view.unreadPlaced = true;
  const rs = reads.channels.get(view.channelId);
  const id = rs ? firstUnread(view, rs) : null;
  if (!id) return;
  setFirst(view, id);
  const el = view.elements.get(id);
  if (el && scroll && !location.hash.startsWith('#m-')) {
    view.scroller.scrollTop = Math.max(0, el.offsetTop - view.scroller.offsetTop - 48);
    if (!view.nearBottom()) view.jump.hidden = false;
  }
}

/** The divider for the message that starts the unread part (chat_messages.js renderMessage). */
export function unreadMark(view, m) {
  if (view.firstUnread !== m.id) return null;
  return h('div', { class: 'new-divider', role: 'separator', 'aria-label': 'New messages start here' },
    h('span', { 'aria-hidden': 'true' }, 'New'));
}

function setFirst(view, id) {
  const before = view.firstUnread;
  view.firstUnread = id;
  if (before) redraw(view, before);
  if (id) redraw(view, id);
  view.renderAll();
}

function shown(view) {
  return view.bucket.list.filter((m) => !m.thread_id && !m.deleted && !m.pending);
}

function lastShown(view) {
  const list = shown(view);
  return list[list.length - 1] || null;
}

function firstUnread(view, rs) {
  const me = state.me?.id;
  const list = shown(view);
  if (rs.last) {
    // Ids sort by creation time, so this holds even when the last read message is not loaded.
    const m = list.find((x) => x.id > rs.last && x.author_id !== me);
    return m ? m.id : null;
  }
  if (!rs.unread) return null;
  // Never read: the last `unread` messages from others are the new ones.
  let left = rs.unread;
  for (let i = list.length - 1; i >= 0; i -= 1) {
    if (list[i].author_id === me) continue;
    left -= 1;
    if (left === 0) return list[i].id;
  }
  const oldest = list.find((x) => x.author_id !== me);
  return oldest ? oldest.id : null;
}
