// Onboarding hooks (issue 26): where a new member lands after joining (the welcome screen, when the
// community screens members), the composer's notice while the screening holds them back, and the
// /@welcome route, whose view and the settings tab (onboarding_view.js) load when first opened.
// The rules live in plugins/communities/onboarding.py: the node refuses an early post regardless.

import * as R from '../content.js';
import { h, replace } from '../dom.js';
import * as store from '../store.js';

const { state } = store;
const cache = new Map(); // community id -> its onboarding as last fetched

/** The community's onboarding and the caller's standing; a held-back member's is asked again
 * (an account or membership age passes with time). */
export async function onboarding(cid, { fresh = false } = {}) {
  const have = cache.get(cid);
  if (have && !fresh && (have.me.can_post || !have.me.member)) return have;
  const got = await R.communities.onboarding(cid);
  cache.set(cid, got);
  return got;
}

export function remember(ob) {
  cache.set(ob.community_id, ob);
  return ob;
}

/** Where a new member goes after joining: the welcome screen when the community has one. */
export async function afterJoin(shell, community) {
  let ob = null;
  try { ob = await onboarding(community.id, { fresh: true }); } catch { /* the community page says why */ }
  const welcome = ob && ob.configured && (!ob.me.can_post || ob.welcome || ob.self_roles.length || ob.rules);
  shell.navigate(`/channels/${community.id}${welcome ? '/@welcome' : ''}`);
}

export function blockedText(me) {
  if (me.blocked_code === 'rules_not_accepted') return 'Accept the community’s rules before posting.';
  const d = me.blocked_detail || 'You cannot post here yet.';
  return `${d[0].toUpperCase()}${d.slice(1)}.`;
}

/** The composer's notice while the screening holds this member back (ChatView calls this once). */
export function screenComposer(chat) {
  const cid = chat.channel?.community_id;
  // Only communities that screen members are asked (CommunityOut.screening): no request otherwise.
  if (chat.dm || !cid || !state.communities.get(cid)?.screening) return;
  const composer = chat.composer;
  const base = composer.updatePermissions.bind(composer);
  let held = null;
  composer.updatePermissions = () => {
    base();
    if (!held || composer.input.disabled) return;
    composer.input.disabled = true;
    composer.readOnly.hidden = false;
    replace(composer.readOnly, blockedText(held.me), ' ', h('a', {
      href: `/channels/${cid}/@welcome`, 'data-testid': 'screening-link',
      onclick: (e) => { e.preventDefault(); chat.shell.navigate(`/channels/${cid}/@welcome`); },
    }, held.me.blocked_code === 'rules_not_accepted' ? 'Read the rules' : 'Why?'));
  };
  onboarding(cid).then((ob) => {
    held = ob.me.member && !ob.me.can_post ? ob : null;
    if (held) composer.updatePermissions();
  }).catch(() => {});
}

/** /channels/<community>/@welcome; true when handled (extra.js asks). */
export function openWelcome(shell, channelId) {
  const cid = state.current.communityId;
  if (!cid || channelId !== '@welcome') return false;
  const here = location.pathname;
  import('./onboarding_view.js').then(({ WelcomeView }) => {
    if (location.pathname !== here) return; // gone elsewhere meanwhile
    const view = new WelcomeView(shell, cid);
    shell.chat?.destroy();
    shell.chat = view;
    replace(shell.mainPane, view.el);
    view.load();
  }).catch((err) => replace(shell.mainPane, h('p', { role: 'alert', class: 'muted' }, `This page could not load (${err.message}).`)));
  return true;
}
