// Channel settings: name, topic and slow mode (MANAGE_CHANNELS there), and permission overwrites per
// role and per member (MANAGE_ROLES there) as allow / neutral / deny switches with plain-language
// labels (perms.js). Loaded when the gear is first used (channel_menu.js has the gear and the note).

import * as R from '../content.js';
import { announce, h, replace } from '../dom.js';
import { bit, CHANNEL_PERMISSIONS, holds } from '../perms.js';
import * as store from '../store.js';
import { SLOWMODE, slowmodeText } from './channel_menu.js';
import { confirmDialog, modal } from './dialogs.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

const { state } = store;

// -- the dialog ---------------------------------------------------------------------------------

export function channelSettingsDialog(channel) {
  modal(`Channel settings · #${channel.name}`, (close) => {
    const tabs = [];
    if (holds(channel.perms, 'MANAGE_CHANNELS')) tabs.push(['overview', 'Overview']);
    if (holds(channel.perms, 'MANAGE_ROLES')) tabs.push(['permissions', 'Permissions']);
    const panel = h('div', { class: 'chs-panel' });
    const bar = h('div', { class: 'sort-tabs', role: 'tablist', 'aria-label': 'Channel settings sections' });
    const show = (key) => {
      replace(bar, tabs.map(([k, text]) => h('button', {
        type: 'button', role: 'tab', class: k === key ? 'active' : '', 'aria-selected': String(k === key), onclick: () => show(k),
      }, text)));
      const fresh = store.channelById(channel.id) || channel;
      replace(panel, key === 'overview' ? overview(fresh, close) : permissions(fresh));
    };
    show(tabs[0][0]);
    return h('div', { class: 'modal-body chs' }, bar, panel);
  }, { className: 'channel-settings' });
}

function overview(channel, close) {
  const name = field('Channel name', { name: 'name', required: true, maxlength: 100, value: channel.name });
  const topic = field('Topic', { name: 'topic', maxlength: 1000, multiline: true, rows: 2, value: channel.topic || '' }, 'Shown under the channel name.');
  const slowId = `slow-${channel.id}`;
  const slow = h('select', { id: slowId, name: 'slowmode_s' },
    SLOWMODE.map(([v, text]) => h('option', { value: String(v), selected: v === (channel.slowmode_s || 0) }, text)));
  if (!SLOWMODE.some(([v]) => v === channel.slowmode_s)) slow.append(h('option', { value: String(channel.slowmode_s), selected: true }, slowmodeText(channel.slowmode_s)));
  const errors = banner();
  const form = h('form', { class: 'chs-form', novalidate: true },
    errors, name.row, topic.row,
    h('div', { class: 'field' }, h('label', { for: slowId }, 'Slow mode'), slow,
      h('p', { class: 'field-hint' }, 'How long each member waits between messages. Those who manage messages are exempt.')),
    h('div', { class: 'modal-actions' },
      h('button', { type: 'button', class: 'btn danger', onclick: () => removeChannel(channel, close) }, 'Delete channel'),
      submitButton('Save changes')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const body = { name: name.input.value.trim().replace(/\s+/g, '-').toLowerCase(), topic: topic.input.value.trim(), slowmode_s: Number(slow.value) };
        const out = await R.channels.update(channel.id, body);
        merge(out);
        errors.textContent = '';
        announce('Channel saved.');
        form.querySelector('.saved')?.remove();
        form.append(h('p', { class: 'saved', role: 'status' }, 'Saved.'));
      } catch (err) {
        showError(err, { name, topic }, errors);
      }
    });
  });
  return form;
}

async function removeChannel(channel, close) {
  if (!await confirmDialog(`Delete #${channel.name}?`, 'Its messages go with it. This cannot be undone.', 'Delete channel')) return;
  try {
    await R.channels.remove(channel.id);
    const list = state.channels.get(channel.community_id) || [];
    store.setChannels(channel.community_id, list.filter((c) => c.id !== channel.id));
    close();
    announce(`Deleted #${channel.name}.`);
  } catch (err) {
    announce(err.message);
  }
}

/** Our own copy of the channel after a change (the node's push brings the same a moment later). */
function merge(out) {
  const list = state.channels.get(out.community_id) || [];
  store.setChannels(out.community_id, list.map((c) => (c.id === out.id ? { ...c, ...out } : c)));
}

// -- overwrites -----------------------------------------------------------------------------------

function permissions(channel) {
  const box = h('div', { class: 'ow' }, h('p', { class: 'muted', role: 'status' }, 'Loading roles and members…'));
  const cid = channel.community_id;
  Promise.all([R.communities.roles(cid), R.communities.members(cid)])
    .then(([rs, ms]) => renderOverwrites(box, channel, rs.roles, ms.members))
    .catch((err) => replace(box, h('p', { role: 'alert' }, err.message)));
  return box;
}

function targetName(cid, roles, type, id) {
  if (type === 'role') return id === cid ? '@everyone' : `@${roles.find((r) => r.id === id)?.name || 'deleted role'}`;
  return store.displayName(id);
}

function renderOverwrites(box, channel, roles, members) {
  const cid = channel.community_id;
  const current = store.channelById(channel.id) || channel;
  const existing = (current.overwrites || []).map((o) => `${o.target_type}:${o.target_id}`);
  const targets = [`role:${cid}`, ...existing.filter((k) => k !== `role:${cid}`)];
  const pick = h('select', { id: `ow-target-${channel.id}`, 'aria-label': 'Role or member' });
  const fill = (selected) => replace(pick,
    h('optgroup', { label: 'Set here' }, targets.map((k) => {
      const [type, id] = k.split(':');
      return h('option', { value: k, selected: k === selected }, targetName(cid, roles, type, id));
    })),
    h('optgroup', { label: 'Add a role' }, roles.filter((r) => !targets.includes(`role:${r.id}`)).sort((a, b) => b.position - a.position)
      .map((r) => h('option', { value: `role:${r.id}` }, `@${r.name}`))),
    h('optgroup', { label: 'Add a member' }, members.filter((m) => !targets.includes(`member:${m.user_id}`))
      .map((m) => h('option', { value: `member:${m.user_id}` }, store.displayName(m.user_id)))));
  const editor = h('div', { class: 'ow-editor' });
  const open = (key) => {
    if (!targets.includes(key)) targets.push(key);
    fill(key);
    const [type, id] = key.split(':');
    const ch = store.channelById(channel.id) || channel;
    const ow = (ch.overwrites || []).find((o) => o.target_type === type && o.target_id === id) || { allow: 0, deny: 0 };
    replace(editor, overwriteEditor(ch, type, id, targetName(cid, roles, type, id), ow, () => open(key)));
  };
  pick.addEventListener('change', () => open(pick.value));
  replace(box,
    h('p', { class: 'muted' }, 'Change what a role or a member may do in this channel only. Neutral keeps what their roles allow.'),
    h('div', { class: 'field' }, h('label', { for: pick.id }, 'Role or member'), pick),
    editor);
  open(targets[0]);
}

const STATES = [['deny', 'Deny', '✕'], ['neutral', 'Neutral', '/'], ['allow', 'Allow', '✓']];

function overwriteEditor(channel, type, id, name, ow, reopen) {
  let allow = BigInt(ow.allow || 0);
  let deny = BigInt(ow.deny || 0);
  const rows = CHANNEL_PERMISSIONS.map(([perm, text, help]) => {
    const b = bit(perm);
    const now = (allow & b) ? 'allow' : (deny & b) ? 'deny' : 'neutral';
    const group = `ow-${channel.id}-${perm}`;
    const choices = STATES.map(([value, word, mark]) => h('label', { class: `tri ${value}`, title: word },
      h('input', {
        type: 'radio', name: group, value, checked: value === now, 'aria-label': `${word}: ${text}`,
        onchange: () => {
          allow &= ~b;
          deny &= ~b;
          if (value === 'allow') allow |= b;
          if (value === 'deny') deny |= b;
        },
      }), h('span', { 'aria-hidden': 'true' }, mark)));
    return h('div', { class: 'ow-row', dataset: { perm } },
      h('div', { class: 'ow-text' }, h('span', { class: 'ow-label', id: `${group}-l` }, text), h('span', { class: 'muted ow-help' }, help)),
      h('div', { class: 'tri-group', role: 'radiogroup', 'aria-labelledby': `${group}-l` }, choices));
  });
  const errors = banner();
  const refresh = async () => {
    const fresh = await R.channels.get(channel.id);
    merge(fresh);
  };
  const form = h('form', { class: 'ow-form', novalidate: true, 'aria-label': `Permissions for ${name}` },
    h('h3', { class: 'ow-title' }, `Permissions for ${name}`),
    errors, rows,
    h('div', { class: 'modal-actions' },
      (ow.allow || ow.deny) ? h('button', {
        type: 'button', class: 'btn',
        onclick: async () => {
          try {
            await R.channels.removeOverwrite(channel.id, type, id);
            await refresh();
            announce(`Removed the overwrite for ${name}.`);
            reopen();
          } catch (err) {
            errors.textContent = err.message;
          }
        },
      }, 'Reset to neutral') : null,
      submitButton('Save permissions')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await R.channels.setOverwrite(channel.id, type, id, { allow: Number(allow), deny: Number(deny) });
        await refresh();
        announce(`Saved the permissions for ${name}.`);
        reopen();
        document.querySelector('.ow-form .modal-actions')?.append(h('span', { class: 'saved', role: 'status' }, 'Saved.'));
      } catch (err) {
        errors.textContent = err.message;
      }
    });
  });
  return form;
}
