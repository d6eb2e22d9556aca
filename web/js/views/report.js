// Reporting to the node admins (POST /api/v1/reports): a direct message, a profile or a whole
// community. One dialog asks why; for a DM it says plainly what the admins will then see.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { modal } from './dialogs.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

const WHAT = {
  dm_message: 'message',
  user: 'profile',
  community: 'community',
};

/** Opens the dialog; `name` is how the target is shown (a person's name, a community's name) and
 *  `excerpt` the reported text, for a message. */
export function reportDialog({ type, id, name, excerpt = '' }) {
  modal(`Report ${WHAT[type]}${name ? ` · ${name}` : ''}`, (close) => {
    const reason = field('Why are you reporting this?', {
      name: 'reason', required: true, maxlength: 1000, multiline: true, rows: 3,
      placeholder: type === 'community' ? 'e.g. it exists to harass people' : 'e.g. threats, spam, impersonation',
    });
    const errors = banner();
    const privacy = type === 'dm_message'
      ? h('p', { class: 'report-privacy', id: 'report-privacy' },
        'The node admins will see this message’s text and who sent it, because you are reporting it. ',
        'Nothing else from this conversation is shared.')
      : h('p', { class: 'muted', id: 'report-privacy' }, 'Your report goes to the admins of this node. Only they see it, and who sent it.');
    const form = h('form', { class: 'modal-body report-form', novalidate: true, 'aria-describedby': 'report-privacy' },
      errors,
      excerpt ? h('blockquote', { class: 'report-excerpt' }, excerpt.length > 300 ? `${excerpt.slice(0, 300)}…` : excerpt) : null,
      privacy,
      reason.row,
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        submitButton('Send report')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = reason.input.value.trim();
      if (!text) {
        reason.setError('Say why you are reporting this.');
        reason.input.focus();
        return;
      }
      const done = (message) => {
        const ok = h('button', { type: 'button', class: 'btn primary', onclick: () => close() }, 'Done');
        replace(form, h('p', { class: 'report-sent', role: 'status' }, message), h('div', { class: 'modal-actions' }, ok));
        ok.focus();
        announce(message);
      };
      busy(form, async () => {
        try {
          await api.post('/api/v1/reports', { target_type: type, target_id: id, reason: text });
          done('Thanks. Your report was sent to the node admins.');
        } catch (err) {
          if (err.code === 'already_reported') done('You already reported this. The node admins have it.');
          else showError(err, { reason }, errors);
        }
      });
    });
    return form;
  }, { className: 'report-dialog' });
}
