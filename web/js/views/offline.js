// The app after a cold start with no network: the last opened channel as IndexedDB kept it
// (outbox.js; read only, as plain text) and a composer whose messages wait in the outbox. Once the
// network is back the real app starts (main.js) and sends them, in order and each exactly once.

import { formatTime, h, replace } from '../dom.js';
import * as outbox from '../outbox.js';
import * as store from '../store.js';

const MENTION = /<@&?([0-9a-z]{26})>/g;

/** The offline screen; ``stop()`` on the returned element detaches it from the outbox. */
export async function offlineView() {
  const banner = h('section', { class: 'boot offline', role: 'status' },
    h('h1', null, 'You are offline'),
    h('p', null, 'CRYB will reconnect as soon as the network is back.'));
  const snap = await outbox.recall('last');
  if (!snap || !snap.me) {
    banner.stop = () => {};
    return banner;
  }
  store.state.me = snap.me;
  await outbox.load();
  const name = (id) => snap.names[id] || '…';
  const list = h('div', { class: 'message-list', role: 'log', 'aria-label': `Messages in ${snap.label}` });
  const render = () => replace(list, [...snap.messages, ...outbox.pending(snap.channelId)].map((m) => h('article', {
    class: `msg${m.pending ? ' pending' : ''}`, dataset: { id: m.id },
  }, h('div', { class: 'msg-main' },
    h('h3', { class: 'msg-head' }, h('span', { class: 'author' }, name(m.author_id)),
      h('time', { class: 'muted' }, formatTime(m.created_at))),
    h('div', { class: 'msg-body' }, m.content.replace(MENTION, (_, id) => `@${name(id)}`),
      m.pending ? h('span', { class: 'send-state waiting' }, ' Waiting for the network…') : null)))));
  const input = h('textarea', {
    id: 'composer-input', class: 'composer-input', rows: '1', maxlength: '4000',
    'aria-label': `Message ${snap.label}`, placeholder: `Message ${snap.label} (sent once online)`,
  });
  input.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    outbox.add({ channelId: snap.channelId, content: text });
  });
  const unsubscribe = outbox.onChange(({ channelId }) => { if (channelId === snap.channelId) render(); });
  render();
  // The address says where the app is; back online it reopens this channel (and sends from it).
  if (location.pathname !== snap.path) history.replaceState({}, '', snap.path);
  const scroller = h('div', { class: 'scroller' }, list);
  const view = h('div', { class: 'offline-app' }, banner,
    h('h2', { class: 'channel-title' }, snap.label), scroller,
    h('form', { class: 'composer', 'aria-label': 'Send a message', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'composer-row' }, input)));
  view.stop = unsubscribe;
  setTimeout(() => { scroller.scrollTop = scroller.scrollHeight; input.focus(); }, 0);
  return view;
}
