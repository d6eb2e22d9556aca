// A community's header buttons (settings gear, leave door), leaving it, the rail icon, and the
// /@settings route, whose view (community_settings.js) loads when first opened.

import * as R from '../content.js';
import { announce, h, initials, replace } from '../dom.js';
import { icon } from '../icons.js';
import { holds } from '../perms.js';
import * as store from '../store.js';
import { confirmDialog, modal } from './dialogs.js';

const { state } = store;

/** The community's picture for the rail: its icon, else its initials. */
export function communityBadge(c) {
  return c.icon
    ? h('img', { class: 'community-icon', src: R.media.fileUrl(c.icon), alt: '', 'aria-hidden': 'true' })
    : h('span', { 'aria-hidden': 'true' }, initials(c.name));
}

/** Whether a member may open the settings at all. */
export function canOpenSettings(perms) {
  return holds(perms, 'MANAGE_COMMUNITY') || holds(perms, 'MANAGE_ROLES') || holds(perms, 'MANAGE_WEBHOOKS');
}

/** The community header's settings gear (managers) and leave door (everyone). */
export function settingsButtons(shell, communityId, perms) {
  const out = [];
  if (canOpenSettings(perms)) {
    out.push(h('button', {
      class: 'icon-btn', 'aria-label': 'Community settings', title: 'Community settings', 'data-focus-key': 'community-settings',
      onclick: () => shell.navigate(`/channels/${communityId}/@settings`),
    }, icon('gear', 18)));
  }
  out.push(h('button', {
    class: 'icon-btn', 'aria-label': 'Leave community', title: 'Leave community', 'data-focus-key': 'leave-community',
    onclick: () => leaveCommunity(shell, communityId),
  }, icon('signout', 18)));
  return out;
}

export async function leaveCommunity(shell, communityId) {
  const c = state.communities.get(communityId);
  if (!c) return;
  if (c.owner_id === state.me?.id) {
    modal(`You own ${c.name}`, (close) => h('div', { class: 'modal-body' },
      h('p', null, 'An owner cannot leave. Give the community to another member first (transfer ownership), or delete it.'),
      h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn primary', onclick: () => close() }, 'OK'))));
    return;
  }
  const text = c.public ? 'You can join again from the public list.' : 'It is private: you will need a new invite to come back.';
  if (!await confirmDialog(`Leave ${c.name}?`, text, 'Leave community')) return;
  try {
    await R.communities.leave(communityId);
    state.communities.delete(communityId);
    state.channels.delete(communityId);
    store.emit('communities');
    announce(`You left ${c.name}.`);
    shell.navigate('/channels/@me');
  } catch (err) {
    announce(err.message);
  }
}

/** Open the settings view for /channels/<id>/@settings (loaded on first use); true when handled. */
export function openCommunitySettings(shell, channelId) {
  const communityId = state.current.communityId;
  if (!communityId || channelId !== '@settings') return false;
  const here = location.pathname;
  import('./community_settings.js').then(({ CommunitySettingsView }) => {
    if (location.pathname !== here) return; // gone elsewhere meanwhile
    const view = new CommunitySettingsView(shell, communityId);
    shell.chat?.destroy();
    shell.chat = view;
    replace(shell.mainPane, view.el);
    view.show(new URLSearchParams(location.search).get('tab'));
  }).catch((err) => replace(shell.mainPane, h('p', { role: 'alert', class: 'muted' }, `Settings could not load (${err.message}).`)));
  return true;
}
