// The screens beside chat wired into the shell: top-level pages (/search, /notifications, /admin),
// community pages (/channels/<community>/@mod, /@insights), forum channels, the rail buttons and
// the quick switcher key. The shell calls these hooks; each returns true when it took the route.
// The views behind them (admin, moderation, search, forum) are loaded when first opened, so the
// chat page's first load carries none of them.

import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { canInsights, isModerator } from '../perms.js';
import { openSocial } from './friends.js';
import { inbox, InboxView, refreshUnread } from './inbox.js';
import { openCommunitySettings, settingsButtons } from './community_menu.js';

const admin = () => import('./admin.js');
const moderation = () => import('./moderation.js');
const search = () => import('./search.js');
const forum = () => import('./forum.js');
const saved = () => import('./saved.js');
const mentions = () => import('./mentions_inbox.js');
const events = () => import('./events.js');

const { state } = store;
const wired = new WeakSet();
const NS = 'http://www.w3.org/2000/svg';
const PATHS = {
  search: ['M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14z', 'M21 21l-5-5'],
  bell: ['M6 16V11a6 6 0 0 1 12 0v5l2 2H4z', 'M10 20a2 2 0 0 0 4 0'],
  shield: ['M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z'],
  chart: ['M4 20V4', 'M4 20h16', 'M8 16l4-5 3 3 5-7'],
  server: ['M4 4h16v6H4z', 'M4 14h16v6H4z', 'M8 7h.01', 'M8 17h.01'],
  bookmark: ['M6 3h12v18l-6-4-6 4z'],
};

/** The same line icons as icons.js, for the part-2 buttons. */
function glyph(name, size = 20) {
  const svg = icon('plus', size);
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  for (const d of PATHS[name]) {
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', d);
    svg.appendChild(path);
  }
  return svg;
}

function mount(shell, view) {
  shell.chat?.destroy();
  shell.chat = view;
  replace(shell.mainPane, view.el);
}

/** Show a view from a module loaded on demand, unless the person has gone elsewhere meanwhile. */
function later(shell, load, show) {
  const here = location.pathname;
  load().then((mod) => { if (location.pathname === here) show(mod); }).catch((err) => {
    if (location.pathname === here) replace(shell.mainPane, h('p', { role: 'alert', class: 'muted' }, `This page could not load (${err.message}). Reload to try again.`));
  });
}

function wire(shell) {
  if (wired.has(shell)) return;
  wired.add(shell);
  const keys = (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
      e.preventDefault();
      search().then((mod) => mod.quickSwitcher(shell));
    }
  };
  document.addEventListener('keydown', keys);
  // The unread badge: counted on each (re)connect, then kept by NOTIFICATION_CREATE/READ pushes.
  const stops = [
    store.on('notifications', () => shell.renderRail()),
    store.on('ready', refreshUnread),
    // Counted again rather than incremented: a count fetched just before the push may include it.
    store.on('notification-created', () => {
      if (shell.chat instanceof InboxView) shell.chat.load(); else refreshUnread();
    }),
    store.on('notification-read', () => refreshUnread()),
  ];
  shell.unsubs.push(() => { document.removeEventListener('keydown', keys); stops.forEach((stop) => stop()); });
  // Counted now only if the socket is up already; otherwise its READY (above) counts it, once.
  if (shell.gateway?.state === 'ready') refreshUnread();
}

/** Top-level pages; true when handled. */
export function openTop(shell, parts) {
  wire(shell);
  if (openSocial(shell, parts)) return true;
  if (parts[0] === 'saved') return later(shell, saved, ({ openSaved }) => openSaved(shell)) || true;
  if (parts[0] === 'mentions') return later(shell, mentions, ({ openMentions }) => openMentions(shell)) || true;
  const page = parts[0];
  if (page !== 'search' && page !== 'notifications' && page !== 'admin') return false;
  // undefined, not null: null marks the direct-messages home as the open place in the rail.
  state.current = { communityId: undefined, channelId: null };
  shell.renderRail();
  shell.renderSidebar();
  shell.setMembers(null);
  if (page === 'search') {
    later(shell, search, ({ SearchView }) => {
      const view = shell.chat instanceof SearchView ? shell.chat : new SearchView(shell);
      if (shell.chat !== view) mount(shell, view);
      view.run();
    });
  } else if (page === 'notifications') {
    const view = new InboxView(shell);
    mount(shell, view);
    view.load();
  } else {
    later(shell, admin, ({ AdminView }) => {
      const view = new AdminView(shell);
      mount(shell, view);
      view.load();
    });
  }
  return true;
}

/** A channel slot that is not a chat: forum channels and the community's tool pages. */
export function openChannelExtra(shell, channelId) {
  wire(shell);
  const communityId = state.current.communityId;
  if (communityId && channelId === '@mod') {
    later(shell, moderation, ({ ModerationView }) => {
      const view = new ModerationView(shell, communityId);
      mount(shell, view);
      view.show(new URLSearchParams(location.search).get('tab'));
    });
    return true;
  }
  if (openCommunitySettings(shell, channelId)) return true;
  if (communityId && channelId === '@welcome') { // the welcome screen (onboarding.js, loaded now)
    import('./onboarding.js').then((m) => m.openWelcome(shell, channelId));
    return true;
  }
  if (communityId && channelId === '@events') {
    later(shell, events, ({ EventsView }) => {
      const view = new EventsView(shell, communityId);
      mount(shell, view);
      view.load();
    });
    return true;
  }
  if (communityId && channelId === '@insights') {
    later(shell, admin, ({ InsightsView }) => {
      const view = new InsightsView(shell, communityId);
      mount(shell, view);
      view.load();
    });
    return true;
  }
  const channel = store.channelById(channelId);
  if (channel && channel.kind === 'forum') {
    later(shell, forum, ({ showForum }) => showForum(shell, channel));
    store.clearUnread(channelId);
    return true;
  }
  // A jump to a message (#m-ID): a chat view already open on the channel goes there itself; a new
  // one does as it loads (ChatView.load), fetching the message's context if it is far back.
  const target = /^#m-(.+)$/.exec(location.hash);
  if (target && shell.chat?.channelId === channelId) shell.chat.jumpTo(decodeURIComponent(target[1]));
  else if (location.hash && !target) search().then(({ jumpToHash }) => jumpToHash(shell.mainPane));
  return false;
}

/** The "Events" entry at the top of a community's channel list (the page loads when opened). */
export function eventsLink(shell, communityId) {
  return shell.channelLink({ id: '@events', name: 'Events' }, `/channels/${communityId}/@events`, 'Events', { icon: 'calendar' });
}

function railLink(shell, label, href, glyph, badge) {
  const active = location.pathname === href;
  return h('li', { class: `rail-item${active ? ' active' : ''}` },
    h('a', {
      href,
      class: 'rail-btn',
      'aria-label': label + (badge ? `, ${badge} unread` : ''),
      'aria-current': active ? 'page' : undefined,
      title: label,
      onclick: (e) => { e.preventDefault(); shell.navigate(href); },
    }, glyph),
    badge ? h('span', { class: 'badge', 'aria-hidden': 'true', 'data-testid': 'notif-badge' }, badge > 99 ? '99+' : String(badge)) : null);
}

/** Rail entries after the communities: search, notifications (with the unread badge), admin. */
export function railItems(shell) {
  return [
    railLink(shell, 'Search', '/search', glyph('search', 24)),
    railLink(shell, 'Notifications', '/notifications', glyph('bell', 24), inbox.unread),
    railLink(shell, 'Saved', '/saved', glyph('bookmark', 24)),
    state.me?.admin ? railLink(shell, 'Node admin', '/admin', glyph('server', 24)) : null,
  ];
}

/** Buttons in the community header for the tools this member may use (none for plain members). */
export function communityTools(shell, communityId, perms) {
  const out = [];
  if (isModerator(perms)) {
    out.push(h('button', { class: 'icon-btn', 'aria-label': 'Moderation', title: 'Moderation', 'data-focus-key': 'mod', onclick: () => shell.navigate(`/channels/${communityId}/@mod`) }, glyph('shield', 18)));
  }
  if (canInsights(perms)) {
    out.push(h('button', { class: 'icon-btn', 'aria-label': 'Insights', title: 'Insights', 'data-focus-key': 'insights', onclick: () => shell.navigate(`/channels/${communityId}/@insights`) }, glyph('chart', 18)));
  }
  out.push(...settingsButtons(shell, communityId, perms));
  const community = state.communities.get(communityId);
  if (community && community.owner_id !== state.me?.id) {
    out.push(h('button', {
      class: 'icon-btn', 'aria-label': 'Report community', title: 'Report community to the node admins', 'data-focus-key': 'report-community',
      'data-name': community.name, // a rename redraws the button (keyed.js keeps identical markup)
      onclick: () => import('./report.js').then((r) => r.reportDialog({ type: 'community', id: communityId, name: community.name })),
    }, icon('flag', 18)));
  }
  return out;
}
