// Writing a poll: its fields, the chat composer's dialog (a message carrying the poll) and the post
// composer's section (folded until asked for).

import * as R from '../content.js';
import { announce, h } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';

const MAX_ANSWERS = 10;
const DURATIONS = [['1 hour', 3600], ['4 hours', 14400], ['8 hours', 28800], ['1 day', 86400], ['3 days', 259200], ['1 week', 604800]];

export function pollFields(prefix) {
  const question = h('input', { id: `${prefix}-q`, maxlength: 300, placeholder: 'Ask a question' });
  const list = h('ol', { class: 'poll-edit-answers' });
  const add = h('button', { type: 'button', class: 'btn small', onclick: () => addRow() }, 'Add answer');
  const multiple = h('input', { type: 'checkbox', id: `${prefix}-multi` });
  const anonymous = h('input', { type: 'checkbox', id: `${prefix}-anon` });
  const duration = h('select', { id: `${prefix}-dur` }, DURATIONS.map(([label, s]) => h('option', { value: String(s), selected: s === 86400 }, label)));
  const rows = [];
  const renumber = () => {
    rows.forEach((r, i) => {
      r.text.setAttribute('aria-label', `Answer ${i + 1}`);
      r.emoji.setAttribute('aria-label', `Answer ${i + 1} emoji (optional)`);
      r.remove.hidden = rows.length <= 2;
    });
    add.hidden = rows.length >= MAX_ANSWERS;
  };
  const addRow = (focus = true) => {
    const row = {
      emoji: h('input', { class: 'poll-edit-emoji', maxlength: 16, placeholder: '🙂' }),
      text: h('input', { class: 'poll-edit-text', maxlength: 80, placeholder: 'Answer' }),
    };
    row.remove = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Remove answer', onclick: () => {
      rows.splice(rows.indexOf(row), 1);
      row.li.remove();
      renumber();
    } }, icon('close', 16));
    row.li = h('li', null, row.emoji, row.text, row.remove);
    rows.push(row);
    list.append(row.li);
    renumber();
    if (focus) row.text.focus();
  };
  addRow(false);
  addRow(false);
  const el = h('div', { class: 'poll-edit' },
    h('div', { class: 'field' }, h('label', { for: `${prefix}-q` }, 'Question'), question),
    h('fieldset', { class: 'poll-edit-set' }, h('legend', null, 'Answers'), list, add),
    h('div', { class: 'field' }, h('label', { for: `${prefix}-dur` }, 'Open for'), duration),
    h('div', { class: 'check' }, multiple, h('label', { for: `${prefix}-multi` }, 'Allow several answers')),
    h('div', { class: 'check' }, anonymous, h('label', { for: `${prefix}-anon` }, 'Anonymous (counts shown, voters hidden)')));
  const value = () => {
    const answers = rows.map((r) => ({ text: r.text.value.trim(), emoji: r.emoji.value.trim() || null }))
      .filter((a) => a.text)
      .map((a) => (a.emoji ? a : { text: a.text }));
    if (!question.value.trim()) throw new Error('A poll needs a question.');
    if (answers.length < 2) throw new Error('A poll needs at least two answers.');
    return { question: question.value.trim(), answers, multiple: multiple.checked, anonymous: anonymous.checked, duration_s: Number(duration.value) };
  };
  return { el, value, focus: () => question.focus() };
}

export function openChatPoll(chat) {
  modal('Create a poll', (close) => {
    const fields = pollFields('chat-poll');
    const error = h('p', { class: 'form-banner', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Post poll');
    return h('form', {
      class: 'modal-body poll-compose',
      onsubmit: async (e) => {
        e.preventDefault();
        let poll;
        try { poll = fields.value(); } catch (err) { error.textContent = err.message; return; }
        submit.disabled = true;
        try {
          const m = await R.messages.send(chat.channelId, { content: '', poll });
          store.mergeMessages(chat.channelId, [m]);
          store.emit('messages', { channelId: chat.channelId, added: [m.id] });
          announce('Poll posted.');
          close();
          chat.scrollToBottom?.();
        } catch (err) {
          error.textContent = err.field ? `${err.field}: ${err.message}` : err.message;
          submit.disabled = false;
        }
      },
    }, error, fields.el, h('div', { class: 'modal-actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'), submit));
  }, { className: 'poll-dialog' });
}

export function postPollPart() {
  const fields = pollFields('post-poll');
  let on = false;
  const body = h('div', { class: 'poll-part', hidden: true }, fields.el);
  const toggle = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', onclick: () => {
    on = !on;
    body.hidden = !on;
    toggle.setAttribute('aria-expanded', String(on));
    toggle.textContent = on ? 'Remove poll' : 'Add a poll';
    if (on) fields.focus();
  } }, 'Add a poll');
  return { el: h('div', { class: 'field' }, toggle, body), value: () => (on ? fields.value() : null) };
}
