// Mention tokens in plain text that is not a rendered message (a notification's preview): <@user>
// reads as @name, <@&role> as @role. A name not known yet shows "…" and fills itself in when the
// profile arrives; a token the preview cut in half (it is the first 200 characters) reads "@…".

import { h } from '../dom.js';
import * as store from '../store.js';

const TOKEN = /<@(&?)([0-9a-z]{26})>|<@&?[0-9a-z]{0,25}…?$/g;

function userLabel(id) {
  const u = store.state.users.get(id);
  return `@${u && u.home ? store.handleOf(u) : store.displayName(id)}`;
}

/** `text` as nodes: text, and a span per mention. */
export function mentionNodes(text) {
  const out = [];
  let last = 0;
  for (const m of (text || '').matchAll(TOKEN)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (!m[2]) {
      out.push('@…');
    } else if (m[1]) {
      const role = [...store.state.roles.values()].flat().find((r) => r.id === m[2]);
      out.push(h('span', { class: 'mention role' }, `@${role ? role.name : 'role'}`));
    } else {
      const span = h('span', { class: `mention${m[2] === store.state.me?.id ? ' me' : ''}`, dataset: { mentionUser: m[2] } }, userLabel(m[2]));
      if (!store.state.users.has(m[2])) waiting(m[2]).add(span);
      out.push(span);
    }
    last = m.index + m[0].length;
  }
  if (last < (text || '').length) out.push(text.slice(last));
  return out;
}

// Spans drawn before their user's profile arrived, filled in when it does (also those of a view
// not in the document yet: a page is often built before it is shown).
const pending = new Map();

function waiting(id) {
  if (!pending.has(id)) pending.set(id, new Set());
  return pending.get(id);
}

store.on('users', (id) => {
  for (const el of pending.get(id) || []) el.textContent = userLabel(id);
  pending.delete(id);
});

/** A user's @name that fills itself in once their profile arrives (a deep link knows nobody yet). */
export function nameSpan(id, cls = '') {
  const span = h('span', { class: cls, dataset: { mentionUser: id } }, userLabel(id));
  if (!store.state.users.has(id)) waiting(id).add(span);
  return span;
}
