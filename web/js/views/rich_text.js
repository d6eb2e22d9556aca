// Text tokens beyond Markdown, applied to a text node of a rendered message: ||spoilers|| (hidden
// until clicked or activated with the keyboard) and a community's custom emoji <:name:id>.
// A spoiler covers text within one run of plain text (not across bold/italic/links).

import { h } from '../dom.js';
import { emojiImage } from './community_emoji.js';

const TOKEN = /\|\|([^|\n](?:[^\n]*?[^|\n])?)\|\||<:([A-Za-z0-9_]{2,32}):([0-9a-hjkmnp-tv-z]{26})>/g;

/** A spoiler: a button (Enter/Space or a click reveals it, again hides it); hidden from screen
 *  readers too until revealed. */
export function spoiler(...children) {
  const inner = h('span', { class: 'spoiler-text', 'aria-hidden': 'true' }, ...children);
  const toggle = (el) => {
    const open = el.getAttribute('aria-expanded') !== 'true';
    el.setAttribute('aria-expanded', String(open));
    el.setAttribute('aria-label', open ? 'Spoiler, shown' : 'Spoiler, hidden: activate to show');
    el.classList.toggle('revealed', open);
    if (open) inner.removeAttribute('aria-hidden');
    else inner.setAttribute('aria-hidden', 'true');
  };
  return h('span', {
    class: 'spoiler-inline', role: 'button', tabindex: '0', 'aria-expanded': 'false', 'aria-label': 'Spoiler, hidden: activate to show',
    onclick: (e) => { e.stopPropagation(); toggle(e.currentTarget); },
    onkeydown: (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      e.stopPropagation();
      toggle(e.currentTarget);
    },
  }, inner);
}

/** Replace `node` (a text node in the page) with its spoilers and custom emoji; `rest(textNode)`
 *  decorates the plain text in between (mentions), spoiler contents included. */
export function decorateTokens(node, rest) {
  const text = node.textContent;
  TOKEN.lastIndex = 0;
  if (!TOKEN.test(text)) {
    if (rest) rest(node);
    return;
  }
  TOKEN.lastIndex = 0;
  const frag = document.createDocumentFragment();
  const plain = (parent, s) => {
    if (!s) return;
    const t = document.createTextNode(s);
    parent.appendChild(t);
    if (rest) rest(t);
  };
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    plain(frag, text.slice(last, m.index));
    if (m[1] !== undefined) {
      const box = spoiler();
      plain(box.firstChild, m[1]);
      frag.appendChild(box);
    } else {
      frag.appendChild(emojiImage(m[2], m[3]));
    }
    last = m.index + m[0].length;
  }
  plain(frag, text.slice(last));
  node.replaceWith(frag);
}
