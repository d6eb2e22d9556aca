// Sign-in screens: sign in (with the two-factor prompt), register, verify email, reset password.

import * as api from '../api.js';
import * as R from '../content.js';
import { h, replace } from '../dom.js';
import { solve } from '../pow.js';
import { banner, busy, field, showError, submitButton } from './forms.js';
import { inviteDeadReason } from './invite_state.js';
import { oauthButtons } from './oauth_buttons.js';

function cardContent(title, subtitle, body) {
  return [
    h('div', { class: 'auth-logo', 'aria-hidden': 'true' }, 'C'),
    h('h1', null, title),
    subtitle ? h('p', { class: 'muted' }, subtitle) : null,
    ...body,
  ];
}

function card(title, subtitle, ...body) {
  return h('main', { class: 'auth-page', id: 'main' }, h('div', { class: 'auth-card' }, cardContent(title, subtitle, body)));
}

/** Show other content in a card made by card(). */
function fillCard(view, title, subtitle, ...body) {
  replace(view.firstChild, cardContent(title, subtitle, body));
}

function link(href, text, navigate) {
  return h('a', { href, onclick: (e) => { e.preventDefault(); navigate(href); } }, text);
}

/** Who sent a visitor here: "You have been invited to join X" above the sign-in and sign-up forms
 *  of a visitor who opened an invite link signed out; after either, the invite page opens. */
function invitedTo(returnTo) {
  const code = arrivingInvite(returnTo);
  const note = h('p', { class: 'auth-notice invited', role: 'status', hidden: true });
  if (code) {
    R.communities.invite(code).then((inv) => {
      if (inviteDeadReason(inv)) return;
      replace(note, 'You have been invited to join ', h('strong', null, inv.community_name), '. Sign in or create an account to accept.');
      note.hidden = false;
    }).catch(() => {}); // an unknown invite says so on its own page
  }
  return note;
}

export function loginView({ navigate, signedIn, notice, returnTo }) {
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
    invitedTo(returnTo),
    form,
    oauthButtons(),
    h('p', { class: 'auth-links' }, link('/reset-password', 'Forgot your password?', navigate)),
    h('p', { class: 'auth-links' }, 'Need an account? ', link('/register', 'Register', navigate)));
  queueMicrotask(() => login.input.focus());
  return view;
}

/** The invite code a visitor arrived with: /register?invite=CODE, or the /invite/CODE page they
 *  were sent to sign in from. */
function arrivingInvite(returnTo) {
  const fromQuery = new URLSearchParams(location.search).get('invite');
  if (fromQuery) return fromQuery;
  const m = /^\/invite\/([^/?#]+)/.exec((returnTo && returnTo()) || '');
  return m ? decodeURIComponent(m[1]) : '';
}

const rulesOf = () => R.auth.registration();

/** The sign-up page follows the node's registration mode (GET /api/v1/auth/registration): open, invite
 *  (an invite code or token is required), approval (the node's question is answered, then the account
 *  waits for an admin), closed (no form). A hidden honeypot field catches form-filling bots, and when
 *  the node asks for proof of work the browser solves it (pow.js) before the form is sent. */
export function registerView({ navigate, signedIn, returnTo }) {
  const view = card('Create an account', null, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const signInLink = () => h('p', { class: 'auth-links' }, 'Already have an account? ', link('/login', 'Sign in', navigate));
  rulesOf().then((rules) => {
    if (rules.mode === 'closed') {
      fillCard(view, 'Sign-ups are closed', null,
        h('p', { class: 'signup-closed', role: 'status' }, 'Sign-ups are closed on this node. A node admin can create an account for you.'),
        signInLink());
      return;
    }
    fillCard(view, rules.mode === 'approval' ? 'Apply for an account' : 'Create an account',
      rules.mode === 'approval' ? 'A node admin reads each application before the account opens.' : null,
      invitedTo(returnTo), signupForm(view, rules, { navigate, signedIn, returnTo }), signInLink());
  }).catch((err) => fillCard(view, 'Create an account', null, h('p', { role: 'alert' }, err.message), signInLink()));
  return view;
}

function signupForm(view, rules, { navigate, signedIn, returnTo }) {
  const username = field('Username', { name: 'username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32 },
    '3–32 letters, digits or underscores.');
  const email = field('Email', { name: 'email', type: 'email', autocomplete: 'email', required: true });
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 },
    'At least 10 characters.');
  const invite = rules.mode === 'invite'
    ? field('Invite code or token', { name: 'invite', autocomplete: 'off', required: true, maxlength: 200, value: arrivingInvite(returnTo) },
      'From your invite link, or a registration token from a node admin.')
    : null;
  const answer = rules.mode === 'approval'
    ? field(rules.question, { name: 'answer', multiline: true, rows: 4, required: true, maxlength: 2000 },
      'Your answer goes to the node admins with your application.')
    : null;
  answer?.row.classList.add('question-field');
  // Hidden from people (off screen, out of the tab order and the accessibility tree): only a bot
  // filling in every field it finds puts something here.
  const trap = h('input', { id: 'signup-website', name: 'website', type: 'text', tabindex: '-1', autocomplete: 'off' });
  const honeypot = h('div', { class: 'hp-field', 'aria-hidden': 'true' }, h('label', { for: 'signup-website' }, 'Website'), trap);
  const check = h('p', { class: 'pow-status muted', role: 'status', 'aria-live': 'polite' });
  const errors = banner();
  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-label': rules.mode === 'approval' ? 'Apply' : 'Register' },
    errors, username.row, email.row, password.row, invite && invite.row, answer && answer.row, honeypot, check,
    submitButton(rules.mode === 'approval' ? 'Send application' : 'Create account'));

  // Proof of work: started as soon as the page shows, so it is usually done before the form is.
  // A challenge works once: after a try, the next one solves a fresh challenge.
  let proof = null;
  const prove = (pow) => {
    check.textContent = 'Checking your browser…';
    check.dataset.state = 'checking';
    proof = solve(pow.challenge, pow.bits).then((nonce) => {
      check.textContent = 'Browser checked.';
      check.dataset.state = 'done';
      return { challenge: pow.challenge, nonce };
    });
    proof.catch(() => {});
  };
  if (rules.pow) prove(rules.pow);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const body = { username: username.input.value.trim(), email: email.input.value.trim(), password: password.input.value };
      if (trap.value) body.website = trap.value;
      if (invite) body.invite = invite.input.value.trim();
      if (answer) body.answer = answer.input.value.trim();
      try {
        if (proof) {
          body.pow = await proof;
          proof = null;
        }
        const reg = await api.register(body);
        if (reg.status === 'pending') {
          fillCard(view, 'Application sent', null,
            h('p', { class: 'signup-pending', role: 'status' },
              `Your application is waiting for approval. We will email ${body.email} when a node admin has decided.`),
            h('p', { class: 'auth-links' }, link('/login', 'Back to sign in', navigate)));
          return;
        }
        signedIn();
      } catch (err) {
        showError(err, { username, email, password, invite, answer, pow: null }, errors);
      } finally {
        if (!proof && rules.pow && form.isConnected) rulesOf().then((fresh) => fresh.pow && prove(fresh.pow)).catch(() => {});
      }
    });
  });
  queueMicrotask(() => username.input.focus());
  return form;
}

export function verifyEmailView({ navigate }) {
  const token = new URLSearchParams(location.search).get('token');
  const status = h('p', { role: 'status' }, token ? 'Checking your link…' : 'This link has no token.');
  if (token) {
    R.auth.verifyEmail({ token })
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
          await R.auth.passwordReset({ email: email.input.value.trim() });
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
        await R.auth.passwordResetConfirm({ token, new_password: password.input.value });
        navigate('/login');
      } catch (err) {
        showError(err, { new_password: password, token: password }, errors);
      }
    });
  });
  queueMicrotask(() => password.input.focus());
  return card('Choose a new password', null, form);
}
