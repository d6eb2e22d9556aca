// The signed-in app: communities rail, channel sidebar, the open channel and the member list, kept
// live by the realtime gateway.

import { communities as C, dms as D, me as Me } from '../content.js';
import { announce, h, hue, initials, replace } from '../dom.js';
import { Gateway } from '../gateway.js';
import { icon, icon as svgIcon } from '../icons.js';
import * as store from '../store.js';
import { effectiveTheme, toggleTheme } from '../theme.js';
import { ChatView } from './chat.js';
import { createChannelDialog, createCommunityDialog, inviteDialog, joinDialog } from './dialogs.js';
import { MemberList } from './members.js';
import { handleDispatch } from './live.js';
import { communityTools, eventsLink, openChannelExtra, openTop, railItems } from './extra.js';
import { communityBadge } from './community_menu.js';
import { friendsLink } from './friends.js';
import { panelNames } from './custom_status.js';
import { morph } from './keyed.js';
import { installVoice, openVoiceChannel, voiceChannelItem } from './voice.js';

// User settings load when first opened: the chat page's first load does not carry them.
const openSettings = (shell) => import('./settings.js').then((mod) => mod.openSettings(shell));

const { state } = store;

export function avatar(userId, size = 'md') {
  const u = store.user(userId);
  const name = u ? u.display_name || u.username : '';
  const status = store.state.presence.get(userId) || 'offline';
  return h('span', { class: `avatar ${size}`, style: `--hue:${hue(userId)}`, 'aria-hidden': 'true' },
    initials(name),
    h('span', { class: `presence ${status}` }));
}

export class Shell {
  constructor({ navigate, signedOut }) {
    this.navigate = navigate;
    this.signedOut = signedOut;
    this.unsubs = [];
    this.chat = null;
    this.members = null;
    this.rail = h('nav', { class: 'rail', 'aria-label': 'Communities' });
    this.sidebar = h('nav', { class: 'sidebar', 'aria-label': 'Channels' });
    this.mainPane = h('main', { class: 'chat', id: 'main' });
    this.memberPane = h('aside', { class: 'members', 'aria-label': 'Members', hidden: true });
    this.status = h('div', { class: 'conn-status', role: 'status', 'aria-live': 'polite' });
    this.scrim = h('div', { class: 'scrim', onclick: () => this.closeDrawers() });
    this.el = h('div', { class: 'shell' }, this.rail, this.sidebar, this.mainPane, this.memberPane, this.scrim, this.status);
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.el.classList.contains('drawer-open')) this.closeDrawers();
    });
  }

  async start() {
    this.gateway = new Gateway();
    installVoice(this);
    this.gateway.addEventListener('dispatch', (e) => handleDispatch(this, e.detail));
    this.gateway.addEventListener('ready', (e) => this.onReady(e.detail));
    this.gateway.addEventListener('resumed', () => this.onResumed());
    this.gateway.addEventListener('state', (e) => this.showConnection(e.detail));
    this.gateway.addEventListener('signed-out', () => this.signedOut());
    this.unsubs.push(
      store.on('channels', () => this.renderSidebar()),
      store.on('communities', () => { this.renderRail(); this.renderSidebar(); }),
      store.on('unread', () => { this.renderRail(); this.renderSidebar(); }),
      store.on('users', () => { this.renderSidebar(); }),
      store.on('presence', (id) => { if (id === state.me?.id) this.renderSidebar(); }),
    );
    try {
      state.me = await Me.get();
      state.users.set(state.me.id, state.me);
      state.presence.set(state.me.id, 'online');
      await this.loadLists();
    } catch (err) {
      if (err.status === 401) return this.signedOut();
      this.status.textContent = err.message;
    }
    this.gateway.start();
    this.open(location.pathname);
  }

  destroy() {
    this.gateway?.stop();
    this.chat?.destroy();
    this.members?.destroy();
    for (const u of this.unsubs) u();
    store.reset();
  }

  async loadLists() {
    const [mine, dmList] = await Promise.all([
      C.mine().catch(() => ({ communities: [] })),
      D.list().catch(() => ({ channels: [] })),
    ]);
    state.communities.clear();
    for (const c of mine.communities) state.communities.set(c.id, c);
    state.dms.clear();
    for (const dm of dmList.channels || []) state.dms.set(dm.id, dm);
    this.renderRail();
    this.renderSidebar();
  }

  /** One request per community at a time (a cold start opens the page twice at once). */
  loadChannels(communityId) {
    const loads = (this.channelLoads ||= new Map());
    if (!loads.has(communityId)) {
      loads.set(communityId, C.channels(communityId).then((list) => {
        store.setChannels(communityId, list.channels);
        return list.channels;
      }).finally(() => loads.delete(communityId)));
    }
    return loads.get(communityId);
  }

  onReady(ready) {
    this.readies = (this.readies || 0) + 1; // a chat view loading its first page looks (chat_history.js)
    // READY carries what plugins add (communities, channels, unread state); absorb what we know.
    if (Array.isArray(ready.communities)) {
      for (const c of ready.communities) state.communities.set(c.id, { ...state.communities.get(c.id), ...c });
    }
    if (Array.isArray(ready.read_states)) {
      for (const r of ready.read_states) {
        if ((r.unread || r.mentions) && r.channel_id !== state.current.channelId) state.unread.set(r.channel_id, { unread: r.unread, mentions: r.mentions });
      }
    }
    if (Array.isArray(ready.presences)) {
      for (const p of ready.presences) state.presence.set(p.user_id, p.status);
    }
    if (Array.isArray(ready.dm_channels)) for (const dm of ready.dm_channels) state.dms.set(dm.id, dm);
    this.renderRail();
    this.renderSidebar();
    // A fresh session (first connect, or after INVALID_SESSION): whatever happened while we were
    // away was not replayed, so fetch it over HTTP.
    this.chat?.catchUp();
    this.members?.refresh();
    store.emit('ready', ready);
    if (Array.isArray(ready.channels) && Array.isArray(ready.communities)) {
      // Every community's visible channels, as the HTTP list would give them.
      const byCommunity = new Map(ready.communities.map((c) => [c.id, []]));
      for (const ch of ready.channels) byCommunity.get(ch.community_id)?.push(ch);
      for (const [id, list] of byCommunity) state.channels.set(id, list);
      store.emit('channels', state.current.communityId);
    } else if (state.current.communityId) {
      this.loadChannels(state.current.communityId).catch(() => {});
    }
  }

  joinedCommunity(community) {
    state.communities.set(community.id, community);
    store.emit('communities');
    // Tells the gateway to share our presence with the new community's members too.
    this.gateway?.send('PRESENCE_UPDATE', { status: 'online' });
  }

  onResumed() {
    this.chat?.flushOutbox();
  }

  showConnection(s) {
    state.connection = s;
    this.el.dataset.connection = s;
    const text = s === 'waiting' ? 'Connection lost. Reconnecting…' : s === 'connecting' && this.wasReady ? 'Reconnecting…' : '';
    if (s === 'ready') {
      if (this.wasReady && this.status.textContent) announce('Reconnected.');
      this.wasReady = true;
    }
    this.status.textContent = text;
    this.status.hidden = !text;
    if (s === 'ready') this.chat?.flushOutbox();
  }

  // -- routing inside the app ----------------------------------------------------------------------

  async open(path) {
    const parts = path.split('/').filter(Boolean);
    this.closeDrawers();
    if (openTop(this, parts)) return;
    if (parts[0] === 'settings') {
      if (!state.me) return; // opened before the account loaded: start() opens this path again then
      history.replaceState({}, '', '/channels/@me');
      await this.open('/channels/@me');
      openSettings(this);
      return;
    }
    if (parts[0] === 'invite' && parts[1]) {
      this.showInvite(decodeURIComponent(parts[1]));
      return;
    }
    if (parts[0] !== 'channels' || !parts[1]) {
      this.navigate('/channels/@me', { replace: true });
      return;
    }
    if (parts[1] === '@me') {
      state.current = { communityId: null, channelId: parts[2] || null };
      this.renderRail();
      this.renderSidebar();
      this.setMembers(null);
      if (parts[2]) this.showChannel(parts[2], { dm: true });
      else this.showHome();
      return;
    }
    const communityId = parts[1];
    if (!state.communities.has(communityId)) {
      try {
        state.communities.set(communityId, await C.get(communityId));
      } catch (err) {
        this.showProblem(err.message);
        return;
      }
    }
    const changedCommunity = state.current.communityId !== communityId;
    state.current = { communityId, channelId: parts[2] || null };
    this.renderRail();
    let channels = state.channels.get(communityId);
    if (!channels || changedCommunity) {
      try {
        channels = await this.loadChannels(communityId);
      } catch (err) {
        this.showProblem(err.message);
        return;
      }
    }
    if (!parts[2]) {
      const first = channels.find((c) => c.kind === 'text' || c.kind === 'announcement');
      if (first) this.navigate(`/channels/${communityId}/${first.id}`, { replace: true });
      else {
        this.renderSidebar();
        this.showProblem('This community has no text channels yet.');
      }
      return;
    }
    this.renderSidebar();
    if (changedCommunity || !this.members) this.setMembers(communityId);
    this.showChannel(parts[2], { dm: false });
  }

  setMembers(communityId) {
    this.members?.destroy();
    this.members = null;
    this.el.classList.toggle('no-members', !communityId);
    this.memberPane.hidden = !communityId;
    if (!communityId) {
      replace(this.memberPane);
      return;
    }
    this.members = new MemberList(this, communityId);
    replace(this.memberPane, this.members.el);
  }

  showChannel(channelId, { dm }) {
    if (openChannelExtra(this, channelId)) return;
    if (openVoiceChannel(this, channelId)) return;
    if (this.chat && this.chat.channelId === channelId) {
      this.chat.focusComposer();
      return;
    }
    this.chat?.destroy();
    this.chat = new ChatView(this, channelId, { dm });
    replace(this.mainPane, this.chat.el);
    this.chat.load();
    store.clearUnread(channelId);
  }

  showHome() {
    this.chat?.destroy();
    this.chat = null;
    const list = [...state.dms.values()];
    replace(this.mainPane,
      this.header(h('h2', { class: 'channel-title' }, 'Direct messages')),
      h('section', { class: 'home', 'aria-label': 'Home' },
        h('h3', null, `Welcome, ${state.me ? state.me.display_name || state.me.username : ''}!`),
        list.length
          ? h('p', { class: 'muted' }, 'Pick a conversation on the left, or start one from a member list.')
          : h('p', { class: 'muted' }, 'No direct messages yet. Open a member’s profile in a community and choose “Message”.'),
        state.communities.size === 0
          ? h('div', { class: 'empty-actions' },
            h('button', { class: 'btn primary', onclick: () => createCommunityDialog(this) }, 'Create a community'),
            h('button', { class: 'btn', onclick: () => joinDialog(this) }, 'Join a community'))
          : null));
  }

  async showInvite(code) {
    this.chat?.destroy();
    this.chat = null;
    const box = h('section', { class: 'home invite-accept', 'aria-label': 'Invite' }, h('p', { role: 'status' }, 'Loading invite…'));
    replace(this.mainPane, this.header(h('h2', { class: 'channel-title' }, 'Invite')), box);
    try {
      const [inv, { inviteDeadReason }] = await Promise.all([C.invite(code), import('./invite_state.js')]);
      const dead = inviteDeadReason(inv);
      if (dead) {
        replace(box, h('h3', null, inv.community_name), h('p', { role: 'alert' }, dead, ' Ask a member for a new invite link.'));
        return;
      }
      const accept = h('button', {
        class: 'btn primary',
        onclick: async () => {
          try {
            const community = await C.acceptInvite(code);
            this.joinedCommunity(community);
            await (await import('./onboarding.js')).afterJoin(this, community);
          } catch (err) {
            replace(box, h('p', { role: 'alert' }, err.message));
          }
        },
      }, 'Accept invite');
      replace(box, h('p', null, 'You have been invited to join'), h('h3', null, inv.community_name), accept);
      accept.focus();
    } catch (err) {
      replace(box, h('p', { role: 'alert' }, err.message));
    }
  }

  showProblem(message) {
    this.chat?.destroy();
    this.chat = null;
    replace(this.mainPane, this.header(h('h2', { class: 'channel-title' }, '')), h('section', { class: 'home' }, h('p', { role: 'alert' }, message)));
  }

  /** The bar on top of the main pane; on phones it carries the buttons that open the drawers. */
  header(...content) {
    return h('header', { class: 'chat-header' },
      h('button', { class: 'icon-btn drawer-btn', 'aria-label': 'Open channels and communities', onclick: () => this.openDrawer() }, icon('menu')),
      ...content);
  }

  openDrawer() {
    this.el.classList.add('drawer-open');
    const target = this.sidebar.querySelector('[aria-current="page"]') || this.sidebar.querySelector('a, button');
    target?.focus();
  }

  /** Desktop: members show unless hidden; narrow screens: they open over the chat. */
  membersOpen() {
    return this.narrow() ? this.el.classList.contains('members-open') : !this.el.classList.contains('members-hidden');
  }

  narrow() {
    return window.matchMedia('(max-width: 1000px)').matches;
  }

  toggleMembers() {
    this.el.classList.toggle(this.narrow() ? 'members-open' : 'members-hidden');
    const open = this.membersOpen();
    if (open && this.narrow()) this.memberPane.querySelector('button')?.focus();
    return open;
  }

  closeDrawers() {
    const was = this.el.classList.contains('drawer-open');
    this.el.classList.remove('drawer-open');
    const members = this.el.classList.contains('members-open');
    this.el.classList.remove('members-open');
    if (was || members) this.chat?.focusComposer();
  }

  // -- rail ---------------------------------------------------------------------------------------

  renderRail() {
    const current = state.current.communityId;
    const dmUnread = [...state.dms.keys()].reduce((n, id) => n + (state.unread.get(id)?.unread || 0), 0);
    const item = (label, active, content, href, badge, pip) => h('li', { class: `rail-item${active ? ' active' : ''}` },
      pip ? h('span', { class: 'pip', 'aria-hidden': 'true' }) : null,
      h('a', {
        href,
        class: 'rail-btn',
        'aria-label': label + (badge ? `, ${badge} mentions` : pip ? ', unread messages' : ''),
        'aria-current': active ? 'page' : undefined,
        title: label,
        onclick: (e) => { e.preventDefault(); this.navigate(href); },
      }, content),
      badge ? h('span', { class: 'badge', 'aria-hidden': 'true' }, badge > 99 ? '99+' : String(badge)) : null);
    const list = h('ul', { class: 'rail-list' },
      item('Direct messages', current === null, h('span', { class: 'home-logo', 'aria-hidden': 'true' }, 'C'), '/channels/@me', dmUnread, false),
      h('li', { class: 'rail-sep', 'aria-hidden': 'true' }),
      [...state.communities.values()].map((c) => {
        const u = store.communityUnread(c.id);
        return item(c.name, c.id === current, communityBadge(c), `/channels/${c.id}`, u.mentions, u.unread > 0);
      }),
      h('li', { class: 'rail-item' },
        h('button', { class: 'rail-btn add', 'aria-label': 'Create a community', title: 'Create a community', onclick: () => createCommunityDialog(this) }, icon('plus', 24))),
      h('li', { class: 'rail-item' },
        h('button', { class: 'rail-btn add', 'aria-label': 'Join a community', title: 'Join a community', onclick: () => joinDialog(this) }, icon('compass', 24))),
      h('li', { class: 'rail-sep', 'aria-hidden': 'true' }),
      railItems(this));
    morph(this.rail, [list]); // keyed.js: a click spanning a live redraw still lands
  }

  // -- sidebar ------------------------------------------------------------------------------------

  renderSidebar() {
    const focusedId = this.sidebar.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    const communityId = state.current.communityId;
    const body = communityId ? this.communitySidebar(communityId) : this.dmSidebar();
    // Another community (or the DMs): handlers differ, start afresh; else keep what did not change.
    if (this.sidebarFor === (communityId || '@me')) morph(this.sidebar, [...body, this.userPanel()]);
    else replace(this.sidebar, ...body, this.userPanel());
    this.sidebarFor = communityId || '@me';
    if (focusedId) this.sidebar.querySelector(`[data-focus-key="${CSS.escape(focusedId)}"]`)?.focus();
  }

  channelLink(channel, href, label, { icon = '#', dm = false } = {}) {
    const active = state.current.channelId === channel.id;
    const u = state.unread.get(channel.id);
    return h('li', { class: `channel${active ? ' active' : ''}${u && u.unread ? ' unread' : ''}` },
      h('a', {
        href,
        'data-focus-key': channel.id,
        'aria-current': active ? 'page' : undefined,
        'aria-label': `${label}${u && u.mentions ? `, ${u.mentions} mentions` : u && u.unread ? ', unread' : ''}`,
        onclick: (e) => { e.preventDefault(); this.navigate(href); },
      },
      dm ? avatar(icon, 'sm') : h('span', { class: 'channel-icon', 'aria-hidden': 'true' }, svgIcon(icon, 18)),
      h('span', { class: 'channel-name' }, dm ? label : channel.name),
      u && u.mentions ? h('span', { class: 'badge', 'aria-hidden': 'true' }, String(u.mentions)) : null));
  }

  communitySidebar(communityId) {
    const community = state.communities.get(communityId);
    const channels = (state.channels.get(communityId) || []).slice().sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : 1));
    const perms = community?.perms || 0;
    const categories = channels.filter((c) => c.kind === 'category');
    const loose = channels.filter((c) => c.kind !== 'category' && !categories.some((k) => k.id === c.parent_id));
    const kindIcon = (c) => (c.kind === 'announcement' ? 'megaphone' : c.kind === 'forum' ? 'forum' : 'hash');
    const link = (c) => c.kind === 'voice' ? voiceChannelItem(this, c, communityId) : this.channelLink(c, `/channels/${communityId}/${c.id}`, `${c.name} (${c.kind === 'text' ? 'text channel' : c.kind})`, { icon: kindIcon(c) });
    const groups = categories.map((cat) => h('li', { class: 'category' },
      h('h3', { class: 'category-name', id: `cat-${cat.id}` }, cat.name),
      h('ul', { 'aria-labelledby': `cat-${cat.id}` }, channels.filter((c) => c.parent_id === cat.id && c.kind !== 'category').map(link))));
    const actions = [];
    if (store.can(perms, store.PERM.CREATE_INVITES)) {
      actions.push(h('button', { class: 'icon-btn', 'aria-label': 'Invite people', title: 'Invite people', 'data-focus-key': 'invite', onclick: () => inviteDialog(this, communityId) }, icon('invite', 18)));
    }
    if (store.can(perms, store.PERM.MANAGE_CHANNELS)) {
      actions.push(h('button', { class: 'icon-btn', 'aria-label': 'Create channel', title: 'Create channel', 'data-focus-key': 'create-channel', onclick: () => createChannelDialog(this, communityId) }, icon('plus', 18)));
    }
    actions.push(...communityTools(this, communityId, perms));
    return [
      h('header', { class: 'sidebar-header' }, h('h2', { class: 'community-name' }, community ? community.name : ''), h('div', { class: 'header-actions' }, actions)),
      h('ul', { class: 'channel-list' }, eventsLink(this, communityId), loose.map(link), groups),
    ];
  }

  dmSidebar() {
    const dmsList = [...state.dms.values()];
    return [
      h('header', { class: 'sidebar-header' }, h('h2', { class: 'community-name' }, 'Direct messages')),
      h('ul', { class: 'channel-list' },
        friendsLink(this),
        dmsList.length === 0 ? h('li', { class: 'muted empty' }, 'No conversations yet.') : null,
        dmsList.map((dm) => {
          const other = dm.participants.find((p) => p !== state.me?.id) || state.me?.id;
          return this.channelLink(dm, `/channels/@me/${dm.id}`, store.dmName(dm), { icon: other, dm: true });
        })),
    ];
  }

  userPanel() {
    const me = state.me;
    if (!me) return h('div', { class: 'user-panel' });
    const theme = effectiveTheme();
    return h('div', { class: 'user-panel' },
      avatar(me.id, 'sm'),
      panelNames(this, me),
      h('button', {
        class: 'icon-btn',
        'data-focus-key': 'theme',
        'aria-label': theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme',
        title: 'Toggle theme',
        onclick: () => { toggleTheme(); this.renderSidebar(); },
      }, icon(theme === 'dark' ? 'sun' : 'moon', 18)),
      h('button', { class: 'icon-btn', 'data-focus-key': 'settings', 'aria-label': 'User settings', title: 'User settings', onclick: () => openSettings(this) }, icon('gear', 18)));
  }
}
