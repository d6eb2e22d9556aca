// Notifications: the inbox (unread badge on the rail), per-community/channel levels, the email
// digest, and Web Push opt-in through the service worker (/sw.js).

import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';
import { mentionNodes } from './mentions.js';

const { state } = store;
const KIND_TEXT = {
  dm: 'sent you a message', mention: 'mentioned you', reply: 'replied to you', comment: 'commented on your post',
  moderation: 'moderation action on your content', announcement: 'new announcement',
  event_reminder: 'An event you answered starts soon',
};

export const inbox = { unread: 0 };

/** Refresh the unread count (the rail badge re-renders on 'notifications'). */
export async function refreshUnread() {
  try {
    const out = await R.notifications.unread();
    if (out.unread !== inbox.unread) {
      inbox.unread = out.unread;
      store.emit('notifications', out.unread);
    }
  } catch {
    // offline or signed out: keep the last count
  }
}

function where(n) {
  if (n.community_id && n.channel_id) {
    const ch = store.channelById(n.channel_id);
    if (ch && ch.kind === 'forum' && n.target_id) return `/channels/${n.community_id}/${n.channel_id}`;
    return `/channels/${n.community_id}/${n.channel_id}${n.target_id ? `#m-${n.target_id}` : ''}`;
  }
  if (n.channel_id) return `/channels/@me/${n.channel_id}`;
  if (n.kind === 'event_reminder' && n.community_id) return `/channels/${n.community_id}/@events`;
  if (n.community_id) return `/channels/${n.community_id}`;
  return null;
}

export class InboxView {
  constructor(shell) {
    this.shell = shell;
    this.channelId = '@inbox';
    this.list = h('ol', { class: 'notif-list', 'aria-label': 'Notifications' });
    this.status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
    this.prefs = h('section', { class: 'notif-prefs', 'aria-labelledby': 'np-h' });
    this.el = h('div', { class: 'chat-view inbox-view' },
      shell.header(h('h2', { class: 'channel-title' }, 'Notifications'),
        h('div', { class: 'header-actions' },
          h('a', { class: 'btn', href: '/mentions', onclick: (e) => { e.preventDefault(); shell.navigate('/mentions'); } }, 'Mentions of me'),
          h('button', { class: 'btn', onclick: () => this.markAll() }, 'Mark all read'))),
      h('div', { class: 'scroller pane-scroller' }, this.status, this.list, this.prefs));
  }

  destroy() {}
  focusComposer() {}
  flushOutbox() {}
  catchUp() { this.load(); }

  async load() {
    try {
      const out = await R.notifications.list();
      this.status.textContent = out.notifications.length ? '' : 'Nothing here yet.';
      replace(this.list, out.notifications.map((n) => this.item(n)));
    } catch (err) {
      this.status.textContent = err.message;
    }
    refreshUnread();
    this.loadPrefs();
  }

  item(n) {
    const href = where(n);
    const li = h('li', { class: `notif${n.read ? '' : ' unread'}`, dataset: { id: n.id, kind: n.kind } },
      h('p', { class: 'notif-line' },
        n.actor_id ? h('strong', null, store.displayName(n.actor_id)) : null, ' ', KIND_TEXT[n.kind] || n.kind,
        h('span', { class: 'muted' }, ` · ${formatTime(n.created_at)}`)),
      n.preview ? h('p', { class: 'notif-preview muted' }, mentionNodes(n.preview)) : null,
      h('div', { class: 'notif-actions' },
        href ? h('a', { class: 'btn link', href, onclick: (e) => { e.preventDefault(); this.read(n); this.shell.navigate(href); } }, 'Open') : null,
        n.read ? null : h('button', { class: 'btn link', onclick: () => this.read(n).then(() => this.load()) }, 'Mark read'),
        h('button', { class: 'btn link', onclick: () => R.notifications.dismiss(n.id).then(() => this.load()) }, 'Dismiss')));
    return li;
  }

  read(n) {
    return R.notifications.read(n.id).catch(() => {}).then(refreshUnread);
  }

  async markAll() {
    await R.notifications.readAll().catch((err) => announce(err.message));
    this.load();
  }

  async loadPrefs() {
    let prefs;
    try {
      prefs = await R.notifications.preferences();
    } catch (err) {
      replace(this.prefs, h('p', { role: 'alert' }, err.message));
      return;
    }
    const save = (patch) => R.notifications.setPreferences(patch).then(() => announce('Saved.')).catch((err) => announce(err.message));
    const level = h('select', { id: 'np-level', onchange: () => save({ level: level.value }) },
      ['all', 'mentions', 'nothing'].map((v) => h('option', { value: v, selected: prefs.level === v }, v)));
    const digest = h('select', { id: 'np-digest', onchange: () => save({ email_digest: digest.value }) },
      ['off', 'daily', 'weekly'].map((v) => h('option', { value: v, selected: prefs.email_digest === v }, v)));
    const email = h('input', { type: 'checkbox', id: 'np-email', checked: prefs.email, onchange: () => save({ email: email.checked }) });
    const scopes = h('ul', { class: 'scope-prefs' });
    for (const c of state.communities.values()) scopes.appendChild(this.scopeRow('communities', c.id, c.name));
    const cid = state.current.communityId;
    for (const ch of (cid && state.channels.get(cid)) || []) {
      if (ch.kind !== 'category') scopes.appendChild(this.scopeRow('channels', ch.id, `#${ch.name}`));
    }
    const push = h('button', { class: 'btn', onclick: () => enablePush().then((t) => announce(t)).catch((err) => announce(err.message)) }, 'Enable push notifications');
    replace(this.prefs,
      h('h3', { id: 'np-h' }, 'Notification settings'),
      h('div', { class: 'field' }, h('label', { for: 'np-level' }, 'Notify me about'), level),
      h('div', { class: 'check' }, email, h('label', { for: 'np-email' }, 'Email me notifications')),
      h('div', { class: 'field' }, h('label', { for: 'np-digest' }, 'Email digest'), digest),
      h('div', { class: 'field' }, push),
      h('h4', null, 'Per community and channel'), scopes);
  }

  scopeRow(kind, id, label) {
    const sel = h('select', { 'aria-label': `Notifications for ${label}` },
      h('option', { value: '' }, 'default'), ['all', 'mentions', 'nothing'].map((v) => h('option', { value: v }, v)));
    R.notifications.level(kind, id).then((p) => { sel.value = p.level || ''; }).catch(() => {});
    sel.addEventListener('change', () => {
      const req = sel.value ? R.notifications.setLevel(kind, id, { level: sel.value, muted_until: null }) : R.notifications.clearLevel(kind, id);
      req.then(() => announce('Saved.')).catch((err) => announce(err.message));
    });
    return h('li', null, h('span', null, label), sel);
  }
}

function b64urlToBytes(s) {
  const pad = '='.repeat((4 - (s.length % 4)) % 4);
  const raw = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Web Push opt-in: permission, a PushManager subscription with the node's VAPID key, and the
 *  subscription handed to the node. */
export async function enablePush() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) throw new Error('This browser has no Web Push.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('Notifications are blocked for this site.');
  const reg = await navigator.serviceWorker.ready;
  const { public_key: key } = await R.notifications.vapidKey();
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(key) });
  const json = sub.toJSON();
  await R.notifications.subscribePush({ endpoint: json.endpoint, keys: json.keys, expirationTime: json.expirationTime ?? null });
  return 'Push notifications are on.';
}
