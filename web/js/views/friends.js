// The Friends page (/friends): friends, incoming requests (accept, decline), outgoing requests
// (cancel) and a form to send a request by username; the blocked list (Settings → Blocked users);
// and the chat's collapsed messages from people you blocked.

import * as R from '../content.js';
import { announce, h, replace } from '../dom.js';
import * as store from '../store.js';
import { installProfileCards, openProfileByName, profileTrigger } from './profile_card.js';
import * as rel from './relations.js';
import { avatar } from './shell.js';

const { state } = store;

function who(r) {
  const handle = r.home ? `@${r.username}@${r.home}` : `@${r.username}`;
  return h('span', { class: 'friend-who' },
    profileTrigger(avatar(r.user_id, 'sm'), r.user_id),
    h('span', { class: 'member-text' },
      profileTrigger(h('span', { class: 'member-name', tabindex: '0', role: 'button' }, r.display_name || r.username), r.user_id),
      h('span', { class: 'muted' }, handle)));
}

function action(label, cls, fn, done) {
  return h('button', {
    type: 'button', class: `btn small ${cls}`,
    onclick: async () => {
      try {
        await fn();
        announce(done);
      } catch (err) {
        announce(err.message);
      }
    },
  }, label);
}

/** The Friends page, mounted in the main pane like the other top-level pages. */
export class FriendsView {
  constructor(shell) {
    this.shell = shell;
    this.el = h('div', { class: 'chat-view friends-view' });
    this.unsubs = [store.on('relations', () => this.render())];
  }

  destroy() { for (const u of this.unsubs) u(); }
  focusComposer() {}
  flushOutbox() {}
  catchUp() {}
  ack() {}

  async load() {
    this.render();
    await rel.load().catch((err) => announce(err.message));
  }

  section(title, type, rows, buttons) {
    return h('section', { class: 'friends-section', dataset: { type }, 'aria-label': title },
      h('h3', { class: 'category-name' }, `${title} — ${rows.length}`),
      rows.length ? h('ul', { class: 'friend-list' }, rows.map((r) => h('li', { class: 'friend-row', dataset: { userId: r.user_id } },
        who(r), h('span', { class: 'friend-actions' }, buttons(r)))))
        : h('p', { class: 'muted empty' }, type === 'friend' ? 'No friends yet. Open someone’s profile card and choose Add friend.' : 'None.'));
  }

  render() {
    const input = h('input', { id: 'friend-name', placeholder: 'username', autocomplete: 'off', maxlength: 64 });
    const error = h('p', { class: 'field-error', role: 'alert' });
    const form = h('form', {
      class: 'friend-add',
      onsubmit: async (e) => {
        e.preventDefault();
        const name = input.value.trim().replace(/^@/, '');
        if (!name) return;
        try {
          const profile = await R.users.byName(name);
          await rel.befriend(profile.id);
          announce(`Friend request sent to ${profile.display_name || profile.username}.`);
        } catch (err) {
          error.textContent = err.message;
        }
      },
    }, h('label', { for: 'friend-name' }, 'Add a friend by username'), h('div', { class: 'friend-add-row' }, input,
      h('button', { class: 'btn primary', type: 'submit' }, 'Send request')), error);
    replace(this.el,
      this.shell.header(h('h2', { class: 'channel-title' }, 'Friends')),
      h('div', { class: 'scroller friends-scroller' }, form,
        this.section('Incoming requests', 'incoming', rel.list('incoming'), (r) => [
          action('Accept', 'primary', () => rel.befriend(r.user_id), `You and ${r.username} are now friends.`),
          action('Decline', '', () => rel.unfriend(r.user_id), 'Request declined.'),
        ]),
        this.section('Outgoing requests', 'outgoing', rel.list('outgoing'), (r) => [
          action('Cancel', '', () => rel.unfriend(r.user_id), 'Request cancelled.'),
        ]),
        this.section('Friends', 'friend', rel.list('friend'), (r) => [
          action('Remove', 'danger', () => rel.unfriend(r.user_id), `${r.username} is no longer your friend.`),
        ])));
  }
}

/** Settings → Blocked users. */
export function blockedTab() {
  const box = h('section', { class: 'settings-section blocked-users' }, h('h3', null, 'Blocked users'));
  const body = h('div', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  box.appendChild(body);
  const draw = () => {
    const rows = rel.list('blocked');
    replace(body,
      h('p', { class: 'muted' }, 'Blocked people cannot message you or send you friend requests, and their messages are collapsed.'),
      rows.length ? h('ul', { class: 'friend-list' }, rows.map((r) => h('li', { class: 'friend-row', dataset: { userId: r.user_id } },
        who(r), action('Unblock', '', () => rel.unblock(r.user_id).then(draw), `${r.username} is unblocked.`))))
        : h('p', { class: 'muted empty' }, 'You have not blocked anyone.'));
  };
  rel.load().then(draw).catch((err) => replace(body, h('p', { role: 'alert' }, err.message)));
  return box;
}

/** A chat message from someone you blocked: collapsed to one line, shown on request. */
export function collapseBlocked(el, m) {
  if (!rel.isBlocked(m.author_id)) return el;
  el.classList.add('blocked-msg');
  const main = el.querySelector('.msg-main');
  if (!main) return el;
  main.hidden = true;
  const show = h('button', {
    type: 'button', class: 'btn link blocked-show',
    onclick: () => { main.hidden = false; row.remove(); },
  }, 'Show');
  const row = h('p', { class: 'blocked-note muted' }, 'Message from a blocked user. ', show);
  main.before(row);
  return el;
}

const installed = new WeakSet();

/** Once per shell: profile cards on click, and screens that follow friend and block changes. */
function installSocial(shell) {
  installProfileCards(shell);
  if (installed.has(shell)) return;
  installed.add(shell);
  shell.unsubs.push(
    watchBlocks(shell),
    store.on('relations', () => shell.renderSidebar()),
    // A friend request or acceptance arrives as a notification push: fetch the new state.
    store.on('notification-created', (n) => { if (n && String(n.kind).startsWith('friend_')) rel.load().catch(() => {}); }),
  );
}

/** Top-level pages of this module: /friends and /u/<username>; true when handled. */
export function openSocial(shell, parts) {
  installSocial(shell);
  if (parts[0] === 'friends') {
    state.current = { communityId: null, channelId: null };
    shell.renderRail();
    shell.renderSidebar();
    shell.setMembers(null);
    shell.chat?.destroy();
    const view = new FriendsView(shell);
    shell.chat = view;
    replace(shell.mainPane, view.el);
    view.load();
    return true;
  }
  if (parts[0] === 'u' && parts[1]) {
    history.replaceState({}, '', '/channels/@me');
    shell.open('/channels/@me').then(() => openProfileByName(shell, decodeURIComponent(parts[1])));
    return true;
  }
  return false;
}

/** Re-draw open chat messages after a block or unblock (their collapse changes). */
function watchBlocks(shell) {
  return store.on('relations', () => {
    const chat = shell.chat;
    if (chat && chat.elements && chat.renderAll) {
      chat.elements.clear();
      chat.renderAll();
    }
  });
}

/** The Friends link at the top of the direct-messages list. */
export function friendsLink(shell) {
  const incoming = rel.list('incoming').length;
  const active = location.pathname === '/friends';
  return h('li', { class: `channel friends-link${active ? ' active' : ''}` },
    h('a', {
      href: '/friends',
      'data-focus-key': 'friends',
      'aria-current': active ? 'page' : undefined,
      'aria-label': `Friends${incoming ? `, ${incoming} ${incoming === 1 ? 'request' : 'requests'}` : ''}`,
      onclick: (e) => { e.preventDefault(); shell.navigate('/friends'); },
    }, h('span', { class: 'channel-icon', 'aria-hidden': 'true' }, '☺'), h('span', { class: 'channel-name' }, 'Friends'),
    incoming ? h('span', { class: 'badge', 'aria-hidden': 'true' }, String(incoming)) : null));
}
