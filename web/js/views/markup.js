// A message's text as DOM: the server's sanitized HTML when it sends one, else our text-node-only
// Markdown subset; mention tokens (<@user>, <@&role>, @everyone) become highlighted names.

import { h, markdownNodes, safeHTML, splitText } from '../dom.js';
import * as store from '../store.js';
import { decorateTokens } from './rich_text.js';

const MENTION = /<@(&?)([0-9a-z]{26})>|@(everyone|here)\b/g;

function decorate(node) {
  splitText(node, MENTION, (m) => {
    if (m[3]) return h('span', { class: 'mention' }, `@${m[3]}`);
    if (m[1]) {
      const roles = [...store.state.roles.values()].flat();
      const role = roles.find((r) => r.id === m[2]);
      return h('span', { class: 'mention role' }, `@${role ? role.name : 'role'}`);
    }
    // A user from another node shows as name@home: a display name could pass for a local user's.
    const u = store.state.users.get(m[2]);
    const name = u && u.home ? store.handleOf(u) : store.displayName(m[2]);
    return h('span', { class: `mention${m[2] === store.state.me?.id ? ' me' : ''}${name === '…' ? ' pending-name' : ''}` }, `@${name}`);
  });
}

// Spoilers and custom emoji, then mentions in the plain text around and inside them.
const rich = (node) => decorateTokens(node, decorate);

export function renderBody(m) {
  if (m.deleted) return h('em', { class: 'muted' }, 'Message deleted');
  const html = m.content_html ?? m.html;
  if (typeof html === 'string') return safeHTML(html, rich);
  return markdownNodes(m.content || '', rich);
}
