// Your own posts and comments in a forum: Edit (an inline Markdown editor, saved with PATCH) and
// Delete (after a confirmation), an "edited" mark, and no "Report" on what you wrote. Deleting a
// comment keeps its place in the thread as "[deleted]" (the server keeps the replies), as on Reddit.

import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';
import { confirmDialog } from './dialogs.js';

export function isMine(item) {
  return Boolean(item.author_id) && item.author_id === store.state.me?.id;
}

/** "· edited" next to the time, with the edit time as a tooltip. */
export function editedMark(item) {
  return item.edited_at ? h('span', { class: 'edited-mark muted', title: `Edited ${formatTime(item.edited_at)}` }, ' (edited)') : null;
}

/** An inline editor in `slot` for the item's Markdown body; `saved(out)` gets the server's copy. */
function editor(kind, item, slot, saved) {
  const text = h('textarea', { class: 'edit-input own-edit', rows: kind === 'posts' ? 8 : 3, 'aria-label': 'Edit', maxlength: kind === 'posts' ? 40000 : 10000 });
  text.value = item.body || '';
  const error = h('p', { class: 'field-error', role: 'alert' });
  const save = h('button', { class: 'btn primary small', type: 'submit' }, 'Save');
  const form = h('form', {
    class: 'own-edit-form',
    onsubmit: async (e) => {
      e.preventDefault();
      save.disabled = true;
      try {
        const out = await R.forum.edit(kind, item.id, { body: text.value });
        replace(slot);
        saved(out);
        announce('Saved.');
      } catch (err) {
        error.textContent = err.message;
        save.disabled = false;
      }
    },
  }, text, error, h('div', { class: 'own-edit-actions' }, save,
    h('button', { class: 'btn small', type: 'button', onclick: () => replace(slot) }, 'Cancel')));
  text.addEventListener('keydown', (e) => { if (e.key === 'Escape') replace(slot); });
  replace(slot, form);
  text.focus();
}

/** Edit and Delete buttons for the author. `slot` holds the editor; `changed(out)` after an edit,
 *  `deleted()` after a delete. */
export function ownActions(kind, item, slot, { changed, deleted }) {
  const noun = kind === 'posts' ? 'post' : 'comment';
  return [
    h('button', { class: 'btn link own-edit-btn', onclick: () => (slot.firstChild ? replace(slot) : editor(kind, item, slot, changed)) }, 'Edit'),
    h('button', {
      class: 'btn link own-delete-btn',
      onclick: async () => {
        if (!await confirmDialog(`Delete ${noun}?`, `Your ${noun} will be deleted. Replies stay.`, 'Delete')) return;
        try {
          await R.forum.remove(kind, item.id);
          announce(`${noun[0].toUpperCase()}${noun.slice(1)} deleted.`);
          deleted();
        } catch (err) {
          announce(err.message);
        }
      },
    }, 'Delete'),
  ];
}
