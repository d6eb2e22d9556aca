// Settings tabs for API tokens (scoped personal tokens: read, write, moderate, admin; optional
// expiry; shown once, listed and revoked) and bot accounts (create with a token shown once, add to a
// community you manage, delete). docs/integrations.md "Bots".

import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import { holds } from '../perms.js';
import * as store from '../store.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

const { state } = store;
const SCOPES = ['read', 'write', 'moderate', 'admin'];
const EXPIRY = [['Never', 0], ['1 day', 86400], ['30 days', 30 * 86400], ['1 year', 365 * 86400]];

function section(title, ...body) {
  return h('section', { class: 'settings-section' }, h('h3', null, title), ...body);
}

/** A secret shown once, selectable, with a copy button. */
function secretOnce(label, value, id) {
  const input = h('input', { id, class: 'secret-once', readonly: true, value, 'aria-label': label, onfocus: (e) => e.currentTarget.select() });
  const copy = h('button', { type: 'button', class: 'btn small', onclick: () => navigator.clipboard?.writeText(value).then(() => announce('Copied.')).catch(() => input.select()) }, 'Copy');
  return h('div', { class: 'secret-box', role: 'status' }, h('p', null, `${label} — shown once, keep it somewhere safe:`), input, copy);
}

function tokenList(fetchTokens, empty) {
  const list = h('ul', { class: 'token-list', 'aria-label': 'Tokens' }, h('li', { class: 'muted' }, 'Loading…'));
  const load = () => fetchTokens().then((data) => {
    if (!data.tokens.length) return replace(list, h('li', { class: 'muted' }, empty));
    replace(list, data.tokens.map((t) => h('li', null,
      h('div', null,
        h('strong', null, t.name), ' ', h('span', { class: 'muted' }, t.scopes.join(', ')),
        h('p', { class: 'muted' }, `Made ${formatTime(t.created_at * 1000)}`,
          t.expires_at ? ` · expires ${formatTime(t.expires_at * 1000)}` : ' · never expires',
          t.last_used_at ? ` · last used ${formatTime(t.last_used_at * 1000)}` : ' · never used')),
      h('button', {
        type: 'button', class: 'btn small danger', 'aria-label': `Revoke token ${t.name}`,
        onclick: async () => {
          try {
            await R.tokens.revoke(t.id);
            announce(`Token ${t.name} revoked.`);
            await load();
          } catch (err) {
            announce(err.message);
          }
        },
      }, 'Revoke'))));
  }).catch((err) => replace(list, h('li', { role: 'alert' }, err.message)));
  load();
  return { list, load };
}

export function tokensTab() {
  const { list, load } = tokenList(R.tokens.list, 'No API tokens yet.');
  const name = field('Token name', { name: 'name', maxlength: 64, required: true });
  const scopes = h('fieldset', { class: 'scopes' }, h('legend', null, 'Scopes'),
    ...SCOPES.filter((s) => s !== 'admin' || state.me?.admin).map((s) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'scope', value: s, checked: s === 'read' }), ` ${s}`)));
  const expiry = h('select', { id: 'token-expiry', name: 'expiry' }, EXPIRY.map(([label, s]) => h('option', { value: String(s) }, label)));
  const errors = banner();
  const shown = h('div');
  const form = h('form', { novalidate: true, 'aria-label': 'New API token' }, errors, name.row, scopes,
    h('div', { class: 'field' }, h('label', { for: 'token-expiry' }, 'Expires'), expiry),
    submitButton('Create token'), shown);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const chosen = [...scopes.querySelectorAll('input:checked')].map((i) => i.value);
      const seconds = Number(expiry.value);
      try {
        const made = await R.tokens.create({ name: name.input.value.trim(), scopes: chosen, ...(seconds ? { expires_in_s: seconds } : {}) });
        replace(shown, secretOnce(`Token ${made.name}`, made.token, 'token-new-secret'));
        name.input.value = '';
        await load();
      } catch (err) {
        showError(err, { name }, errors);
      }
    });
  });
  return h('div', null,
    section('API tokens', h('p', { class: 'muted' }, 'Scripts use a token as "Authorization: Bearer <token>". A read token cannot post; write posts; moderate bans, kicks and times out; admin is for node admins.'), list),
    section('New token', form));
}

export function botsTab() {
  const list = h('ul', { class: 'bot-list', 'aria-label': 'Your bots' }, h('li', { class: 'muted' }, 'Loading…'));
  const shown = h('div');
  const load = () => R.bots.list().then((data) => {
    if (!data.bots.length) return replace(list, h('li', { class: 'muted' }, 'No bots yet.'));
    replace(list, data.bots.map((b) => botRow(b, load)));
  }).catch((err) => replace(list, h('li', { role: 'alert' }, err.message)));
  const username = field('Bot username', { name: 'username', maxlength: 32, required: true }, '3 to 32 letters, digits or underscores.');
  const display = field('Display name (optional)', { name: 'display_name', maxlength: 64 });
  const errors = banner();
  const form = h('form', { novalidate: true, 'aria-label': 'New bot' }, errors, username.row, display.row, submitButton('Create bot'), shown);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const made = await R.bots.create({ username: username.input.value.trim(), display_name: display.input.value.trim() });
        replace(shown, secretOnce(`Token of ${made.username}`, made.token.token, 'bot-new-secret'));
        username.input.value = '';
        display.input.value = '';
        await load();
      } catch (err) {
        showError(err, { username, display_name: display }, errors);
      }
    });
  });
  load();
  return h('div', null, section('Your bots', list), section('New bot', form));
}

function botRow(b, reload) {
  const managed = [...state.communities.values()].filter((c) => holds(c.perms, 'MANAGE_COMMUNITY')); // where adding works
  const pick = h('select', { 'aria-label': `Community to add ${b.username} to` },
    h('option', { value: '' }, 'Add to a community…'), managed.map((c) => h('option', { value: c.id }, c.name)));
  const status = h('span', { class: 'muted', role: 'status' });
  return h('li', null,
    h('div', null, h('strong', null, b.display_name || b.username), ' ', h('span', { class: 'bot-tag' }, 'BOT'), ' ', h('span', { class: 'muted' }, `@${b.username}`)),
    h('div', { class: 'row' },
      pick,
      h('button', {
        type: 'button', class: 'btn small', onclick: async () => {
          if (!pick.value) return;
          try {
            await R.communities.addBot(pick.value, b.id);
            status.textContent = `Added to ${pick.selectedOptions[0].textContent}.`;
          } catch (err) {
            status.textContent = err.message;
          }
        },
      }, 'Add'),
      h('button', {
        type: 'button', class: 'btn small danger', 'aria-label': `Delete bot ${b.username}`, onclick: async () => {
          try {
            await R.bots.remove(b.id);
            announce(`Bot ${b.username} deleted.`);
            await reload();
          } catch (err) {
            status.textContent = err.message;
          }
        },
      }, 'Delete'),
      status));
}
