// Reporting to the node admins (POST /api/v1/reports): a direct message, a profile or a whole
// community. One dialog asks why; for a DM it says plainly what the admins will then see.

import * as R from '../content.js';
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
          await R.reports.create({ target_type: type, target_id: id, reason: text });
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

// -- reports to a community's moderators -----------------------------------------------------------

const REASONS = [
  ['spam', 'Spam or a scam'],
  ['harassment', 'Harassment or hate'],
  ['threat', 'Threats or violence'],
  ['sexual', 'Sexual or shocking content'],
  ['rules', 'Breaks this community’s rules'],
  ['other', 'Something else'],
];

/** Report a community's message, post or comment to its moderators (POST
 *  /api/v1/communities/{id}/reports): a reason chosen from a list, details optional. The form stays
 *  open with the node's error if the report is refused, and says plainly once it was sent. */
export function reportToModerators({ communityId, type, id, name, excerpt = '' }) {
  const what = { message: 'message', post: 'post', comment: 'comment' }[type] || 'content';
  modal(`Report ${what}${name ? ` by ${name}` : ''}`, (close) => {
    const errors = banner();
    const choiceError = h('p', { class: 'field-error', id: 'report-reason-err', role: 'alert' });
    const radios = REASONS.map(([value, label]) => {
      const input = h('input', { type: 'radio', name: 'report-reason', id: `report-reason-${value}`, value });
      input.addEventListener('change', () => { choiceError.textContent = ''; });
      return h('div', { class: 'check report-choice' }, input, h('label', { for: `report-reason-${value}` }, label));
    });
    const group = h('fieldset', { class: 'report-reasons', 'aria-describedby': 'report-reason-err' },
      h('legend', null, 'What is wrong with it?'), radios, choiceError);
    const details = field('Details (optional)', {
      name: 'details', maxlength: 900, multiline: true, rows: 3, placeholder: 'Anything the moderators should know',
    });
    const form = h('form', { class: 'modal-body report-form', novalidate: true, 'aria-describedby': 'report-privacy' },
      errors,
      excerpt ? h('blockquote', { class: 'report-excerpt' }, excerpt.length > 300 ? `${excerpt.slice(0, 300)}…` : excerpt) : null,
      h('p', { class: 'muted', id: 'report-privacy' }, 'Your report goes to this community’s moderators. They see who sent it; the author does not.'),
      group,
      details.row,
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        submitButton('Send report')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const chosen = form.querySelector('input[name="report-reason"]:checked');
      if (!chosen) {
        choiceError.textContent = 'Choose a reason.';
        form.querySelector('input[name="report-reason"]').focus();
        return;
      }
      const sent = (message, more) => {
        const ok = h('button', { type: 'button', class: 'btn primary', onclick: () => close() }, 'Done');
        replace(form, h('p', { class: 'report-sent', role: 'status' }, message, h('br'), h('span', { class: 'muted' }, more)),
          h('div', { class: 'modal-actions' }, ok));
        ok.focus();
        announce(message);
      };
      const label = REASONS.find(([value]) => value === chosen.value)[1];
      const more = details.input.value.trim();
      busy(form, async () => {
        try {
          await R.moderation.report(communityId, {
            target_type: type, target_id: id, reason: more ? `${label}: ${more}` : label,
          });
          sent('Report sent to the moderators.', 'Thanks for telling them. You can keep chatting.');
        } catch (err) {
          // A second report of the same thing while the first is open: not an error for the member.
          if (err.code === 'already_reported') sent('You already reported this.', 'The moderators have your first report; there is nothing more to do.');
          else showError(err, { reason: details, details }, errors);
        }
      });
    });
    return form;
  }, { className: 'report-dialog' });
}
