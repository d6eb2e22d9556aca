// The node admin console's Users tab: find accounts (name, exact email, id; status and admin
// filters; newest first, more on demand), open one to see its sessions, what it wrote and its
// audit trail, and act on it. Every action is a call to /api/v1/admin/users (what `cryb user` does
// too); purge and erase ask for the username to be typed, as the API requires.

import * as R from '../../content.js';
import { announce, formatTime, h, replace } from '../../dom.js';
import * as store from '../../store.js';
import { confirmDialog, modal } from '../dialogs.js';
import { banner } from '../forms.js';

const STATUS_LABEL = { active: 'active', disabled: 'disabled', deactivated: 'deactivated', deleted: 'erased' };

const label = (u) => u.display_name || u.username;
const when = (s) => (s ? formatTime(s * 1000) : 'never');

export async function render() {
  const names = new Map(); // id -> display label, for audit actors
  const me = store.state.me;
  if (me) names.set(me.id, label(me));
  let after = null;

  const query = h('input', { type: 'search', name: 'q', 'aria-label': 'Search users', placeholder: 'Name, exact email or id', autocomplete: 'off' });
  const status = h('select', { name: 'status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'Any status'),
    Object.entries(STATUS_LABEL).map(([value, text]) => h('option', { value }, text[0].toUpperCase() + text.slice(1))));
  const adminsOnly = h('input', { type: 'checkbox', id: 'users-admins-only' });
  const form = h('form', { class: 'user-search', role: 'search', 'aria-label': 'Find users' },
    query, status,
    h('span', { class: 'check' }, adminsOnly, h('label', { for: 'users-admins-only' }, 'Admins only')),
    h('button', { type: 'submit', class: 'btn small primary' }, 'Search'));
  const rows = h('tbody');
  const more = h('button', { type: 'button', class: 'btn small', hidden: true, onclick: () => load(true) }, 'Load more');
  const listStatus = h('p', { class: 'muted', role: 'status' });
  const detail = h('section', { class: 'user-detail', 'aria-label': 'Account', hidden: true });

  const params = () => ({ q: query.value.trim(), status: status.value, admin: adminsOnly.checked ? 'true' : '', limit: 50 });

  async function load(next = false) {
    try {
      const page = await R.admin.users({ ...params(), after: next ? after : '' });
      if (!next) replace(rows);
      for (const u of page.users) {
        names.set(u.id, label(u));
        rows.append(row(u));
      }
      after = page.next_after;
      more.hidden = !after;
      listStatus.textContent = rows.children.length ? `${rows.children.length} account${rows.children.length === 1 ? '' : 's'} shown` : 'No accounts match.';
    } catch (err) {
      listStatus.textContent = '';
      replace(rows, h('tr', null, h('td', { colspan: 6, role: 'alert' }, err.message)));
    }
  }

  function row(u) {
    return h('tr', { dataset: { user: u.id }, class: u.status === 'active' ? '' : 'inactive' },
      h('td', null,
        h('button', { type: 'button', class: 'btn link user-open', onclick: () => open(u.id) }, label(u)),
        h('span', { class: 'muted user-handle' }, `@${u.username}`)),
      h('td', { class: 'user-email' }, u.email || '—'),
      h('td', { class: 'user-created' }, formatTime(u.created_at * 1000)),
      h('td', { class: 'user-seen' }, when(u.last_seen_at)),
      h('td', null, h('span', { class: `flag user-status status-${u.status}` }, STATUS_LABEL[u.status] || u.status)),
      h('td', { class: 'user-admin' }, u.admin ? 'admin' : ''));
  }

  /** Show one account's new state in the panel and in its row (the detail is a superset of a row). */
  async function refresh(id) {
    const fresh = await open(id, false);
    const old = rows.querySelector(`tr[data-user="${CSS.escape(id)}"]`);
    if (old && fresh) old.replaceWith(row(fresh));
  }

  async function nameOf(id) {
    if (!names.has(id)) {
      const page = await R.admin.users({ q: id, status: '' }).catch(() => null);
      const u = page?.users.find((x) => x.id === id);
      names.set(id, u ? label(u) : store.displayName(id));
    }
    return names.get(id);
  }

  async function open(id, focus = true) {
    detail.hidden = false;
    let u;
    try {
      u = await R.admin.user(id);
    } catch (err) {
      replace(detail, h('p', { role: 'alert' }, err.message));
      return null;
    }
    names.set(u.id, label(u));
    const errors = banner();
    const act = (text, cls, run) => h('button', { type: 'button', class: `btn small ${cls}`, onclick: () => run().catch((err) => { errors.textContent = err.message; }) }, text);
    const done = async (message) => {
      announce(message);
      await refresh(u.id);
      detail.querySelector('.user-result').textContent = message;
    };
    const gone = u.status === 'deleted';
    const actions = gone ? h('p', { class: 'muted' }, 'This account was erased; nothing is left to act on.') : h('div', { class: 'user-actions' },
      u.status === 'active'
        ? act('Disable', 'danger', async () => {
          if (!await confirmDialog(`Disable ${label(u)}?`, `@${u.username} is signed out everywhere at once and cannot sign in until enabled again.`, 'Disable')) return;
          await R.admin.updateUser(u.id, { status: 'disabled' });
          await done(`${label(u)} is disabled.`);
        })
        : act('Enable', 'primary', async () => {
          await R.admin.updateUser(u.id, { status: 'active' });
          await done(`${label(u)} can sign in again.`);
        }),
      u.admin
        ? act('Remove admin', '', async () => {
          if (!await confirmDialog(`Remove ${label(u)} as node admin?`, 'They keep their account but lose this console.', 'Remove admin')) return;
          await R.admin.updateUser(u.id, { admin: false });
          await done(`${label(u)} is no longer a node admin.`);
        })
        : act('Make admin', '', async () => {
          if (!await confirmDialog(`Make ${label(u)} a node admin?`, 'Node admins can act on every account, including yours.', 'Make admin')) return;
          await R.admin.updateUser(u.id, { admin: true });
          await done(`${label(u)} is a node admin.`);
        }),
      act('Sign out everywhere', '', async () => {
        if (!await confirmDialog(`Sign ${label(u)} out everywhere?`, 'Every session on every device ends; they can sign in again.', 'Sign out')) return;
        const out = await R.admin.signOutUser(u.id);
        await done(`${out.sessions} session${out.sessions === 1 ? '' : 's'} of ${label(u)} ended.`);
      }),
      act('Delete their content…', 'danger', async () => {
        const out = await typedConfirm(`Delete everything ${label(u)} wrote?`,
          'Every message, post, comment and direct message they wrote is deleted on every node, for good. The account stays and can sign in.',
          u.username, 'Delete content', (confirm) => R.admin.purgeUserContent(u.id, { confirm }));
        if (out) await done(`${out.removed} item${out.removed === 1 ? '' : 's'} by ${label(u)} deleted.`);
      }),
      act('Erase account…', 'danger', async () => {
        const out = await typedConfirm(`Erase ${label(u)}?`,
          'The account, its profile and everything it wrote are erased on every node, for good.',
          u.username, 'Erase account', (confirm) => R.admin.eraseUser(u.id, { confirm }).then(() => ({})));
        if (out) await done(`${label(u)} was erased.`);
      }));
    const w = u.written;
    const audit = h('ol', { class: 'user-audit' });
    replace(detail,
      h('header', { class: 'user-detail-head' },
        h('h3', { tabindex: '-1' }, label(u)),
        h('span', { class: 'muted' }, ` @${u.username}`),
        h('span', { class: `flag user-status status-${u.status}` }, STATUS_LABEL[u.status] || u.status),
        u.admin ? h('span', { class: 'flag' }, 'node admin') : null,
        u.totp_enabled ? h('span', { class: 'flag' }, '2FA') : null,
        h('button', { type: 'button', class: 'btn small user-close', onclick: () => { detail.hidden = true; } }, 'Close')),
      h('dl', { class: 'user-facts' },
        h('dt', null, 'Email'), h('dd', null, u.email ? `${u.email}${u.email_verified ? '' : ' (not verified)'}` : '—'),
        h('dt', null, 'Created'), h('dd', null, formatTime(u.created_at * 1000)),
        h('dt', null, 'Last seen'), h('dd', null, when(u.last_seen_at)),
        h('dt', null, 'Signed in'), h('dd', null, `${u.sessions} session${u.sessions === 1 ? '' : 's'}`),
        w ? [h('dt', null, 'Wrote'), h('dd', { class: 'user-wrote' }, `${w.messages} messages, ${w.posts} posts, ${w.comments} comments`)] : null),
      errors, h('p', { class: 'user-result', role: 'status' }), actions,
      h('h4', null, 'Recent activity'), audit);
    replace(audit, ...(await Promise.all(u.audit.map(async (e) => h('li', null,
      h('span', { class: 'muted' }, formatTime(e.at)), ' ', h('code', null, e.action),
      e.actor_id && e.actor_id !== u.id ? ` by ${await nameOf(e.actor_id)}` : '')))));
    if (!u.audit.length) audit.append(h('li', { class: 'muted' }, 'Nothing recorded yet.'));
    if (focus) {
      detail.scrollIntoView({ block: 'start' });
      detail.querySelector('h3').focus();
    }
    return u;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    detail.hidden = true;
    load();
  });
  status.addEventListener('change', () => load());
  adminsOnly.addEventListener('change', () => load());
  await load();
  return h('section', { class: 'dash-section admin-users', 'aria-label': 'Users' },
    h('h3', null, 'Users'), form, detail,
    h('table', { class: 'mod-table users-table' },
      h('thead', null, h('tr', null, ['Name', 'Email', 'Created', 'Last seen', 'Status', 'Admin'].map((t) => h('th', { class: `col-${t.toLowerCase().replace(' ', '-')}` }, t)))),
      rows),
    listStatus, more);
}

/** A destructive action's dialog: the button works only once the username is typed. Resolves with
 * what `run(typed)` returned, or null when cancelled. */
function typedConfirm(title, text, username, action, run) {
  return new Promise((resolve) => {
    let result = null;
    const { dialog } = modal(title, (close) => {
      const id = `confirm-${Math.random().toString(36).slice(2)}`;
      const input = h('input', { id, autocomplete: 'off', spellcheck: 'false' });
      const errors = banner();
      const go = h('button', { type: 'submit', class: 'btn danger', disabled: true }, action);
      input.addEventListener('input', () => { go.disabled = input.value.trim().toLowerCase() !== username.toLowerCase(); });
      const form = h('form', { class: 'modal-body', novalidate: true },
        h('p', null, text),
        h('div', { class: 'field' }, h('label', { for: id }, `Type ${username} to confirm`), input),
        errors,
        h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'), go));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        if (go.disabled) return;
        go.disabled = true;
        try {
          result = await run(input.value.trim());
          close();
        } catch (err) {
          errors.textContent = err.message;
          go.disabled = false;
        }
      });
      return form;
    });
    dialog.addEventListener('close', () => resolve(result));
  });
}
