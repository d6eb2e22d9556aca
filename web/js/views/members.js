// The member list: grouped by hoisted role, then online and offline, with presence dots; a member's
// card (profile_card.js) shows their roles, starts a DM, befriends or blocks.

import { communities as C } from '../content.js';
import { h, replace } from '../dom.js';
import * as store from '../store.js';
import { openProfileCard } from './profile_card.js';
import { avatar } from './shell.js';
import { statusOf } from './custom_status.js';

const { state } = store;

function color(role) {
  return role && role.color ? `#${role.color.toString(16).padStart(6, '0')}` : null;
}

// user@node for members of other nodes, @user for this node's.
export function handle(username, home) {
  return home ? `@${username}@${home}` : `@${username}`;
}

export class MemberList {
  constructor(shell, communityId) {
    this.shell = shell;
    this.communityId = communityId;
    this.el = h('div', { class: 'member-list' }, h('p', { class: 'muted', role: 'status' }, 'Loading members…'));
    this.unsubs = [
      store.on('users', () => this.render()),
      store.on('presence', () => this.render()),
      store.on('members', (id) => id === communityId && this.refresh()),
    ];
    // Before the first READY, wait for it (Shell.onReady refreshes): a list asked for sooner is
    // asked for again then. With no READY in 3 s (no socket), ask anyway.
    if (shell.readies) this.refresh();
    else this.waiting = setTimeout(() => this.refresh(), 3000);
  }

  destroy() {
    clearTimeout(this.waiting);
    for (const u of this.unsubs) u();
  }

  async refresh() {
    clearTimeout(this.waiting);
    try {
      const [members, roles] = await Promise.all([C.members(this.communityId), C.roles(this.communityId)]);
      state.members.set(this.communityId, members.members);
      state.roles.set(this.communityId, roles.roles);
      for (const m of members.members) {
        store.user(m.user_id);
        // A large community's presences are not in READY (presences_partial): the list says them.
        if (m.status && !state.presence.has(m.user_id)) state.presence.set(m.user_id, m.status);
      }
      store.emit('member-list', this.communityId);
      this.render();
    } catch (err) {
      replace(this.el, h('p', { role: 'alert' }, err.message));
    }
  }

  rolesOf(member) {
    const roles = state.roles.get(this.communityId) || [];
    return roles.filter((r) => member.roles.includes(r.id)).sort((a, b) => b.position - a.position);
  }

  render() {
    const members = state.members.get(this.communityId);
    if (!members) return;
    const focusKey = this.el.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    const groups = new Map();
    const online = (id) => (state.presence.get(id) || 'offline') !== 'offline';
    for (const m of members) {
      const hoisted = this.rolesOf(m).find((r) => r.hoist);
      const key = !online(m.user_id) ? 'Offline' : hoisted ? hoisted.name : 'Online';
      if (!groups.has(key)) groups.set(key, { position: !online(m.user_id) ? -2 : hoisted ? hoisted.position : -1, list: [] });
      groups.get(key).list.push(m);
    }
    const sorted = [...groups.entries()].sort((a, b) => b[1].position - a[1].position);
    replace(this.el, sorted.map(([name, g]) => h('section', { class: 'member-group', 'aria-label': `${name}, ${g.list.length}` },
      h('h3', { class: 'category-name', 'aria-hidden': 'true' }, `${name} — ${g.list.length}`),
      h('ul', null, g.list.map((m) => this.row(m))))));
    if (focusKey) this.el.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
  }

  row(member) {
    const u = state.users.get(member.user_id);
    const name = u ? u.display_name || u.username : '…';
    const top = this.rolesOf(member)[0];
    const status = state.presence.get(member.user_id) || 'offline';
    const roleNames = this.rolesOf(member).map((r) => r.name);
    const from = member.home ? `, from ${member.home}` : '';
    return h('li', { class: `member ${status}`, dataset: { home: member.home || '' } },
      h('button', {
        class: 'member-btn',
        'data-focus-key': member.user_id,
        'aria-label': `${name}${u?.bot ? ' (bot)' : ''}${from}, ${status}${roleNames.length ? `, roles: ${roleNames.join(', ')}` : ''}`,
        onclick: () => this.card(member),
      },
      avatar(member.user_id, 'sm'),
      h('span', { class: 'member-text' },
        h('span', { class: 'member-name', style: color(top) ? `color:${color(top)}` : undefined }, name, u?.bot ? h('span', { class: 'bot-tag' }, 'BOT') : null),
        // a member from another node shows where it lives (user@node)
        member.home ? h('span', { class: 'member-role member-home muted', title: `home node ${member.home}` }, `@${member.home}`) : null,
        top ? h('span', { class: 'member-role muted' }, top.name) : null,
        statusOf(u) ? h('span', { class: 'member-status muted' }, statusOf(u)) : null)));
  }

  card(member) {
    openProfileCard(this.shell, member.user_id, this.communityId);
  }
}
