// Community settings (/channels/<community>/@settings): overview (name, icon, description, rules,
// visibility), invites, custom emoji and roles, each tab offered only to those holding its
// permission (the node refuses everyone else anyway). Loaded when first opened (community_menu.js
// has the header buttons, leaving and the rail icon).

import * as R from '../content.js';
import { announce, formatTime, h, initials, replace } from '../dom.js';
import { bit, holds, PERMISSIONS } from '../perms.js';
import * as store from '../store.js';
import { forgetEmoji } from './custom_emoji.js';
import { renameEmojiButton } from './emoji_rename.js';
import { canOpenSettings } from './community_menu.js';
import { confirmDialog } from './dialogs.js';
import { upload } from './attachments.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

const { state } = store;

const TABS = [
  ['overview', 'Overview', 'MANAGE_COMMUNITY'],
  ['invites', 'Invites', 'CREATE_INVITES'],
  ['emoji', 'Emoji', 'MANAGE_COMMUNITY'],
  ['roles', 'Roles', 'MANAGE_ROLES'],
  ['integrations', 'Integrations', 'MANAGE_WEBHOOKS'],
  ['onboarding', 'Onboarding', 'MANAGE_COMMUNITY'],
];

export class CommunitySettingsView {
  constructor(shell, communityId) {
    this.shell = shell;
    this.communityId = communityId;
    this.channelId = '@settings';
    this.body = h('div', { class: 'cs-body' });
    this.tabBar = h('div', { class: 'sort-tabs cs-tabs', role: 'tablist', 'aria-label': 'Community settings sections' });
    this.title = h('h2', { class: 'channel-title' });
    this.el = h('div', { class: 'chat-view cs-view' },
      shell.header(this.title),
      h('div', { class: 'scroller pane-scroller' }, this.tabBar, this.body));
    const offCommunities = store.on('communities', () => this.renderTitle());
    // Another manager's upload, rename or delete shows in an open Emoji tab at once.
    const offEmoji = store.on('emoji', (d) => {
      if (this.tab === 'emoji' && d?.community_id === this.communityId && this.emojiBox?.isConnected) this.emojiList();
    });
    this.unsub = () => { offCommunities(); offEmoji(); };
  }

  destroy() { this.unsub(); }
  focusComposer() {}
  flushOutbox() {}
  catchUp() {}

  get community() { return state.communities.get(this.communityId); }
  get perms() { return this.community?.perms || 0; }

  renderTitle() {
    this.title.textContent = `Settings · ${this.community?.name || ''}`;
  }

  show(tab) {
    this.renderTitle();
    const tabs = TABS.filter(([, , need]) => holds(this.perms, need));
    if (!canOpenSettings(this.perms) || !tabs.length) {
      replace(this.body, h('p', { role: 'alert' }, 'You cannot change this community’s settings.'));
      return;
    }
    tab = tabs.some(([k]) => k === tab) ? tab : tabs[0][0];
    this.tab = tab;
    replace(this.tabBar, tabs.map(([key, text]) => h('button', {
      type: 'button', role: 'tab', class: key === tab ? 'active' : '', 'aria-selected': String(key === tab), onclick: () => this.show(key),
    }, text)));
    // On a phone the tabs scroll sideways: keep the open one (say, a deep link's) in view.
    this.tabBar.querySelector('.active')?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    replace(this.body, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
    const integrations = () => import('./integrations_settings.js').then((m) => m.integrationsTab(this));
    const onboarding = () => import('./onboarding_view.js').then((m) => m.onboardingTab(this));
    const run = { overview: this.overview, invites: this.invites, emoji: this.emoji, roles: this.roles, integrations, onboarding }[tab];
    run.call(this).catch((err) => replace(this.body, h('p', { role: 'alert' }, err.message)));
  }

  // -- overview ------------------------------------------------------------------------------------

  async overview() {
    const c = await R.communities.get(this.communityId);
    let iconId = c.icon;
    const name = field('Community name', { name: 'name', required: true, maxlength: 100, value: c.name });
    const description = field('Description', { name: 'description', maxlength: 1000, multiline: true, rows: 3, value: c.description });
    const rules = field('Rules', { name: 'rules', multiline: true, rows: 5, value: (c.rules || []).join('\n') }, 'One rule a line (at most 20 rules of 300 characters).');
    const preview = h('span', { class: 'cs-icon-preview' });
    const showIcon = () => replace(preview, iconId ? h('img', { src: R.media.fileUrl(iconId), alt: 'Current icon', width: 64, height: 64 }) : h('span', { class: 'cs-icon-none', 'aria-hidden': 'true' }, initials(c.name)));
    showIcon();
    const iconStatus = h('p', { class: 'field-hint', role: 'status' });
    const file = h('input', { type: 'file', id: 'cs-icon-file', accept: 'image/*' });
    file.addEventListener('change', async () => {
      const f = file.files[0];
      if (!f) return;
      try {
        iconStatus.textContent = 'Uploading…';
        const m = await upload(f, (p) => { iconStatus.textContent = `Uploading… ${Math.round(p * 100)} %`; }).done;
        iconId = m.id;
        iconStatus.textContent = 'Uploaded. Save to use it.';
        // Private until saved (the node attaches it then): show the chosen file itself meanwhile.
        replace(preview, h('img', { src: URL.createObjectURL(f), alt: 'New icon', width: 64, height: 64 }));
      } catch (err) {
        iconStatus.textContent = err.message;
      }
    });
    const removeIcon = h('button', { type: 'button', class: 'btn small', onclick: () => { iconId = null; showIcon(); iconStatus.textContent = 'Save to remove the icon.'; } }, 'Remove icon');
    const vis = (value, text, hint) => h('label', { class: 'cs-radio' },
      h('input', { type: 'radio', name: 'visibility', value, checked: c.public === (value === 'public') }),
      h('span', null, h('strong', null, text), h('span', { class: 'muted' }, ` — ${hint}`)));
    const errors = banner();
    const form = h('form', { class: 'cs-form', novalidate: true },
      errors,
      h('div', { class: 'field' }, h('label', { for: 'cs-icon-file' }, 'Icon'),
        h('div', { class: 'cs-icon-row' }, preview, file, removeIcon), iconStatus),
      name.row, description.row, rules.row,
      h('fieldset', { class: 'cs-fieldset' }, h('legend', null, 'Visibility'),
        vis('public', 'Public', 'anyone on this node can find, read and join it'),
        vis('private', 'Private', 'only members see it; people join with an invite')),
      h('div', { class: 'modal-actions' }, submitButton('Save changes')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        const body = {
          name: name.input.value.trim(),
          description: description.input.value.trim(),
          rules: rules.input.value.split('\n').map((r) => r.trim()).filter(Boolean),
          public: form.querySelector('input[name=visibility]:checked').value === 'public',
        };
        if (iconId !== c.icon) body.icon = iconId;
        if (body.rules.length > 20) return rules.setError('At most 20 rules.');
        try {
          const out = await R.communities.update(this.communityId, body);
          Object.assign(c, out);
          state.communities.set(this.communityId, { ...state.communities.get(this.communityId), ...out });
          store.emit('communities');
          errors.textContent = '';
          iconStatus.textContent = '';
          announce('Community settings saved.');
          form.querySelector('.saved')?.remove();
          form.querySelector('.modal-actions').prepend(h('span', { class: 'saved', role: 'status' }, 'Saved.'));
        } catch (err) {
          showError(err, { name, description, rules, icon: { input: file, setError: (m) => { iconStatus.textContent = m; } } }, errors);
        }
      });
    });
    replace(this.body, form);
  }

  // -- invites -------------------------------------------------------------------------------------

  async invites() {
    const canList = holds(this.perms, 'MANAGE_COMMUNITY');
    const ages = [[1800, '30 minutes'], [3600, '1 hour'], [21600, '6 hours'], [43200, '12 hours'], [86400, '1 day'], [604800, '7 days'], [2592000, '30 days'], [0, 'Never']];
    const uses = [[0, 'No limit'], [1, '1 use'], [5, '5 uses'], [10, '10 uses'], [25, '25 uses'], [50, '50 uses'], [100, '100 uses']];
    const age = h('select', { id: 'cs-inv-age' }, ages.map(([v, t]) => h('option', { value: String(v), selected: v === 604800 }, t)));
    const max = h('select', { id: 'cs-inv-uses' }, uses.map(([v, t]) => h('option', { value: String(v) }, t)));
    const created = h('div', { class: 'cs-created', 'aria-live': 'polite' });
    const errors = banner();
    const list = h('div', { class: 'cs-invite-list' });
    const form = h('form', { class: 'cs-form cs-inline', novalidate: true },
      errors,
      h('div', { class: 'field' }, h('label', { for: 'cs-inv-age' }, 'Expires after'), age),
      h('div', { class: 'field' }, h('label', { for: 'cs-inv-uses' }, 'Maximum uses'), max),
      h('div', { class: 'modal-actions' }, submitButton('Create invite')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        try {
          const inv = await R.communities.createInvite(this.communityId, { max_age_s: Number(age.value), max_uses: Number(max.value) });
          replace(created, h('p', null, 'New invite link:'), copyRow(inviteUrl(inv.code), 'cs-new-invite'));
          announce('Invite created.');
          if (canList) await this.fillInvites(list);
        } catch (err) {
          errors.textContent = err.message;
        }
      });
    });
    replace(this.body, h('h3', { class: 'cs-h' }, 'Create an invite'), form, created,
      canList ? [h('h3', { class: 'cs-h' }, 'Invites'), list] : null);
    if (canList) await this.fillInvites(list);
  }

  async fillInvites(list) {
    const out = await R.communities.invites(this.communityId);
    const live = out.invites.filter((i) => !i.revoked).sort((a, b) => b.created_at - a.created_at);
    if (!live.length) {
      replace(list, h('p', { class: 'muted' }, 'No invites yet.'));
      return;
    }
    replace(list, h('ul', { class: 'cs-invites', 'aria-label': 'Invites' }, live.map((inv) => {
      const expired = inv.expires_at && inv.expires_at < Date.now();
      return h('li', { class: 'cs-invite', dataset: { code: inv.code } },
        h('div', { class: 'cs-invite-main' },
          h('code', null, inv.code),
          h('span', { class: 'muted' }, ` · by ${store.displayName(inv.creator_id)} · ${inv.uses}${inv.max_uses ? ` of ${inv.max_uses}` : ''} ${inv.uses === 1 ? 'use' : 'uses'} · `,
            expired ? 'expired' : inv.expires_at ? `expires ${formatTime(inv.expires_at)}` : 'never expires')),
        h('div', { class: 'cs-invite-actions' },
          h('button', { type: 'button', class: 'btn small', 'aria-label': `Copy invite link ${inv.code}`, onclick: (e) => copy(inviteUrl(inv.code), e.currentTarget) }, 'Copy link'),
          h('button', {
            type: 'button', class: 'btn small danger', 'aria-label': `Revoke invite ${inv.code}`,
            onclick: async () => {
              if (!await confirmDialog('Revoke this invite?', `The link ending in ${inv.code} will stop working.`, 'Revoke')) return;
              try {
                await R.communities.revokeInvite(inv.code);
                announce('Invite revoked.');
                await this.fillInvites(list);
              } catch (err) {
                announce(err.message);
              }
            },
          }, 'Revoke')));
    })));
  }

  // -- custom emoji --------------------------------------------------------------------------------

  async emoji() {
    this.emojiBox = h('div', { class: 'cs-emoji-box' });
    await this.emojiList();
    const name = field('Name', { name: 'name', required: true, maxlength: 32, pattern: '[A-Za-z0-9_]{2,32}', placeholder: 'party_parrot' }, 'Letters, digits and _ (2 to 32). Used as :name:.');
    const file = h('input', { type: 'file', id: 'cs-emoji-file', accept: 'image/png,image/gif,image/webp,image/jpeg', required: true });
    const status = h('p', { class: 'field-hint', role: 'status' });
    const errors = banner();
    const form = h('form', { class: 'cs-form', novalidate: true },
      errors,
      h('div', { class: 'field' }, h('label', { for: 'cs-emoji-file' }, 'Image'), file, status),
      name.row,
      h('div', { class: 'modal-actions' }, submitButton('Upload emoji')));
    file.addEventListener('change', () => {
      const f = file.files[0];
      if (f && !name.input.value) name.input.value = f.name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_]/g, '_').slice(0, 32);
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const f = file.files[0];
      if (!f) {
        status.textContent = 'Choose an image first.';
        return;
      }
      busy(form, async () => {
        try {
          const m = await upload(f, (p) => { status.textContent = `Uploading… ${Math.round(p * 100)} %`; }).done;
          await R.communities.addEmoji(this.communityId, { name: name.input.value.trim(), media_id: m.id });
          forgetEmoji(this.communityId);
          announce(`Added :${name.input.value.trim()}:.`);
          this.show('emoji');
        } catch (err) {
          status.textContent = '';
          showError(err, { name, media_id: { input: file, setError: (msg) => { status.textContent = msg; } } }, errors);
        }
      });
    });
    replace(this.body, h('h3', { class: 'cs-h' }, 'Upload an emoji'), form, this.emojiBox);
  }

  /** The community's emoji with their Rename and Delete buttons, (re)drawn into this.emojiBox. */
  async emojiList() {
    const out = await R.communities.emojis(this.communityId);
    const list = out.emojis.length
      ? h('ul', { class: 'cs-emoji-list', 'aria-label': 'Custom emoji' }, out.emojis.map((e) => h('li', { class: 'cs-emoji', dataset: { id: e.id } },
        h('img', { src: R.media.fileUrl(e.media_id), alt: `:${e.name}:`, width: 32, height: 32 }),
        h('code', null, `:${e.name}:`),
        renameEmojiButton(this.communityId, e, () => this.emojiList()),
        h('button', {
          type: 'button', class: 'btn small danger', 'aria-label': `Delete :${e.name}:`,
          onclick: async () => {
            if (!await confirmDialog(`Delete :${e.name}:?`, 'Reactions with it stay, but nobody can use it any more.', 'Delete emoji')) return;
            try {
              await R.communities.removeEmoji(this.communityId, e.id);
              forgetEmoji(this.communityId);
              announce(`Deleted :${e.name}:.`);
              this.emojiList();
            } catch (err) {
              announce(err.message);
            }
          },
        }, 'Delete'))))
      : h('p', { class: 'muted' }, 'No custom emoji yet.');
    replace(this.emojiBox, h('h3', { class: 'cs-h' }, `Emoji (${out.emojis.length})`), list);
  }

  // -- roles ---------------------------------------------------------------------------------------

  async roles() {
    const rs = await R.communities.roles(this.communityId);
    const roles = rs.roles.sort((a, b) => b.position - a.position);
    const newName = field('New role', { name: 'name', required: true, maxlength: 100, placeholder: 'Moderators' });
    const errors = banner();
    const create = h('form', { class: 'cs-form cs-inline', novalidate: true }, errors, newName.row, h('div', { class: 'modal-actions' }, submitButton('Create role')));
    create.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(create, async () => {
        try {
          const top = Math.max(0, ...roles.filter((r) => r.id !== this.communityId).map((r) => r.position));
          const role = await R.communities.createRole(this.communityId, { name: newName.input.value.trim(), perms: 0, position: top + 1 });
          announce(`Created the role ${role.name}.`);
          this.openRole = role.id;
          this.show('roles');
        } catch (err) {
          let failure = err;
          if (err.field === 'position') {
            // Only below our own highest role: try the lowest place instead.
            try {
              const role = await R.communities.createRole(this.communityId, { name: newName.input.value.trim(), perms: 0, position: 1 });
              this.openRole = role.id;
              this.show('roles');
              return;
            } catch (again) {
              failure = again;
            }
          }
          showError(failure, { name: newName }, errors);
        }
      });
    });
    replace(this.body, h('h3', { class: 'cs-h' }, 'Roles'),
      h('p', { class: 'muted' }, 'Higher roles are listed first. You can change roles below your own highest one.'),
      roles.map((r) => this.roleEditor(r)), create);
  }

  roleEditor(role) {
    const everyone = role.id === this.communityId;
    const title = everyone ? '@everyone' : role.name;
    let perms = BigInt(role.perms);
    const hex = `#${(role.color || 0).toString(16).padStart(6, '0')}`;
    const idp = `role-${role.id}`;
    const name = everyone ? null : field('Role name', { name: 'name', required: true, maxlength: 100, value: role.name });
    const color = everyone ? null : h('input', { type: 'color', id: `${idp}-color`, value: hex });
    const groups = [['Channels and messages', (w) => w === 'channel'], ['Community', (w) => w === 'community']];
    const boxes = groups.map(([heading, pickWhere]) => h('fieldset', { class: 'cs-perms' }, h('legend', null, heading),
      PERMISSIONS.filter(([, , , w]) => pickWhere(w)).map(([p, text, help]) => {
        const id = `${idp}-${p}`;
        const box = h('input', { type: 'checkbox', id, checked: (perms & bit(p)) !== 0n, 'aria-describedby': `${id}-h` });
        box.addEventListener('change', () => { perms = box.checked ? perms | bit(p) : perms & ~bit(p); });
        return h('div', { class: 'cs-perm' }, box, h('label', { for: id }, text), h('span', { class: 'muted cs-perm-help', id: `${id}-h` }, help));
      })));
    const errors = banner();
    const form = h('form', { class: 'cs-role-form', novalidate: true },
      errors,
      everyone ? h('p', { class: 'muted' }, 'What every member may do, unless a role or a channel says otherwise.') : null,
      name ? name.row : null,
      color ? h('div', { class: 'field' }, h('label', { for: color.id }, 'Colour'), color) : null,
      boxes,
      h('div', { class: 'modal-actions' },
        everyone ? null : h('button', {
          type: 'button', class: 'btn danger',
          onclick: async () => {
            if (!await confirmDialog(`Delete the role ${role.name}?`, 'Members who have it lose it, and its channel permissions go too.', 'Delete role')) return;
            try {
              await R.communities.removeRole(this.communityId, role.id);
              announce(`Deleted the role ${role.name}.`);
              this.show('roles');
            } catch (err) {
              errors.textContent = err.message;
            }
          },
        }, 'Delete role'),
        submitButton('Save role')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        const body = { perms: Number(perms) };
        if (name) body.name = name.input.value.trim();
        if (color) body.color = parseInt(color.value.slice(1), 16);
        try {
          const out = await R.communities.updateRole(this.communityId, role.id, body);
          Object.assign(role, out);
          announce(`Saved the role ${out.name}.`);
          form.querySelector('.saved')?.remove();
          form.querySelector('.modal-actions').prepend(h('span', { class: 'saved', role: 'status' }, 'Saved.'));
          summaryName.textContent = everyone ? '@everyone' : out.name;
          swatch.style.background = `#${(out.color || 0).toString(16).padStart(6, '0')}`;
        } catch (err) {
          showError(err, name ? { name } : {}, errors);
        }
      });
    });
    const summaryName = h('span', null, title);
    const swatch = h('span', { class: 'cs-swatch', 'aria-hidden': 'true', style: `background:${everyone ? 'transparent' : hex}` });
    return h('details', { class: 'cs-role', open: this.openRole === role.id, dataset: { id: role.id } },
      h('summary', null, swatch, summaryName), form);
  }
}

function inviteUrl(code) {
  return `${location.origin}/invite/${code}`;
}

function copyRow(url, id) {
  const input = h('input', { id, readonly: true, value: url, 'aria-label': 'Invite link' });
  return h('div', { class: 'copy-row' }, input, h('button', { type: 'button', class: 'btn primary', onclick: (e) => { input.select(); copy(url, e.currentTarget); } }, 'Copy'));
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Press Ctrl+C';
  }
  announce('Invite link copied.');
}
