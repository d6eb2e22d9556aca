// User profile cards: a click on a person's name or avatar (chat, member list, forum) opens a card
// with their avatar, names, bio, when they joined this community and their roles here, and buttons
// to message them, befriend them and block them. /u/<username> opens the same card by link.
// Elements opt in with data-profile="<user id>"; one listener on the document opens the card.

import { communities as C, dms as D, users as U } from '../content.js';
import { announce, h, replace } from '../dom.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';
import * as rel from './relations.js';
import { avatar } from './shell.js';
import { statusOf } from './custom_status.js';

const { state } = store;
let installedFor = null;

function color(role) {
  return role && role.color ? `#${role.color.toString(16).padStart(6, '0')}` : null;
}

/** Marks an element (a name, an avatar) as opening userId's card when clicked or pressed. */
export function profileTrigger(el, userId) {
  if (!userId) return el;
  el.dataset.profile = userId;
  el.classList.add('profile-trigger');
  return el;
}

/** One document listener for every [data-profile] element (the shell calls this once). */
export function installProfileCards(shell) {
  if (installedFor === shell) return;
  installedFor = shell;
  const open = (e) => {
    const el = e.target.closest?.('[data-profile]');
    if (!el || !shell.el.isConnected || el.closest('dialog')) return;
    if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    e.stopPropagation();
    openProfileCard(shell, el.dataset.profile, state.current.communityId || null);
  };
  document.addEventListener('click', open, true);
  document.addEventListener('keydown', open, true);
  shell.unsubs?.push(() => {
    document.removeEventListener('click', open, true);
    document.removeEventListener('keydown', open, true);
    installedFor = null;
  });
  rel.load().catch(() => {});
}

async function memberOf(communityId, userId) {
  if (!communityId) return null;
  try {
    const [member, roles] = await Promise.all([
      C.member(communityId, userId),
      state.roles.get(communityId) ? { roles: state.roles.get(communityId) } : C.roles(communityId),
    ]);
    state.roles.set(communityId, roles.roles);
    const mine = roles.roles.filter((r) => member.roles.includes(r.id)).sort((a, b) => b.position - a.position);
    return { member, roles: mine };
  } catch {
    return null; // not a member here (a DM, a forum reader from elsewhere): no roles to show
  }
}

/** The friend button for the pair's state, and what it does. */
function friendButton(userId, name, redraw, say) {
  const type = rel.typeOf(userId);
  const act = (fn, done) => async () => {
    try {
      await fn(userId);
      say(done);
      redraw();
    } catch (err) {
      say(err.message);
    }
  };
  if (type === 'blocked') return null;
  if (type === 'friend') return h('button', { type: 'button', class: 'btn friend-btn', onclick: act(rel.unfriend, `${name} is no longer your friend.`) }, 'Remove friend');
  if (type === 'outgoing') return h('button', { type: 'button', class: 'btn friend-btn', onclick: act(rel.unfriend, 'Friend request cancelled.') }, 'Cancel request');
  if (type === 'incoming') return h('button', { type: 'button', class: 'btn primary friend-btn', onclick: act(rel.befriend, `You and ${name} are now friends.`) }, 'Accept friend request');
  return h('button', { type: 'button', class: 'btn friend-btn', onclick: act(rel.befriend, `Friend request sent to ${name}.`) }, 'Add friend');
}

/** Opens userId's card; communityId (or null) says whose roles and join date to show. */
export async function openProfileCard(shell, userId, communityId) {
  let profile;
  try {
    [profile] = await Promise.all([U.get(userId), rel.ready().catch(() => null)]);
  } catch (err) {
    announce(err.message);
    return;
  }
  state.users.set(userId, { ...(state.users.get(userId) || {}), ...profile });
  const here = await memberOf(communityId, userId);
  const name = profile.display_name || profile.username;
  const handle = profile.home ? `@${profile.username}@${profile.home}` : `@${profile.username}`;
  const me = userId === state.me?.id;
  modal(name, (close) => {
    const status = h('p', { class: 'card-status', role: 'status' });
    const actions = h('div', { class: 'modal-actions profile-actions' });
    const say = (text) => { status.textContent = text; announce(text); };
    const redraw = () => {
      const blocked = rel.isBlocked(userId);
      replace(actions, me ? null : [
        blocked ? null : h('button', {
          type: 'button', class: 'btn primary',
          onclick: async () => {
            try {
              const dm = await D.open([userId]);
              state.dms.set(dm.id, dm);
              close();
              shell.navigate(`/channels/@me/${dm.id}`);
            } catch (err) {
              say(err.message);
            }
          },
        }, `Message ${name}`),
        friendButton(userId, name, redraw, say),
        h('button', {
          type: 'button', class: `btn ${blocked ? '' : 'danger'} block-btn`,
          onclick: async () => {
            try {
              await (blocked ? rel.unblock(userId) : rel.block(userId));
              say(blocked ? `${name} is unblocked.` : `${name} is blocked. Their messages are hidden.`);
              redraw();
            } catch (err) {
              say(err.message);
            }
          },
        }, blocked ? 'Unblock' : 'Block'),
        h('button', { type: 'button', class: 'btn', onclick: () => import('./report.js').then((r) => r.reportDialog({ type: 'user', id: userId, name })) }, 'Report'),
      ]);
    };
    redraw();
    const joined = here ? new Date(here.member.joined_at).toLocaleDateString([], { year: 'numeric', month: 'long', day: 'numeric' }) : null;
    return h('div', { class: 'modal-body profile-card', dataset: { userId } },
      h('div', { class: 'profile-top' }, avatar(userId, 'lg'),
        h('div', null,
          h('p', { class: 'profile-name' }, name),
          h('p', { class: 'muted profile-handle' }, handle),
          profile.pronouns ? h('p', { class: 'muted' }, profile.pronouns) : null,
          statusOf(profile) ? h('p', { class: 'profile-status' }, statusOf(profile)) : null)),
      profile.bio ? h('p', { class: 'bio' }, profile.bio) : null,
      joined ? h('p', { class: 'muted profile-joined' }, `Joined this community ${joined}`) : null,
      here ? [
        h('h3', { class: 'section-title' }, here.roles.length ? 'Roles' : 'No roles'),
        h('ul', { class: 'role-chips' }, here.roles.map((r) => h('li', { class: 'role-chip' },
          h('span', { class: 'role-dot', style: `background:${color(r) || 'var(--muted)'}`, 'aria-hidden': 'true' }), r.name))),
      ] : null,
      actions, status);
  }, { className: 'profile-modal' });
}

/** /u/<username>: the card of whoever holds that name, over the direct-messages home. */
export async function openProfileByName(shell, username) {
  try {
    const profile = await U.byName(username);
    openProfileCard(shell, profile.id, null);
  } catch (err) {
    announce(err.message);
  }
}
