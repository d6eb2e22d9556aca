// Forwarding a message (issue 26): "Forward…" in a message's menu opens this dialog: pick a channel
// of any of your communities where you may send, or a direct message, add a comment, send. The node
// checks both ends (you read the original, you may send at the target). Loaded on first use.

import * as R from '../content.js';
import { h } from '../dom.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';
import { toast } from './message_menu.js';

const { state } = store;

function destinations() {
  const out = [];
  for (const [cid, channels] of state.channels) {
    const community = state.communities.get(cid);
    if (!community) continue;
    const sendable = channels.filter((c) => (c.kind === 'text' || c.kind === 'announcement') && store.can(c.perms || 0, store.PERM.SEND_MESSAGES));
    if (sendable.length) out.push(h('optgroup', { label: community.name }, sendable.map((c) => h('option', { value: c.id }, `${community.name} › #${c.name}`))));
  }
  const dms = [...state.dms.values()];
  if (dms.length) out.push(h('optgroup', { label: 'Direct messages' }, dms.map((d) => h('option', { value: d.id }, `Direct message: ${store.dmName(d)}`))));
  return out;
}

export function forwardDialog(view, m) {
  modal('Forward message', (close) => {
    const target = h('select', { id: 'forward-to', required: true }, destinations());
    const comment = h('textarea', { id: 'forward-comment', rows: 2, maxlength: 1000, placeholder: 'Add a comment (optional)' });
    const error = h('p', { class: 'form-banner', role: 'alert' });
    const excerpt = (m.content || '').slice(0, 140);
    const form = h('form', { class: 'modal-body', novalidate: true },
      h('blockquote', { class: 'forward-quote muted' }, excerpt || '(attachments only)'),
      h('div', { class: 'field' }, h('label', { for: 'forward-to' }, 'Forward to'), target),
      h('div', { class: 'field' }, h('label', { for: 'forward-comment' }, 'Comment'), comment),
      error,
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn primary' }, 'Forward')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!target.value) { error.textContent = 'There is no channel you may send in.'; return; }
      try {
        await R.messages.forward(view.channelId, m.id,
          { channel_id: target.value, comment: comment.value });
        close();
        toast(`Forwarded to ${store.channelName(target.value)}.`);
      } catch (err) {
        error.textContent = err.message;
      }
    });
    return form;
  });
}
