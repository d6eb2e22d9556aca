// A link to one comment (/channels/<community>/<forum>/<post>#c-<comment>, what a search hit or a
// shared link opens): the post page scrolls to the comment and highlights it. A comment the loaded
// tree does not hold (behind a "load more") is fetched and shown above the discussion; one that is
// gone is said to be gone, rather than leaving the reader at the top of the post wondering.

import * as R from '../content.js';
import { h } from '../dom.js';

/** The comment id the address points at, if any. */
export function linkedComment() {
  const m = /^#c-([0-9a-z]{1,64})$/.exec(location.hash);
  return m ? m[1] : null;
}

/** Bring the linked comment into view in `section` (the post page's discussion); `view` is the
 *  ForumView (its commentEl draws a fetched one). */
export async function showLinkedComment(view, section) {
  const id = linkedComment();
  if (!id) return;
  let el = section.querySelector(`li.comment[data-id="${CSS.escape(id)}"]`);
  if (!el) {
    let c = null;
    try {
      c = await R.forum.comment(id);
    } catch {
      c = null;
    }
    if (!c || c.post_id !== view.post.id) {
      section.prepend(h('p', { class: 'linked-missing muted', role: 'status' },
        'That comment is not here: it may have been deleted, or the link is wrong.'));
      return;
    }
    el = view.commentEl(c);
    section.prepend(h('div', { class: 'linked-comment' },
      h('p', { class: 'muted' }, 'Linked comment'), h('ol', { class: 'comment-tree' }, el)));
  }
  // A collapsed thread around it opens first, or it would scroll to nothing.
  for (let p = el.parentElement; p && p !== section; p = p.parentElement) {
    if (p.hidden) p.hidden = false;
  }
  el.classList.add('jump-target');
  el.setAttribute('tabindex', '-1');
  el.scrollIntoView({ block: 'center' });
  el.focus({ preventScroll: true });
  setTimeout(() => el.classList.remove('jump-target'), 6000);
}
