// First run: the one-time link the node printed at start (/setup#token=...) creates the admin.

import * as api from '../api.js';
import { h } from '../dom.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

export function setupView({ signedIn }) {
  // The token travels in the fragment, so it never reaches logs or Referer headers.
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  const username = field('Admin username', { name: 'username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32 });
  const email = field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true });
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 },
    'At least 10 characters.');
  const errors = banner();
  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-label': 'Create the admin account' },
    errors, username.row, email.row, password.row, submitButton('Create admin account'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await api.setupAdmin(token, username.input.value.trim(), email.input.value.trim(), password.input.value);
        history.replaceState({}, '', '/');
        signedIn();
      } catch (err) {
        showError(err, { username, email, password }, errors);
        if (err.code === 'setup_unavailable') errors.textContent = 'This setup link was already used or is not valid. Sign in instead, or run `cryb user create NAME --email E --admin`.';
      }
    });
  });
  queueMicrotask(() => username.input.focus());
  return h('main', { class: 'auth-page', id: 'main' },
    h('div', { class: 'auth-card' },
      h('div', { class: 'auth-logo', 'aria-hidden': 'true' }, 'C'),
      h('h1', null, 'Set up your node'),
      h('p', { class: 'muted' }, 'Create the account that administers this CRYB node.'),
      form));
}
