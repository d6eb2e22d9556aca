// Sign-in screens: sign in (with the two-factor prompt), register, verify email, reset password.

import * as api from '../api.js';
import { h } from '../dom.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

function card(title, subtitle, ...body) {
  return h('main', { class: 'auth-page', id: 'main' },
    h('div', { class: 'auth-card' },
      h('div', { class: 'auth-logo', 'aria-hidden': 'true' }, 'C'),
      h('h1', null, title),
      subtitle ? h('p', { class: 'muted' }, subtitle) : null,
      ...body));
}

function link(href, text, navigate) {
  return h('a', { href, onclick: (e) => { e.preventDefault(); navigate(href); } }, text);
}

export function loginView({ navigate, signedIn, notice }) {
  const login = field('Username or email', { name: 'login', autocomplete: 'username', required: true });
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const code = field('Two-factor code', { name: 'totp_code', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 64 },
    'The 6-digit code from your authenticator app, or a recovery code.');
  code.row.hidden = true;
  const errors = banner();
  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-label': 'Sign in' },
    errors, login.row, password.row, code.row, submitButton('Sign in'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      if (!login.input.value || !password.input.value) {
        (login.input.value ? password : login).setError('This field is required.');
        (login.input.value ? password : login).input.focus();
        return;
      }
      try {
        await api.login(login.input.value.trim(), password.input.value, code.row.hidden ? null : code.input.value.trim());
        signedIn();
      } catch (err) {
        if (err.code === 'totp_required') {
          code.row.hidden = false;
          errors.textContent = 'Enter the code from your authenticator app to finish signing in.';
          code.input.focus();
          return;
        }
        showError(err, { login, password, totp_code: code }, errors);
      }
    });
  });
  const view = card('Welcome back!', 'Sign in to your CRYB node.',
    notice ? h('p', { class: 'auth-notice', role: 'status' }, notice) : null,
    form,
    h('p', { class: 'auth-links' }, link('/reset-password', 'Forgot your password?', navigate)),
    h('p', { class: 'auth-links' }, 'Need an account? ', link('/register', 'Register', navigate)));
  queueMicrotask(() => login.input.focus());
  return view;
}

export function registerView({ navigate, signedIn }) {
  const username = field('Username', { name: 'username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32 },
    '3–32 letters, digits or underscores.');
  const email = field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true });
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 },
    'At least 10 characters.');
  const errors = banner();
  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-label': 'Register' },
    errors, username.row, email.row, password.row, submitButton('Create account'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await api.register(username.input.value.trim(), email.input.value.trim(), password.input.value);
        signedIn();
      } catch (err) {
        showError(err, { username, email, password }, errors);
      }
    });
  });
  queueMicrotask(() => username.input.focus());
  return card('Create an account', null, form,
    h('p', { class: 'auth-links' }, 'Already have an account? ', link('/login', 'Sign in', navigate)));
}

export function verifyEmailView({ navigate }) {
  const token = new URLSearchParams(location.search).get('token');
  const status = h('p', { role: 'status' }, token ? 'Checking your link…' : 'This link has no token.');
  if (token) {
    api.api('POST', '/api/v1/auth/verify-email', { token }, { auth: false })
      .then(() => { status.textContent = 'Your email address is verified. Thank you!'; })
      .catch((err) => { status.textContent = err.message; });
  }
  return card('Verify email', null, status, h('p', { class: 'auth-links' }, link('/', 'Continue to CRYB', navigate)));
}

export function resetPasswordView({ navigate }) {
  const token = new URLSearchParams(location.search).get('token');
  const errors = banner();
  if (!token) {
    const email = field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true });
    const done = h('p', { role: 'status' });
    const form = h('form', { class: 'auth-form', novalidate: true, 'aria-label': 'Request a reset link' },
      errors, email.row, submitButton('Send reset link'), done);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        try {
          await api.api('POST', '/api/v1/auth/password-reset', { email: email.input.value.trim() }, { auth: false });
          done.textContent = 'If that address belongs to an account, a reset link is on its way.';
        } catch (err) {
          showError(err, { email }, errors);
        }
      });
    });
    queueMicrotask(() => email.input.focus());
    return card('Reset your password', 'We will email you a link.', form,
      h('p', { class: 'auth-links' }, link('/login', 'Back to sign in', navigate)));
  }
  const password = field('New password', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 },
    'At least 10 characters.');
  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-label': 'Choose a new password' },
    errors, password.row, submitButton('Change password'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await api.api('POST', '/api/v1/auth/password-reset/confirm', { token, new_password: password.input.value }, { auth: false });
        navigate('/login');
      } catch (err) {
        showError(err, { new_password: password, token: password }, errors);
      }
    });
  });
  queueMicrotask(() => password.input.focus());
  return card('Choose a new password', null, form);
}
