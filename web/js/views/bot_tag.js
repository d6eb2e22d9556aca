// Bots in the chat: the BOT tag by a bot's name, and "X used /name" above a bot's answer to a slash
// command. Small and loaded with the chat; the slash-command machinery (slash.js) loads on first `/`.

import { h } from '../dom.js';
import * as store from '../store.js';

/** A bot's message: the BOT tag by its name, and who used which command above an answer. */
export function decorateBot(el, m) {
  const author = store.user(m.author_id);
  if (author?.bot) {
    const name = el.querySelector('.msg-head .author');
    if (name && !el.querySelector('.bot-tag')) name.after(h('span', { class: 'bot-tag', title: 'A bot account' }, 'BOT'));
  }
  if (m.interaction) {
    const main = el.querySelector('.msg-main');
    const who = store.displayName(m.interaction.user_id);
    // A name not loaded yet is marked so the chat re-renders the message once it is (refreshNames).
    const caller = h('span', { class: who === '…' ? 'author pending-name' : 'caller' }, who);
    if (main) main.prepend(h('p', { class: 'used-command muted' }, caller, ` used /${m.interaction.name}`));
  }
  return el;
}
