// Custom status (issue 26): the text under your name in the user panel (a button that opens "Set a
// status" with how long it lasts), and statusOf(), which the member list and profile cards show.
// It is part of the public profile (PATCH /api/v1/users/@me {status_text, status_until}).

import * as R from '../content.js';
import { announce, h } from '../dom.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';

const { state } = store;
const DURATIONS = [['30 minutes', 30], ['1 hour', 60], ['4 hours', 240], ['Today', 'today'], ['Don’t clear', null]];

/** A profile's status text while it lasts ('' otherwise). */
export function statusOf(u) {
  if (!u || !u.status_text) return '';
  return u.status_until == null || u.status_until > Date.now() ? u.status_text : '';
}

function until(choice) {
  if (choice === 'null') return null;
  if (choice === 'today') { const d = new Date(); d.setHours(23, 59, 59, 0); return d.getTime(); }
  return Date.now() + Number(choice) * 60_000;
}

function setStatus(shell) {
  const mine = statusOf(state.users.get(state.me.id));
  modal('Set a status', (close) => {
    const text = h('input', { id: 'status-text', maxlength: 128, value: mine, placeholder: 'What are you up to?' });
    const lasts = h('select', { id: 'status-until' }, DURATIONS.map(([label, v]) => h('option', { value: String(v) }, label)));
    const error = h('p', { class: 'form-banner', role: 'alert' });
    const save = async (status, statusUntil) => {
      try {
        await R.me.update({ status_text: status, status_until: statusUntil });
        const profile = await R.users.get(state.me.id);
        state.users.set(state.me.id, profile);
        store.emit('users', state.me.id);
        close();
        shell.renderSidebar();
        announce(status ? `Status set: ${status}` : 'Status cleared.');
      } catch (err) {
        error.textContent = err.message;
      }
    };
    const form = h('form', { class: 'modal-body', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'status-text' }, 'Status'), text),
      h('div', { class: 'field' }, h('label', { for: 'status-until' }, 'Clear after'), lasts),
      error,
      h('div', { class: 'modal-actions' },
        mine ? h('button', { type: 'button', class: 'btn', onclick: () => save('', null) }, 'Clear status') : null,
        h('button', { type: 'submit', class: 'btn primary' }, 'Save')));
    form.addEventListener('submit', (e) => { e.preventDefault(); save(text.value.trim(), text.value.trim() ? until(lasts.value) : null); });
    return form;
  });
}

/** The user panel's names: display name, then the status (or @username); a click sets the status. */
export function panelNames(shell, me) {
  const u = store.user(me.id) || state.users.get(me.id);
  const status = statusOf(u);
  return h('button', {
    type: 'button', class: 'user-names', 'data-focus-key': 'status', title: 'Set a status',
    'aria-label': `${me.display_name || me.username}${status ? `, status: ${status}` : ''}. Set a status`,
    onclick: () => setStatus(shell),
  },
  h('span', { class: 'user-display' }, me.display_name || me.username),
  h('span', { class: 'user-tag muted' }, status || `@${me.username}`));
}
