// Settings for a member's own data: download a copy of it (an export the node prepares in the
// background: start, progress, download) and delete the account for good (the danger zone).

import * as api from '../api.js';
import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import { state } from '../store.js';
import { banner, busy, field, showError } from './forms.js';

const POLL_MS = 1000;

function size(bytes) {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** Fetch the ZIP with the access token (a plain link would carry none) and hand it to the browser. */
async function saveZip(url) {
  const get = () => fetch(url, { headers: { Authorization: `Bearer ${api.token()}`, 'X-Cryb-Client': 'web' }, credentials: 'same-origin' });
  let resp = await get();
  if (resp.status === 401) {
    await api.refresh();
    resp = await get();
  }
  if (!resp.ok) throw new api.ApiError(resp.status, await resp.json().catch(() => ({})));
  const name = /filename="([^"]+)"/.exec(resp.headers.get('Content-Disposition') || '')?.[1] || 'cryb-data.zip';
  const href = URL.createObjectURL(await resp.blob());
  const link = h('a', { href, download: name, hidden: true });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export function dataTab() {
  const box = h('div', { class: 'export-box', 'aria-live': 'polite' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  const errors = banner();
  let timer = null;

  const start = async (button) => {
    button.disabled = true;
    try {
      render(await R.me.startDataExport());
      announce('Preparing your data.');
    } catch (err) {
      errors.textContent = err.message;
      button.disabled = false;
    }
  };
  const startButton = (label) => {
    const button = h('button', { type: 'button', class: 'btn primary', onclick: () => start(button) }, label);
    return button;
  };

  const render = (job) => {
    clearTimeout(timer);
    errors.textContent = '';
    if (!job) {
      replace(box, h('p', null, 'You have not asked for a copy yet.'), startButton('Download my data'));
      return;
    }
    if (job.state === 'queued' || job.state === 'running') {
      const pct = Math.round(job.progress * 100);
      replace(box,
        h('label', { for: 'export-progress' }, job.state === 'queued' ? 'Waiting to start…' : `Preparing your data… ${pct}%`),
        h('progress', { id: 'export-progress', class: 'export-progress', max: '1', value: String(job.progress) }, `${pct}%`),
        h('p', { class: 'muted' }, `${job.items} items so far. You can close this window: the node keeps going.`));
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    if (job.state === 'ready') {
      const download = h('button', {
        type: 'button', class: 'btn primary export-download',
        onclick: async () => {
          download.disabled = true;
          try {
            await saveZip(job.download_url);
          } catch (err) {
            errors.textContent = err.message;
          } finally {
            download.disabled = false;
          }
        },
      }, `Download ZIP (${size(job.size)})`);
      replace(box,
        h('p', { class: 'export-ready' }, `Your data is ready: prepared ${formatTime(job.finished_at * 1000)}, available until ${formatTime(job.expires_at * 1000)}.`),
        download,
        h('p', { class: 'muted' }, 'Need a fresh copy later? Ask again once this one is a few minutes old.'),
        startButton('Prepare a new copy'));
      return;
    }
    const why = job.state === 'expired' ? 'Your last copy has expired and was deleted.' : `Preparing your data failed: ${job.error || 'unknown error'}.`;
    replace(box, h('p', null, why), startButton(job.state === 'expired' ? 'Download my data' : 'Try again'));
  };

  const poll = async () => {
    if (!box.isConnected) return; // the tab or the dialog was closed
    try {
      render(await R.me.dataExport());
    } catch (err) {
      if (err.status === 404) render(null);
      else {
        errors.textContent = err.message;
        timer = setTimeout(poll, POLL_MS * 5);
      }
    }
  };
  queueMicrotask(poll);

  return h('section', { class: 'settings-section' },
    h('h3', null, 'Download my data'),
    h('p', null, 'Get a copy of everything you have on this node in one ZIP file: your account and settings, every message, post and comment you wrote, your direct-message conversations (both sides: they are your correspondence), your reactions, and the files you uploaded.'),
    h('p', { class: 'muted' }, 'The node prepares it in the background. Only you can download it, and it is deleted after a few days.'),
    errors, box);
}

export function deleteTab(shell) {
  const me = state.me;
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const confirm = field(`Type your username (${me.username}) to confirm`, { name: 'confirm', autocomplete: 'off', required: true });
  const errors = banner();
  const submit = h('button', { type: 'submit', class: 'btn danger', disabled: true }, 'Delete my account');
  const matches = () => confirm.input.value.trim() === me.username;
  confirm.input.addEventListener('input', () => { submit.disabled = !matches(); });
  const form = h('form', { novalidate: true, 'aria-label': 'Delete account' }, errors, password.row, confirm.row, submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!matches()) {
      confirm.setError('Type your username exactly as shown.');
      confirm.input.focus();
      return;
    }
    if (!password.input.value) {
      password.setError('Enter your password.');
      password.input.focus();
      return;
    }
    busy(form, async () => {
      try {
        await R.me.remove({ password: password.input.value });
      } catch (err) {
        showError(err, { password }, errors);
        submit.disabled = !matches();
        return;
      }
      form.closest('dialog')?.close();
      // The node ended every session, this one too (its gateway may have said so already).
      shell.signedOut('Your account was deleted. Everything you wrote was erased, on this node and on the nodes it was shared with.');
    });
  });
  return h('section', { class: 'settings-section danger-zone', 'aria-labelledby': 'danger-title' },
    h('h3', { id: 'danger-title' }, 'Delete account'),
    h('p', null, h('strong', null, 'This cannot be undone.'), ' Deleting your account:'),
    h('ul', { class: 'danger-list' },
      h('li', null, 'erases your email address, password and sign-in details from this node;'),
      h('li', null, 'erases your profile and every message, post and comment you wrote, direct messages included, and the files attached to them;'),
      h('li', null, 'sends the erasure to the other nodes your posts and messages were shared with, and they erase their copies too;'),
      h('li', null, `signs you out everywhere and frees the name @${me.username}.`)),
    h('p', { class: 'muted' }, 'Want a copy first? Use Download my data before you go.'),
    form);
}
