// Community moderation: reports queue with actions, member management (roles, kick, ban, timeout),
// the role and channel-permission editors with effective permissions, automod rules and the mod log.
// The tools are offered only to members holding a moderator bit (store.perms); the node refuses
// everyone else anyway.

import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';
import { confirmDialog } from './dialogs.js';
import { isModerator, label as permLabel, labels as permLabels } from '../perms.js';
import { contentTarget, reportItem, timeoutDialog } from './mod_items.js';
import { actionText } from './modlog_actions.js';

const { state } = store;

// docs/permissions.md
export const BITS = [
  'VIEW_CHANNEL', 'SEND_MESSAGES', 'READ_HISTORY', 'ATTACH_FILES', 'ADD_REACTIONS', 'MENTION_EVERYONE',
  'MANAGE_MESSAGES', 'MANAGE_CHANNELS', 'MANAGE_ROLES', 'MANAGE_COMMUNITY', 'KICK_MEMBERS', 'BAN_MEMBERS',
  'MODERATE_MEMBERS', 'CREATE_POSTS', 'VOTE', 'CREATE_INVITES', 'VIEW_AUDIT_LOG', 'ADMINISTRATOR',
  'MANAGE_WEBHOOKS', 'MANAGE_EVENTS',
];
const bit = (name) => 1n << BigInt(BITS.indexOf(name));
const has = (perms, name) => store.can(perms, bit(name));
const TABS = [
  ['reports', 'Reports', 'MANAGE_MESSAGES'],
  ['members', 'Members', null],
  ['roles', 'Roles & permissions', 'MANAGE_ROLES'],
  ['automod', 'Automod', 'MANAGE_COMMUNITY'],
  ['modlog', 'Mod log', 'VIEW_AUDIT_LOG'],
];

export class ModerationView {
  constructor(shell, communityId) {
    this.shell = shell;
    this.communityId = communityId;
    this.channelId = '@mod';
    this.community = state.communities.get(communityId);
    this.perms = this.community?.perms || 0;
    this.body = h('div', { class: 'mod-body' });
    this.tabs = TABS.filter(([, , need]) => !need || has(this.perms, need));
    this.tabBar = h('div', { class: 'sort-tabs', role: 'tablist', 'aria-label': 'Moderation sections' });
    this.el = h('div', { class: 'chat-view mod-view' },
      shell.header(h('h2', { class: 'channel-title' }, `Moderation · ${this.community?.name || ''}`)),
      h('div', { class: 'scroller pane-scroller' }, this.tabBar, this.body));
  }

  destroy() {}
  focusComposer() {}
  flushOutbox() {}
  catchUp() {}

  show(tab) {
    if (!isModerator(this.perms)) {
      replace(this.body, h('p', { role: 'alert' }, 'You do not moderate this community.'));
      return;
    }
    tab = this.tabs.some(([k]) => k === tab) ? tab : this.tabs[0][0];
    replace(this.tabBar, this.tabs.map(([key, label]) => h('button', {
      role: 'tab', class: key === tab ? 'active' : '', 'aria-selected': String(key === tab), onclick: () => this.show(key),
    }, label)));
    replace(this.body, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
    const run = { reports: this.reports, members: this.members, roles: this.roles, automod: this.automod, modlog: this.modlog }[tab];
    run.call(this).catch((err) => replace(this.body, h('p', { role: 'alert' }, err.message)));
  }

  // -- reports -------------------------------------------------------------------------------------

  async reports() {
    const out = await R.moderation.reports(this.communityId, { status: 'open' });
    const list = h('ol', { class: 'report-list', 'aria-label': 'Open reports' });
    for (const r of out.reports) {
      const resolve = async (remove) => {
        try {
          if (remove && r.target_type !== 'member') {
            await R.moderation.act(r.target_type, r.target_id, { action: 'remove', reason: r.reason.slice(0, 500) });
          }
          await R.moderation.updateReport(this.communityId, r.id, { status: remove ? 'resolved' : 'dismissed', action_taken: remove ? 'removed' : '' });
          announce(remove ? 'Removed and resolved.' : 'Report dismissed.');
          this.show('reports');
        } catch (err) {
          announce(err.message);
        }
      };
      list.appendChild(reportItem(this, r, resolve));
    }
    replace(this.body, out.reports.length ? list : h('p', { class: 'muted', role: 'status' }, 'No open reports. All clear!'));
  }

  // -- members -------------------------------------------------------------------------------------

  async members() {
    const [ms, rs] = await Promise.all([R.communities.members(this.communityId), R.communities.roles(this.communityId)]);
    const roles = rs.roles.filter((r) => r.id !== this.communityId).sort((a, b) => b.position - a.position);
    const table = h('table', { class: 'mod-table' }, h('thead', null, h('tr', null, h('th', null, 'Member'), h('th', null, 'Roles'), h('th', null, 'Actions'))));
    const tbody = h('tbody');
    for (const m of ms.members) {
      if (m.user_id === state.me?.id) continue;
      const name = store.displayName(m.user_id);
      const roleBoxes = has(this.perms, 'MANAGE_ROLES') ? roles.map((r) => {
        const box = h('input', { type: 'checkbox', checked: m.roles.includes(r.id), 'aria-label': `${r.name} role for ${name}` });
        box.addEventListener('change', () => {
          (box.checked ? R.moderation.addMemberRole : R.moderation.removeMemberRole)(this.communityId, m.user_id, r.id).then(() => announce('Roles updated.')).catch((err) => { box.checked = !box.checked; announce(err.message); });
        });
        return h('label', { class: 'role-chip' }, box, r.name);
      }) : m.roles.map((id) => h('span', { class: 'role-chip' }, roles.find((r) => r.id === id)?.name || id));
      const act = (label, fn) => h('button', {
        class: 'btn',
        onclick: async () => { if (await confirmDialog(`${label} ${name}?`, `${label}: ${name}, in this community.`, label)) fn(); },
      }, label);
      const done = (p) => p.then(() => { announce('Done.'); this.show('members'); }).catch((err) => announce(err.message));
      tbody.appendChild(h('tr', { dataset: { user: m.user_id } },
        h('td', null, name, m.home ? h('span', { class: 'muted member-home' }, ` @${m.home}`) : null, m.timeout_until && m.timeout_until > Date.now() ? h('span', { class: 'flag' }, 'timed out') : null),
        h('td', null, roleBoxes),
        h('td', { class: 'row-actions' },
          has(this.perms, 'MODERATE_MEMBERS') ? h('button', { class: 'btn', onclick: async () => { if (await timeoutDialog(this.communityId, m.user_id, name)) this.show('members'); } }, 'Time out') : null,
          has(this.perms, 'KICK_MEMBERS') ? act('Kick', () => done(R.moderation.kick(this.communityId, m.user_id, { reason: '' }))) : null,
          has(this.perms, 'BAN_MEMBERS') ? act('Ban', () => done(R.moderation.ban(this.communityId, m.user_id, { reason: '', delete_message_seconds: 0 }))) : null)));
    }
    table.appendChild(tbody);
    replace(this.body, table);
  }

  // -- roles, overwrites and effective permissions --------------------------------------------------

  async roles() {
    const rs = await R.communities.roles(this.communityId);
    const roles = rs.roles.sort((a, b) => b.position - a.position);
    const editor = (role) => {
      let perms = BigInt(role.perms);
      const boxes = BITS.map((name) => {
        const box = h('input', { type: 'checkbox', checked: (perms & bit(name)) !== 0n, 'aria-label': `${permLabel(name)} for ${role.name}` });
        box.addEventListener('change', () => { perms = box.checked ? perms | bit(name) : perms & ~bit(name); });
        return h('label', { class: 'perm-chip' }, box, permLabel(name));
      });
      return h('details', { class: 'role-editor' }, h('summary', null, role.name === '@everyone' || role.id === this.communityId ? '@everyone' : role.name),
        h('div', { class: 'perm-grid' }, boxes),
        h('button', { class: 'btn primary', onclick: () => R.communities.updateRole(this.communityId, role.id, { perms: Number(perms) }).then(() => announce('Role saved.')).catch((err) => announce(err.message)) }, 'Save role'));
    };
    const newName = h('input', { 'aria-label': 'New role name', placeholder: 'New role name', maxlength: 100 });
    const create = h('form', { class: 'inline-form', onsubmit: (e) => { e.preventDefault(); R.communities.createRole(this.communityId, { name: newName.value, perms: 0 }).then(() => this.show('roles')).catch((err) => announce(err.message)); } },
      newName, h('button', { class: 'btn', type: 'submit' }, 'Create role'));
    // Effective permissions of one member in one channel, and the channel's overwrite for a role.
    const channels = (state.channels.get(this.communityId) || []).filter((c) => c.kind !== 'category');
    const ms = await R.communities.members(this.communityId);
    const chSel = h('select', { 'aria-label': 'Channel' }, channels.map((c) => h('option', { value: c.id }, `#${c.name}`)));
    const userSel = h('select', { 'aria-label': 'Member' }, ms.members.map((m) => h('option', { value: m.user_id }, store.displayName(m.user_id))));
    const roleSel = h('select', { 'aria-label': 'Role for the overwrite' }, roles.map((r) => h('option', { value: r.id }, r.id === this.communityId ? '@everyone' : r.name)));
    const effective = h('div', { class: 'effective', 'aria-live': 'polite' });
    const overwrite = h('div', { class: 'overwrite-editor' });
    const showEffective = async () => {
      if (!chSel.value || !userSel.value) return;
      try {
        const out = await R.channels.permissions(chSel.value, userSel.value);
        replace(effective, h('p', null, `Effective permissions of ${store.displayName(userSel.value)} in ${chSel.selectedOptions[0].textContent}:`),
          h('ul', { class: 'perm-list' }, permLabels(out.perms).map((n) => h('li', null, n))));
      } catch (err) {
        replace(effective, h('p', { role: 'alert' }, err.message));
      }
    };
    const showOverwrite = () => {
      const ch = channels.find((c) => c.id === chSel.value);
      if (!ch) return;
      const ow = (ch.overwrites || []).find((o) => o.target_id === roleSel.value) || { allow: 0, deny: 0 };
      let allow = BigInt(ow.allow || 0);
      let deny = BigInt(ow.deny || 0);
      const rows = BITS.map((name) => {
        const state3 = (allow & bit(name)) ? 'allow' : (deny & bit(name)) ? 'deny' : 'inherit';
        const sel = h('select', { 'aria-label': `${permLabel(name)} overwrite` }, ['inherit', 'allow', 'deny'].map((v) => h('option', { value: v, selected: v === state3 }, v)));
        sel.addEventListener('change', () => {
          allow &= ~bit(name);
          deny &= ~bit(name);
          if (sel.value === 'allow') allow |= bit(name);
          if (sel.value === 'deny') deny |= bit(name);
        });
        return h('label', { class: 'perm-chip' }, permLabel(name), sel);
      });
      replace(overwrite, h('div', { class: 'perm-grid' }, rows), h('button', {
        class: 'btn primary',
        onclick: async () => {
          try {
            await R.channels.setOverwrite(ch.id, 'role', roleSel.value, { allow: Number(allow), deny: Number(deny) });
            const fresh = await R.communities.channels(this.communityId);
            store.setChannels(this.communityId, fresh.channels);
            announce('Overwrite saved.');
            showEffective();
          } catch (err) {
            announce(err.message);
          }
        },
      }, 'Save overwrite'));
    };
    for (const el of [chSel, userSel]) el.addEventListener('change', showEffective);
    for (const el of [chSel, roleSel]) el.addEventListener('change', showOverwrite);
    replace(this.body,
      h('h3', null, 'Roles'), roles.map(editor), create,
      h('h3', null, 'Channel permissions'),
      h('div', { class: 'inline-form' }, chSel, userSel), effective,
      h('h4', null, 'Overwrite for role'), roleSel, overwrite);
    showEffective();
    showOverwrite();
  }

  // -- automod -------------------------------------------------------------------------------------

  async automod() {
    const out = await R.moderation.automodRules(this.communityId);
    const list = h('ul', { class: 'automod-list' }, out.rules.map((r) => h('li', null,
      h('strong', null, r.name), ` · ${r.kind} → ${r.action}${r.enabled ? '' : ' (off)'}`,
      r.config.words?.length ? h('span', { class: 'muted' }, ` [${r.config.words.join(', ')}]`) : null,
      h('button', { class: 'btn link', onclick: () => R.moderation.removeAutomodRule(this.communityId, r.id).then(() => this.show('automod')).catch((err) => announce(err.message)) }, 'Delete'))));
    const name = h('input', { 'aria-label': 'Rule name', placeholder: 'Rule name', required: true });
    const words = h('input', { 'aria-label': 'Blocked words', placeholder: 'word, another' });
    const action = h('select', { 'aria-label': 'Action' }, ['block', 'flag', 'timeout'].map((a) => h('option', { value: a }, a)));
    const form = h('form', {
      class: 'inline-form',
      onsubmit: (e) => {
        e.preventDefault();
        const body = { name: name.value, kind: 'words', config: { words: words.value.split(',').map((w) => w.trim()).filter(Boolean) }, action: action.value, timeout_s: 600, enabled: true };
        R.moderation.addAutomodRule(this.communityId, body).then(() => this.show('automod')).catch((err) => announce(err.message));
      },
    }, name, words, action, h('button', { class: 'btn primary', type: 'submit' }, 'Add word rule'));
    replace(this.body, out.rules.length ? list : h('p', { class: 'muted' }, 'No automod rules.'), form);
  }

  // -- mod log -------------------------------------------------------------------------------------

  /** An entry's target by name: a channel, a role, a member (never "Unknown user" for a channel). */
  targetLabel(e) {
    if (!e.target) return '';
    if (e.target_type === 'channel') {
      const ch = store.channelById(e.target);
      return ch ? `#${ch.name}` : e.details?.name ? `#${e.details.name}` : 'a deleted channel';
    }
    if (e.target_type === 'role') {
      const role = (this.roles || []).find((r) => r.id === e.target);
      return role ? `@${role.name}` : e.details?.name ? `@${e.details.name}` : 'a deleted role';
    }
    if (e.target_type === 'community') return this.community?.name || 'the community';
    if (e.target_type === 'rule') return e.details?.name || 'an automod rule';
    if (e.target_type === 'invite') return 'an invite';
    if (['message', 'post', 'comment'].includes(e.target_type)) return contentTarget(this, e);
    return store.displayName(e.target);
  }

  async modlog() {
    if (!this.roles) this.roles = (await R.communities.roles(this.communityId).catch(() => ({ roles: [] }))).roles;
    const out = await R.moderation.modlog(this.communityId, { limit: 100 });
    const rows = out.entries.map((e) => h('tr', null,
      h('td', null, formatTime(e.time)), h('td', null, store.displayName(e.actor)), h('td', { class: 'modlog-action', title: e.action }, actionText(e.action)),
      h('td', null, this.targetLabel(e)), h('td', null, e.reason)));
    replace(this.body, out.entries.length
      ? h('table', { class: 'mod-table' }, h('thead', null, h('tr', null, ['When', 'Who', 'Action', 'Target', 'Reason'].map((t) => h('th', null, t)))), h('tbody', null, rows))
      : h('p', { class: 'muted' }, 'The mod log is empty.'));
  }
}
