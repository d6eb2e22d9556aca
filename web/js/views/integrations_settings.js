// Community settings → Integrations: incoming webhooks (MANAGE_WEBHOOKS: create, copy the secret URL
// once, rename, new URL, delete), the community's link-preview switch and its outgoing event
// webhooks (MANAGE_COMMUNITY). Loaded when the tab is first opened (community_settings.js).

import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import { holds } from '../perms.js';
import * as store from '../store.js';
import { upload } from './attachments.js';
import { confirmDialog } from './dialogs.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

const KINDS = [
  ['message.create', 'New messages'], ['post.create', 'New posts'], ['comment.create', 'New comments'],
  ['member.join', 'Members joining'], ['member.leave', 'Members leaving'], ['member.ban', 'Bans'],
];

/** Fill the settings view's body with the Integrations tab. */
export async function integrationsTab(view) {
  const cid = view.communityId;
  const perms = view.perms;
  const sections = [];
  if (holds(perms, 'MANAGE_WEBHOOKS')) sections.push(...await incoming(cid));
  if (holds(perms, 'MANAGE_COMMUNITY')) sections.push(...await previews(cid), ...await outgoing(cid));
  replace(view.body, sections);
}

function chatChannels(cid) {
  return (store.state.channels.get(cid) || []).filter((c) => c.kind === 'text' || c.kind === 'announcement');
}

function secretUrl(url, id, what) {
  // The address the browser reached the node at (the node's base_url may name another, e.g. behind a proxy).
  const full = new URL(new URL(url, location.origin).pathname, location.origin).href;
  const input = h('input', { id, readonly: true, value: full, 'aria-label': what });
  const copy = h('button', {
    type: 'button', class: 'btn primary',
    onclick: async (e) => {
      input.select();
      try { await navigator.clipboard.writeText(full); e.currentTarget.textContent = 'Copied'; } catch { e.currentTarget.textContent = 'Press Ctrl+C'; }
    },
  }, 'Copy');
  return h('div', null, h('div', { class: 'copy-row' }, input, copy),
    h('p', { class: 'field-hint' }, 'Keep it secret: anyone with this address can post. It is shown only now.'));
}

// -- incoming webhooks -----------------------------------------------------------------------------

async function incoming(cid) {
  const channels = chatChannels(cid);
  const channel = h('select', { id: 'hook-channel' }, channels.map((c) => h('option', { value: c.id }, `#${c.name}`)));
  const name = field('Name', { name: 'name', required: true, maxlength: 80, value: 'Webhook' }, 'Shown on its messages, with an APP tag.');
  const created = h('div', { class: 'cs-created', 'aria-live': 'polite' });
  const list = h('div');
  const errors = banner();
  let avatarId = null;
  const avatarStatus = h('p', { class: 'field-hint', role: 'status' });
  const file = h('input', { type: 'file', id: 'hook-avatar', accept: 'image/*' });
  file.addEventListener('change', async () => {
    if (!file.files[0]) return;
    try {
      avatarStatus.textContent = 'Uploading…';
      avatarId = (await upload(file.files[0], () => {}).done).id;
      avatarStatus.textContent = 'Uploaded.';
    } catch (err) {
      avatarId = null;
      avatarStatus.textContent = err.message;
    }
  });
  const form = h('form', { class: 'cs-form cs-inline', novalidate: true, 'aria-label': 'New webhook' },
    errors,
    h('div', { class: 'field' }, h('label', { for: 'hook-channel' }, 'Channel'), channel),
    name.row,
    h('div', { class: 'field' }, h('label', { for: 'hook-avatar' }, 'Avatar (optional)'), file, avatarStatus),
    h('div', { class: 'modal-actions' }, submitButton('Create webhook')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const body = { name: name.input.value.trim() };
        if (avatarId) body.avatar = avatarId;
        const hook = await R.channels.createWebhook(channel.value, body);
        replace(created, h('p', null, `Webhook “${hook.name}” posts to this address:`), secretUrl(hook.url, 'hook-new-url', 'Webhook URL'));
        announce('Webhook created.');
        await fillHooks(cid, list, created);
      } catch (err) {
        showError(err, { name }, errors);
      }
    });
  });
  await fillHooks(cid, list, created);
  return [h('h3', { class: 'cs-h' }, 'Incoming webhooks'),
    h('p', { class: 'muted' }, 'Let other apps (CI, monitoring, feeds) post in a channel. They accept CRYB, Discord and Slack message formats.'),
    form, created, list];
}

async function fillHooks(cid, list, created) {
  const out = await R.communities.webhooks(cid);
  if (!out.webhooks.length) {
    replace(list, h('p', { class: 'muted' }, 'No webhooks yet.'));
    return;
  }
  const names = new Map(chatChannels(cid).map((c) => [c.id, c.name]));
  replace(list, h('ul', { class: 'hooks-list', 'aria-label': 'Webhooks' }, out.webhooks.map((w) => {
    const label = h('span', null, h('strong', { class: 'hook-name' }, w.name),
      h('span', { class: 'muted' }, ` · #${names.get(w.channel_id) || 'channel'} · ${w.last_used_at ? `last used ${formatTime(w.last_used_at)}` : 'never used'}`));
    const rename = async () => {
      const input = h('input', { value: w.name, maxlength: 80, 'aria-label': `New name for ${w.name}` });
      const save = h('button', { type: 'submit', class: 'btn small primary' }, 'Save');
      const f = h('form', { class: 'cs-inline' }, input, save);
      f.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await R.webhooks.update(w.id, { name: input.value.trim() });
          announce('Webhook renamed.');
          await fillHooks(cid, list, created);
        } catch (err) { announce(err.message); }
      });
      label.replaceWith(f);
      input.focus();
    };
    const rotate = async () => {
      if (!await confirmDialog('Make a new address?', `The current address of “${w.name}” stops working at once.`, 'New address')) return;
      try {
        const hook = await R.webhooks.resetToken(w.id);
        replace(created, h('p', null, `New address of “${hook.name}”:`), secretUrl(hook.url, 'hook-new-url', 'Webhook URL'));
        announce('The webhook has a new address.');
      } catch (err) { announce(err.message); }
    };
    const remove = async () => {
      if (!await confirmDialog('Delete this webhook?', `Apps using “${w.name}” can no longer post. Its messages stay.`, 'Delete')) return;
      try {
        await R.webhooks.remove(w.id);
        announce('Webhook deleted.');
        await fillHooks(cid, list, created);
      } catch (err) { announce(err.message); }
    };
    return h('li', { dataset: { id: w.id } }, label,
      h('span', { class: 'cs-invite-actions' },
        h('button', { type: 'button', class: 'btn small', 'aria-label': `Rename ${w.name}`, onclick: rename }, 'Rename'),
        h('button', { type: 'button', class: 'btn small', 'aria-label': `New address for ${w.name}`, onclick: rotate }, 'New address'),
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Delete ${w.name}`, onclick: remove }, 'Delete')));
  })));
}

// -- link previews ---------------------------------------------------------------------------------

async function previews(cid) {
  const now = await R.communities.integrations(cid);
  const box = h('input', { type: 'checkbox', id: 'cs-previews', checked: now.link_previews });
  box.addEventListener('change', async () => {
    try {
      await R.communities.setIntegrations(cid, { link_previews: box.checked });
      announce(box.checked ? 'Link previews on.' : 'Link previews off.');
    } catch (err) {
      box.checked = !box.checked;
      announce(err.message);
    }
  });
  return [h('h3', { class: 'cs-h' }, 'Link previews'),
    h('label', { class: 'cs-radio', for: 'cs-previews' }, box, h('span', null, 'Show a preview card under messages and posts with links'))];
}

// -- outgoing event webhooks -----------------------------------------------------------------------

async function outgoing(cid) {
  const url = field('Receiver URL', { name: 'url', type: 'url', required: true, placeholder: 'https://example.com/cryb-events' });
  const boxes = KINDS.map(([k, text], i) => h('label', { class: 'cs-radio' },
    h('input', { type: 'checkbox', value: k, checked: i === 0 }), h('span', null, text)));
  const created = h('div', { class: 'cs-created', 'aria-live': 'polite' });
  const list = h('div');
  const errors = banner();
  const form = h('form', { class: 'cs-form', novalidate: true, 'aria-label': 'New event webhook' },
    errors, url.row,
    h('fieldset', { class: 'cs-fieldset' }, h('legend', null, 'Send these events'), boxes),
    h('div', { class: 'modal-actions' }, submitButton('Add event webhook')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form, async () => {
      const kinds = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      try {
        const sub = await R.eventWebhooks.create({ community_id: cid, url: url.input.value.trim(), kinds });
        replace(created, h('p', null, 'Signing secret (check X-Cryb-Signature with it; shown only now):'),
          h('input', { id: 'event-hook-secret', readonly: true, value: sub.secret, 'aria-label': 'Signing secret' }));
        announce('Event webhook added.');
        await fillSubs(cid, list);
      } catch (err) {
        showError(err, { url }, errors);
      }
    });
  });
  await fillSubs(cid, list);
  return [h('h3', { class: 'cs-h' }, 'Event webhooks'),
    h('p', { class: 'muted' }, 'The node sends this community’s events to a URL of yours, signed, retrying while it is down.'),
    form, created, list];
}

async function fillSubs(cid, list) {
  const out = await R.eventWebhooks.list(cid);
  if (!out.subscriptions.length) {
    replace(list, h('p', { class: 'muted' }, 'No event webhooks yet.'));
    return;
  }
  replace(list, h('ul', { class: 'hooks-list', 'aria-label': 'Event webhooks' }, out.subscriptions.map((s) => {
    const status = s.last_attempt_at == null ? 'not used yet'
      : s.last_error ? `failing: ${s.last_error}${s.pending ? ` · ${s.pending} waiting` : ''}` : `delivered ${formatTime(s.last_success_at)}`;
    return h('li', { dataset: { id: s.id } },
      h('span', null, h('code', null, s.url), h('span', { class: 'muted' }, ` · ${s.kinds.join(', ')} · `), h('span', { class: 'hook-status' }, status)),
      h('button', {
        type: 'button', class: 'btn small danger', 'aria-label': `Remove event webhook ${s.url}`,
        onclick: async () => {
          if (!await confirmDialog('Remove this event webhook?', `${s.url} gets no more events.`, 'Remove')) return;
          try {
            await R.eventWebhooks.remove(s.id);
            await fillSubs(cid, list);
          } catch (err) { announce(err.message); }
        },
      }, 'Remove'));
  })));
}
