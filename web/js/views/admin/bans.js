// Node admin: bans of users of other nodes and of whole peer nodes (GET/POST /api/v1/admin/bans,
// DELETE /api/v1/admin/bans/{id}: what `cryb ban` does). A ban refuses what they write on this node
// and hides what it already holds of them; a node's ban also unpins it.

import * as R from '../../content.js';
import { announce, formatTime, h } from '../../dom.js';
import { banner, busy, field, showError, submitButton } from '../forms.js';

// What the last action did, shown above the list once it is drawn again.
let notice = '';

export async function render(view) {
  const [out, peers] = await Promise.all([R.admin.bans(), R.admin.peers()]);
  const said = notice;
  notice = '';
  return h('div', { class: 'bans' },
    h('p', { class: 'ban-notice muted', role: 'status' }, said),
    addSection(view, peers.peers),
    listSection(view, out.bans));
}

function addSection(view, peers) {
  const section = h('section', { class: 'dash-section', 'aria-label': 'Ban someone' }, h('h3', null, 'Ban someone'),
    h('p', { class: 'muted' },
      'What they write is refused here from now on, and what this node already holds of them is hidden '
      + '(for everyone in communities homed here). Banning a node also unpins it. Users of this node are '
      + 'disabled or erased instead.'));
  const user = field('User', { name: 'target', placeholder: 'name@their.node', maxlength: 300 }, 'name@home, as member lists show them');
  const peerId = 'ban-peer';
  const peerSelect = h('select', { id: peerId, name: 'peer', disabled: !peers.length },
    peers.length
      ? peers.map((p) => h('option', { value: p.node_key }, `${p.name ? `${p.name} · ` : ''}${p.url} (${p.fingerprint})`))
      : h('option', { value: '' }, 'No pinned peers'));
  const peerError = h('p', { class: 'field-error', role: 'alert' });
  const peerRow = h('div', { class: 'field' }, h('label', { for: peerId }, 'Pinned peer'), peerSelect, peerError);
  const node = { input: peerSelect, setError: (m) => { peerError.textContent = m || ''; } };
  const reason = field('Reason', { name: 'reason', maxlength: 500, placeholder: 'spam wave' });
  const errors = banner();
  let kind = 'user';
  const choose = (value) => {
    kind = value;
    user.row.hidden = value !== 'user';
    peerRow.hidden = value !== 'node';
    user.setError('');
    node.setError('');
  };
  const option = (value, label) => h('div', { class: 'check' },
    h('input', { type: 'radio', name: 'ban-kind', id: `ban-kind-${value}`, value, checked: value === kind, onchange: () => choose(value) }),
    h('label', { for: `ban-kind-${value}` }, label));
  const form = h('form', { class: 'ban-form', novalidate: true },
    h('fieldset', { class: 'radio-group' }, h('legend', null, 'Ban'),
      option('user', 'A user of another node'), option('node', 'A whole peer node')),
    user.row, peerRow, reason.row, errors, submitButton('Ban'));
  choose('user');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.textContent = '';
    const target = kind === 'user' ? user.input.value.trim() : peerSelect.value;
    if (!target) {
      (kind === 'user' ? user : node).setError(kind === 'user' ? 'Name the user as name@home.' : 'Pin a peer first.');
      return;
    }
    try {
      const ban = await busy(form, () => R.admin.ban({ kind, target, reason: reason.input.value.trim() }));
      notice = `Banned ${ban.label}: ${ban.hidden} of their events hidden here`
        + (ban.removed ? `, ${ban.removed} removed in communities homed here.` : '.');
      announce(notice);
      await view.load('bans');
    } catch (err) {
      showError(err, { target: kind === 'user' ? user : node, reason }, errors);
    }
  });
  section.append(form);
  return section;
}

function listSection(view, bans) {
  const section = h('section', { class: 'dash-section', 'aria-label': 'Bans' }, h('h3', null, 'Bans'));
  if (!bans.length) {
    section.append(h('p', { class: 'muted' }, 'No bans.'));
    return section;
  }
  const errors = banner();
  const remove = async (ban, button) => {
    button.disabled = true;
    try {
      const out = await R.admin.unban(ban.id);
      notice = `Removed the ban of ${ban.label}: ${out.restored} events shown again.`;
      announce(notice);
      await view.load('bans');
    } catch (err) {
      errors.textContent = err.message;
      button.disabled = false;
    }
  };
  section.append(errors, h('table', { class: 'mod-table bans-table' },
    h('thead', null, h('tr', null, h('th', null, 'Banned'), h('th', null, 'Reason'),
      h('th', { title: 'Their events hidden on this node' }, 'Hidden'), h('th', null, h('span', { class: 'sr-only' }, 'Action')))),
    h('tbody', null, bans.map((ban) => {
      const button = h('button', { type: 'button', class: 'btn small', 'aria-label': `Remove the ban of ${ban.label}` }, 'Remove');
      button.addEventListener('click', () => remove(ban, button));
      return h('tr', { dataset: { ban: ban.id, kind: ban.kind } },
        h('td', { class: 'ban-label', title: ban.kind === 'node' ? ban.target : null }, ban.label,
          h('span', { class: 'ban-meta' }, `${ban.kind === 'node' ? 'whole node' : 'user'} · ${formatTime(ban.created_at * 1000)}`)),
        h('td', { class: 'ban-reason' }, ban.reason),
        h('td', { class: 'ban-hidden' }, String(ban.hidden)),
        h('td', null, button));
    }))));
  return section;
}
