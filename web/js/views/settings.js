// User settings: profile, password, signed-in sessions (revoke), two-factor sign-in, appearance, and
// the member's own data (download a copy, delete the account: settings_data.js).

import * as api from '../api.js';
import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';
import { applyTheme, savedTheme } from '../theme.js';
import { botsTab, tokensTab } from './bots.js';
import { modal } from './dialogs.js';
import { banner, busy, field, showError, submitButton } from './forms.js';
import { blockedTab } from './friends.js';
import { dataTab, deleteTab } from './settings_data.js';
import { totpQr } from './totp_qr.js';

const { state } = store;

export function openSettings(shell) {
  // On a phone the gear sits in the channel drawer: the drawer closes rather than stay open behind.
  shell.el?.classList.remove('drawer-open', 'members-open');
  const tabs = [
    ['Profile', profileTab],
    ['Password', passwordTab],
    ['Sessions', sessionsTab],
    ['Two-factor', twoFactorTab],
    ['Blocked users', blockedTab],
    ['API tokens', tokensTab],
    ['Bots', botsTab],
    ['Appearance', appearanceTab],
    ['Your data', dataTab],
    ['Delete account', deleteTab],
  ];
  modal('User settings', (close) => {
    const panel = h('div', { class: 'settings-panel', role: 'tabpanel', tabindex: '0' });
    const tablist = h('div', { class: 'settings-tabs', role: 'tablist', 'aria-label': 'Settings sections', 'aria-orientation': 'vertical' });
    const select = (i, focus) => {
      [...tablist.children].forEach((tab, j) => {
        tab.setAttribute('aria-selected', String(i === j));
        tab.setAttribute('tabindex', i === j ? '0' : '-1');
      });
      panel.setAttribute('aria-labelledby', `settings-tab-${i}`);
      replace(panel, tabs[i][1](shell));
      if (focus) tablist.children[i].focus();
    };
    tabs.forEach(([name], i) => tablist.appendChild(h('button', {
      type: 'button', role: 'tab', id: `settings-tab-${i}`, class: 'settings-tab', onclick: () => select(i, false),
    }, name)));
    tablist.addEventListener('keydown', (e) => {
      const i = [...tablist.children].indexOf(document.activeElement);
      const n = tabs.length;
      const next = { ArrowDown: (i + 1) % n, ArrowRight: (i + 1) % n, ArrowUp: (i + n - 1) % n, ArrowLeft: (i + n - 1) % n, Home: 0, End: n - 1 }[e.key];
      if (next !== undefined) {
        e.preventDefault();
        select(next, true);
      }
    });
    select(0, false);
    const signOut = h('button', { type: 'button', class: 'btn danger', onclick: async () => { close(); await api.logout().catch(() => {}); shell.signedOut(); } }, 'Sign out');
    return h('div', { class: 'settings' }, h('div', { class: 'settings-side' }, tablist, signOut), panel);
  }, { className: 'settings-modal' });
}

function section(title, ...body) {
  return h('section', { class: 'settings-section' }, h('h3', null, title), ...body);
}

function profileTab() {
  const me = state.me;
  const display = field('Display name', { name: 'display_name', maxlength: 64, value: me.display_name });
  const pronouns = field('Pronouns', { name: 'pronouns', maxlength: 40, value: me.pronouns });
  const bio = field('About me', { name: 'bio', maxlength: 1000, multiline: true, rows: 3, value: me.bio });
  const errors = banner();
  const done = h('p', { role: 'status', class: 'muted' });
  const form = h('form', { novalidate: true }, errors, display.row, pronouns.row, bio.row, submitButton('Save profile'), done);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        state.me = await R.me.update({ display_name: display.input.value.trim(), pronouns: pronouns.input.value.trim(), bio: bio.input.value });
        state.users.set(state.me.id, state.me);
        store.emit('users', state.me.id);
        done.textContent = 'Profile saved.';
      } catch (err) {
        showError(err, { display_name: display, pronouns, bio }, errors);
      }
    });
  });
  return section('Profile',
    h('p', { class: 'muted' }, `Signed in as @${me.username}${me.email ? ` · ${me.email}${me.email_verified ? ' (verified)' : ' (not verified)'}` : ''}`),
    me.email && !me.email_verified ? h('button', {
      type: 'button', class: 'btn small',
      onclick: async (e) => {
        try {
          await R.me.verifyEmail();
          e.currentTarget.textContent = 'Verification email sent';
        } catch (err) {
          announce(err.message);
        }
      },
    }, 'Send verification email') : null,
    form);
}

function passwordTab() {
  const current = field('Current password', { name: 'current_password', type: 'password', autocomplete: 'current-password', required: true });
  const next = field('New password', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 }, 'At least 10 characters.');
  const errors = banner();
  const done = h('p', { role: 'status', class: 'muted' });
  const form = h('form', { novalidate: true }, errors, current.row, next.row, submitButton('Change password'), done);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        await R.me.changePassword({ current_password: current.input.value, new_password: next.input.value });
        current.input.value = '';
        next.input.value = '';
        done.textContent = 'Password changed. Your other sessions were signed out.';
      } catch (err) {
        showError(err, { current_password: current, new_password: next, password: current }, errors);
      }
    });
  });
  return section('Change password', form);
}

function sessionsTab() {
  const list = h('ul', { class: 'session-list' }, h('li', { class: 'muted', role: 'status' }, 'Loading…'));
  const load = () => R.me.sessions().then((data) => {
    replace(list, data.sessions.map((s) => h('li', { class: 'session' },
      h('div', null,
        h('strong', null, s.user_agent ? describeAgent(s.user_agent) : 'Unknown device'),
        s.current ? h('span', { class: 'tag' }, 'This device') : null,
        h('p', { class: 'muted' }, `Signed in ${formatTime(s.created_at * 1000)} · last active ${formatTime(s.last_used_at * 1000)}`)),
      s.current ? null : h('button', {
        type: 'button', class: 'btn small danger', 'aria-label': `Sign out ${describeAgent(s.user_agent)} session from ${formatTime(s.created_at * 1000)}`,
        onclick: async () => {
          try {
            await R.me.endSession(s.id);
            announce('Session signed out.');
            await load();
            list.querySelector('button')?.focus() || list.focus();
          } catch (err) {
            announce(err.message);
          }
        },
      }, 'Sign out'))));
  }).catch((err) => replace(list, h('li', { role: 'alert' }, err.message)));
  load();
  return section('Where you are signed in', list);
}

function describeAgent(ua) {
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom(e|ium)\//.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

function twoFactorTab() {
  const box = h('div');
  const render = () => {
    if (state.me.totp_enabled) {
      const password = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password' });
      const code = field('Current code', { name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric' });
      const errors = banner();
      const form = h('form', { novalidate: true }, errors, password.row, code.row, h('button', { type: 'submit', class: 'btn danger' }, 'Turn off two-factor sign-in'));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        busy(form, async () => {
          try {
            await R.me.totpDisable({ password: password.input.value, code: code.input.value.trim() });
            state.me.totp_enabled = false;
            announce('Two-factor sign-in is off.');
            render();
          } catch (err) {
            showError(err, { password, code }, errors);
          }
        });
      });
      replace(box, h('p', null, 'Two-factor sign-in is on.'), form);
      return;
    }
    const password = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password' });
    const errors = banner();
    const form = h('form', { novalidate: true }, errors, password.row, submitButton('Set up an authenticator app'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        try {
          const enrolment = await R.me.totpEnrol({ password: password.input.value });
          confirmStep(enrolment);
        } catch (err) {
          showError(err, { password }, errors);
        }
      });
    });
    replace(box, h('p', { class: 'muted' }, 'Protect your account with a code from an authenticator app when you sign in.'), form);
  };
  const confirmStep = (enrolment) => {
    const code = field('Code from the app', { name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric' });
    const errors = banner();
    const form = h('form', { novalidate: true }, errors, code.row, submitButton('Turn on'));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        try {
          const result = await R.me.totpConfirm({ code: code.input.value.trim() });
          state.me.totp_enabled = true;
          const heading = h('h4', { tabindex: '-1' }, 'Save your recovery codes');
          replace(box, h('p', null, 'Two-factor sign-in is on.'), heading,
            h('p', { class: 'muted' }, 'Each works once if you lose your device. They will not be shown again.'),
            h('ul', { class: 'codes' }, result.recovery_codes.map((c) => h('li', null, h('code', null, c)))));
          heading.focus();
        } catch (err) {
          showError(err, { code }, errors);
        }
      });
    });
    replace(box,
      totpQr(enrolment),
      h('p', null, 'Add this key to your authenticator app (type it in, or open the link on your phone):'),
      h('p', null, h('code', { class: 'secret' }, enrolment.secret)),
      h('p', null, h('a', { href: enrolment.otpauth_uri }, 'Open in authenticator app')),
      form);
    code.input.focus();
  };
  render();
  return section('Two-factor sign-in', box);
}

function appearanceTab() {
  const current = savedTheme();
  const option = (value, label) => h('div', { class: 'check' },
    h('input', { type: 'radio', name: 'theme', id: `theme-${value}`, value, checked: current === value, onchange: () => applyTheme(value) }),
    h('label', { for: `theme-${value}` }, label));
  return section('Theme', h('fieldset', { class: 'radio-group' },
    h('legend', { class: 'sr-only' }, 'Theme'),
    option('system', 'Same as my system'), option('light', 'Light'), option('dark', 'Dark')));
}
