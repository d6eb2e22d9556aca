// The node admin's Sign-ups tab: how the node takes sign-ups, applications waiting for approval
// (approve or reject, with the applicant's answer shown), registration tokens (create, copy once,
// revoke) and creating an account directly (the way in when sign-ups are closed). The same
// functions as `cryb user approve|reject`, `cryb token create|list|revoke` and `cryb user create`.

import * as R from '../../content.js';
import { announce, formatTime, h, replace } from '../../dom.js';
import { banner, busy, field, showError, submitButton } from '../forms.js';

const MODES = {
  open: 'Open: anyone can create an account.',
  invite: 'Invite only: a community invite code of this node or a registration token is needed.',
  approval: 'Approval: each application waits here for a node admin.',
  closed: 'Closed: only node admins create accounts (below, or with “cryb user create”).',
};
const EXPIRY = [['', 'Never'], ['86400', '1 day'], ['604800', '7 days'], ['2592000', '30 days']];

export async function render(view) {
  const [rules, apps, tokens] = await Promise.all([
    R.auth.registration(),
    R.admin.applications(),
    R.admin.registrationTokens(),
  ]);
  return h('div', { class: 'signups' },
    h('section', { class: 'dash-section', 'aria-label': 'Registration mode' },
      h('h3', null, 'Registration'),
      h('p', { class: 'signup-mode' }, h('span', { class: 'flag' }, rules.mode), ' ', MODES[rules.mode]),
      h('p', { class: 'muted' }, 'Set [plugin.users] registration in cryb.toml to open, invite, approval or closed.')),
    applications(view, apps),
    tokenSection(view, tokens.tokens),
    createAccount());
}

function applications(view, list) {
  const section = h('section', { class: 'dash-section', 'aria-label': 'Applications' },
    h('h3', null, `Applications waiting (${list.applications.length})`));
  if (!list.applications.length) {
    section.append(h('p', { class: 'muted' }, 'No applications are waiting.'));
    return section;
  }
  for (const app of list.applications) section.append(applicationCard(view, list.question, app));
  return section;
}

function applicationCard(view, question, app) {
  const note = h('input', { 'aria-label': `Note to ${app.username} (optional, sent with a rejection)`, maxlength: 500, placeholder: 'Note to the applicant (optional)' });
  const errors = banner();
  const decide = (verb) => async (e) => {
    const buttons = e.target.closest('.application').querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const body = verb === 'reject' ? { reason: note.value.trim() } : undefined;
      const out = await R.admin.decideApplication(app.user_id, verb, body);
      announce(`${app.username} ${verb === 'approve' ? 'approved' : 'rejected'}${out.mailed ? ' and mailed' : ''}.`);
      view.load('signups');
    } catch (err) {
      errors.textContent = err.message;
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  return h('article', { class: 'application report', dataset: { user: app.user_id }, 'aria-label': `Application from ${app.username}` },
    h('p', { class: 'application-who' },
      h('strong', null, app.display_name || app.username), ` @${app.username} · `,
      app.email || 'no address', app.email_verified ? ' (verified)' : ' (not verified)',
      h('span', { class: 'muted' }, ` · applied ${formatTime(app.created_at * 1000)}`)),
    h('p', { class: 'muted application-question' }, question),
    h('blockquote', { class: 'report-excerpt application-answer' }, app.answer),
    errors,
    h('div', { class: 'inline-form application-actions' },
      h('button', { type: 'button', class: 'btn primary small', onclick: decide('approve') }, 'Approve'),
      note,
      h('button', { type: 'button', class: 'btn danger small', onclick: decide('reject') }, 'Reject')));
}

function tokenSection(view, tokens) {
  const uses = field('Uses', { name: 'uses', type: 'number', inputmode: 'numeric', placeholder: 'no limit' }, 'Sign-ups it admits; empty for no limit.');
  uses.input.min = '1';
  const expiresId = 'token-expires';
  const expires = h('select', { id: expiresId, name: 'expires' }, EXPIRY.map(([v, label]) => h('option', { value: v }, label)));
  const made = h('div', { class: 'token-made' });
  const errors = banner();
  const form = h('form', { class: 'inline-form token-form', 'aria-label': 'Create a registration token' },
    errors, uses.row, h('div', { class: 'field' }, h('label', { for: expiresId }, 'Expires'), expires), submitButton('Create token'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const body = {};
      if (uses.input.value) body.uses = Number(uses.input.value);
      if (expires.value) body.expires_in_s = Number(expires.value);
      try {
        const token = await R.admin.createRegistrationToken(body);
        showMade(made, token);
        replace(table, tokenRows(view, [token, ...tokens]));
        tokens = [token, ...tokens];
      } catch (err) {
        showError(err, { uses }, errors);
      }
    });
  });
  const table = h('tbody', null, tokenRows(view, tokens));
  return h('section', { class: 'dash-section', 'aria-label': 'Registration tokens' },
    h('h3', null, 'Registration tokens'),
    h('p', { class: 'muted' }, 'A token lets someone sign up when registration is invite only. It is shown once, when it is made.'),
    form, made,
    h('table', { class: 'mod-table tokens-table' },
      h('thead', null, h('tr', null, ['Token', 'State', 'Uses', 'Expires', 'Created', ''].map((t) => h('th', null, t)))),
      table));
}

function showMade(box, token) {
  const input = h('input', { id: 'new-token', readonly: true, value: token.token, 'aria-describedby': 'new-token-note' });
  const copy = h('button', {
    type: 'button', class: 'btn primary',
    onclick: async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(token.token);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Press Ctrl+C';
      }
      announce('Token copied.');
    },
  }, 'Copy');
  replace(box,
    h('label', { for: 'new-token' }, 'New registration token'),
    h('div', { class: 'copy-row' }, input, copy),
    h('p', { id: 'new-token-note', class: 'muted' }, 'Copy it now: only its first characters are kept for the list below.'));
  input.focus();
  input.select();
}

function tokenRows(view, tokens) {
  if (!tokens.length) return h('tr', null, h('td', { colspan: 6, class: 'muted' }, 'No tokens yet.'));
  return tokens.map((t) => h('tr', { dataset: { token: t.id } },
    h('td', null, h('code', null, `${t.hint}…`)),
    h('td', null, h('span', { class: `flag token-${t.state}` }, t.state.replace('_', ' '))),
    h('td', null, t.max_uses == null ? `${t.uses} / no limit` : `${t.uses} / ${t.max_uses}`),
    h('td', null, t.expires_at ? formatTime(t.expires_at * 1000) : 'never'),
    h('td', null, formatTime(t.created_at * 1000)),
    h('td', null, t.state === 'active' ? h('button', {
      type: 'button', class: 'btn danger small', 'aria-label': `Revoke token ${t.hint}…`,
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await R.admin.revokeRegistrationToken(t.id);
          announce('Token revoked.');
          view.load('signups');
        } catch (err) {
          e.target.disabled = false;
          announce(err.message);
        }
      },
    }, 'Revoke') : '')));
}

function createAccount() {
  const username = field('Username', { name: 'username', autocomplete: 'off', required: true, minlength: 3, maxlength: 32 });
  const email = field('Email', { name: 'email', type: 'email', autocomplete: 'off', required: true });
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 },
    'At least 10 characters; tell it to the person, who can change it in Settings.');
  const errors = banner();
  const done = h('p', { role: 'status', class: 'account-made' });
  const form = h('form', { class: 'create-account-form', 'aria-label': 'Create an account', novalidate: true },
    errors, username.row, email.row, password.row, submitButton('Create account'), done);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const acct = await R.admin.createUser({
          username: username.input.value.trim(), email: email.input.value.trim(), password: password.input.value,
        });
        done.textContent = `Created ${acct.username}. They can sign in now.`;
        form.reset();
      } catch (err) {
        showError(err, { username, email, password }, errors);
      }
    });
  });
  return h('section', { class: 'dash-section', 'aria-label': 'Create an account' },
    h('h3', null, 'Create an account'),
    h('p', { class: 'muted' }, 'Works in every registration mode; the address counts as verified.'),
    form);
}
