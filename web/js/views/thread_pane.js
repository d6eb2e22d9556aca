// Threads in a chat channel: the pane beside the messages (full screen on a phone) that shows one
// thread live with its own composer, or the channel's thread list (GET /channels/{id}/threads); and
// the "N replies" line under a thread's first message. A thread is the messages whose thread_id is
// its root message (POST .../messages {thread_id}); the channel's own history leaves them out.

import { channels as Ch, messages as M } from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { redraw } from './chat_messages.js';
import { renderBody } from './markup.js';
import { avatar } from './shell.js';

const { state } = store;
const panes = new WeakMap(); // ChatView -> its pane state

function paneOf(view) {
  let p = panes.get(view);
  if (!p) {
    p = { el: null, mode: null, root: null, replies: new Map(), counted: new Set(), listTimer: null };
    panes.set(view, p);
    view.unsubs.push(store.on('messages', (ev) => ev.channelId === view.channelId && onChange(view, p, ev)));
    view.unsubs.push(() => clearTimeout(p.listTimer));
  }
  return p;
}

// -- the line under a root message ----------------------------------------------------------------

/** "3 replies · last 14:05" under a message that has a thread (drawn by chat_messages.js). */
export function threadSummary(view, m) {
  if (!m.thread_count || m.thread_id || view.dm) return null;
  const n = m.thread_count;
  return h('button', {
    type: 'button', class: 'thread-summary', tabindex: '-1',
    'aria-label': `Open thread: ${n} ${n === 1 ? 'reply' : 'replies'}`,
    onclick: () => openThread(view, m),
  }, icon('thread', 16), h('span', null, `${n} ${n === 1 ? 'reply' : 'replies'}`));
}

/** The header button that opens the channel's thread list (ChatView's constructor: one per view). */
export function threadsButton(view) {
  if (view.dm) return null;
  paneOf(view); // from now on, thread replies arriving live update their root's "N replies"
  return h('button', {
    class: 'icon-btn threads-btn', 'aria-label': 'Threads', title: 'Threads',
    onclick: () => { const p = paneOf(view); if (p.mode === 'list') closePane(view); else openThreadList(view); },
  }, icon('thread'));
}

// -- the pane ---------------------------------------------------------------------------------------

function shell(view, p, title, back, ...body) {
  const closeBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close thread pane', title: 'Close', onclick: () => closePane(view) }, icon('close'));
  const el = h('aside', {
    class: 'thread-pane', 'aria-label': title,
    onkeydown: (e) => { if (e.key === 'Escape' && !e.defaultPrevented) { e.preventDefault(); closePane(view); } },
  },
  h('header', { class: 'thread-head' },
    back ? h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'All threads', title: 'All threads', onclick: () => openThreadList(view) }, h('span', { 'aria-hidden': 'true' }, '←')) : null,
    h('h2', { class: 'thread-title' }, icon('thread', 18), h('span', null, title)),
    closeBtn),
  ...body);
  if (p.el) p.el.replaceWith(el); else view.el.append(el);
  p.el = el;
  view.el.classList.add('thread-open');
  return el;
}

export function closePane(view) {
  const p = panes.get(view);
  if (!p || !p.el) return;
  const root = p.root;
  p.el.remove();
  p.el = null;
  p.mode = null;
  p.root = null;
  view.el.classList.remove('thread-open');
  const back = root && view.elements.get(root.id);
  if (back) back.focus(); else view.focusComposer();
}

/** Open (or start) the thread hanging from `root`. */
export async function openThread(view, root) {
  const p = paneOf(view);
  p.mode = 'thread';
  p.root = root;
  p.replies = new Map();
  const list = h('ol', { class: 'thread-replies', role: 'log', 'aria-label': 'Replies in this thread' });
  const status = h('p', { class: 'muted thread-status', role: 'status' }, 'Loading replies…');
  const composer = threadComposer(view, p, root);
  shell(view, p, 'Thread', true,
    h('div', { class: 'thread-scroll' },
      h('div', { class: 'thread-root' }, row(root)),
      h('p', { class: 'thread-divider muted' }, h('span', null, 'Replies')),
      status, list),
    composer.el);
  p.list = list;
  p.status = status;
  composer.input.focus();
  try {
    const page = await M.list(view.channelId, { thread: root.id, limit: 100 });
    if (p.root !== root) return; // another thread was opened meanwhile
    for (const m of page.messages) addReply(p, m);
    settleStatus(p);
    scrollDown(p);
  } catch (err) {
    status.textContent = err.message;
  }
}

function settleStatus(p) {
  if (!p.status) return;
  p.status.textContent = p.replies.size ? '' : 'No replies yet. Write the first one below.';
}

function scrollDown(p) {
  const scroller = p.el?.querySelector('.thread-scroll');
  if (scroller) scroller.scrollTop = scroller.scrollHeight;
}

function row(m) {
  const name = store.displayName(m.author_id);
  return h('article', { class: 'thread-msg', dataset: { id: m.id } },
    avatar(m.author_id, 'sm'),
    h('div', { class: 'msg-main' },
      h('h3', { class: 'msg-head' },
        h('span', { class: 'author' }, name),
        h('time', { class: 'muted', datetime: new Date(m.created_at).toISOString() }, formatTime(m.created_at))),
      h('div', { class: 'msg-body' }, renderBody(m))));
}

function addReply(p, m) {
  if (!p.list || m.thread_id !== p.root?.id || m.deleted) return;
  const el = row(m);
  const old = p.replies.get(m.id);
  if (old) { old.replaceWith(el); p.replies.set(m.id, el); return; }
  p.replies.set(m.id, el);
  const after = [...p.list.children].find((c) => c.dataset.id > m.id);
  p.list.insertBefore(el, after || null);
}

function threadComposer(view, p, root) {
  const allowed = store.can(view.perms, store.PERM.SEND_MESSAGES);
  const input = h('textarea', {
    class: 'thread-input', rows: '1', 'aria-label': 'Reply in thread', maxlength: '4000',
    placeholder: allowed ? 'Reply in thread…' : 'You cannot send messages here', disabled: !allowed,
  });
  const error = h('p', { class: 'field-error', role: 'alert' });
  const send = h('button', { type: 'submit', class: 'icon-btn', 'aria-label': 'Send reply', title: 'Send', disabled: !allowed }, icon('send'));
  const form = h('form', { class: 'thread-composer', novalidate: true }, h('div', { class: 'thread-compose-row' }, input, send), error);
  const submit = async () => {
    const content = input.value.trim();
    if (!content) return;
    send.disabled = true;
    error.textContent = '';
    try {
      const nonce = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
      const m = await M.send(view.channelId, { content, thread_id: root.id, nonce });
      input.value = '';
      store.mergeMessages(view.channelId, [m]);
      noteReply(view, p, m);
      announce('Reply sent.');
    } catch (err) {
      error.textContent = err.message;
    } finally {
      send.disabled = false;
      input.focus();
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  input.addEventListener('keydown', (e) => {
    e.stopPropagation(); // the chat view's own keys must not act on text typed here
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    else if (e.key === 'Escape') { e.preventDefault(); closePane(view); }
  });
  return { el: form, input };
}

// -- the channel's thread list ---------------------------------------------------------------------

export async function openThreadList(view) {
  const p = paneOf(view);
  p.mode = 'list';
  p.root = null;
  p.list = null;
  p.status = null;
  const items = h('ul', { class: 'thread-list', 'aria-label': `Threads in ${view.label}` }, h('li', { class: 'muted', role: 'status' }, 'Loading threads…'));
  shell(view, p, `Threads in ${view.label}`, false, h('div', { class: 'thread-scroll' }, items));
  p.items = items;
  await fillList(view, p);
  if (p.mode === 'list') items.querySelector('button')?.focus();
}

async function fillList(view, p) {
  const items = p.items;
  try {
    const out = await Ch.threads(view.channelId);
    if (p.mode !== 'list' || p.items !== items) return;
    replace(items, out.threads.length ? out.threads.map((t) => {
      const r = t.root;
      const n = t.reply_count;
      return h('li', null, h('button', {
        type: 'button', class: 'thread-item', onclick: () => openThread(view, view.bucket.byId.get(r.id) || r),
      },
      h('span', { class: 'thread-item-head' }, h('strong', null, store.displayName(r.author_id)),
        h('span', { class: 'muted' }, ` · ${n} ${n === 1 ? 'reply' : 'replies'} · last reply ${formatTime(t.last_reply_at)}`)),
      h('span', { class: 'thread-item-text' }, r.content.length > 140 ? `${r.content.slice(0, 140)}…` : r.content)));
    }) : h('li', { class: 'muted', role: 'status' }, 'No threads here yet. Start one from a message’s actions.'));
  } catch (err) {
    replace(items, h('li', { role: 'alert' }, err.message));
  }
}

// -- live ------------------------------------------------------------------------------------------

/** A thread reply we have not counted yet: bump its root's count and redraw that root. */
function noteReply(view, p, m) {
  if (p.mode === 'thread') {
    addReply(p, m);
    settleStatus(p);
    scrollDown(p);
  }
  if (p.counted.has(m.id)) return;
  p.counted.add(m.id);
  const root = view.bucket.byId.get(m.thread_id);
  if (root) {
    root.thread_count = (root.thread_count || 0) + 1;
    redraw(view, root.id);
    view.renderAll();
  }
  if (p.root && p.root.id === m.thread_id && p.root !== root) p.root.thread_count = (p.root.thread_count || 0) + 1;
}

function onChange(view, p, ev) {
  let threadsChanged = false;
  for (const id of ev.added || []) {
    const m = view.bucket.byId.get(id);
    if (!m || !m.thread_id) continue;
    threadsChanged = true;
    if (m.author_id !== state.me?.id && p.mode === 'thread' && p.root?.id === m.thread_id) {
      announce(`${store.displayName(m.author_id)} in thread: ${m.content.slice(0, 140)}`);
    }
    noteReply(view, p, m);
  }
  for (const id of ev.updated || []) {
    const m = view.bucket.byId.get(id);
    if (m && m.thread_id && p.mode === 'thread') addReply(p, m);
  }
  for (const id of ev.removed || []) {
    const el = p.replies.get(id);
    if (el) { el.remove(); p.replies.delete(id); settleStatus(p); threadsChanged = true; }
  }
  if (threadsChanged && p.mode === 'list') {
    clearTimeout(p.listTimer);
    p.listTimer = setTimeout(() => fillList(view, p), 150);
  }
}
