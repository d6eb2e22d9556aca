// Renaming a community's custom emoji (community settings > Emoji): a small form in a dialog.
// Messages and reactions name the emoji by id, so they follow the new name.

import * as R from '../content.js';
import { announce, h } from '../dom.js';
import { modal } from './dialogs.js';
import { banner, busy, field, showError, submitButton } from './forms.js';

/** The "Rename" button of one emoji row; `done()` runs after a successful rename. */
export function renameEmojiButton(communityId, e, done) {
  return h('button', {
    type: 'button', class: 'btn small', 'aria-label': `Rename :${e.name}:`,
    onclick: () => modal(`Rename :${e.name}:`, (close) => {
      const name = field('New name', { name: 'name', required: true, maxlength: 32, pattern: '[A-Za-z0-9_]{2,32}', value: e.name },
        'Letters, digits and _ (2 to 32).');
      const errors = banner();
      const form = h('form', { class: 'modal-body', novalidate: true }, errors, name.row,
        h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'), submitButton('Rename')));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        busy(form, async () => {
          try {
            const out = await R.communities.renameEmoji(communityId, e.id, { name: name.input.value.trim() });
            close();
            announce(`Renamed :${e.name}: to :${out.name}:.`);
            done();
          } catch (err) {
            showError(err, { name }, errors);
          }
        });
      });
      return form;
    }),
  }, 'Rename');
}
