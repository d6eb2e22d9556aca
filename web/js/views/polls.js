// Polls on messages and posts: the composer (a dialog from the chat composer, a section of the post
// composer), the poll card with result bars and your vote marked, and live POLL_UPDATE counts.
// Which messages carry a poll is asked in one request per moment (GET /api/v1/polls?ids=) for the
// messages rendered meanwhile, and kept (null: no poll there) so a re-render does not ask again.

import * as api from '../api.js';
import { announce, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';

const enc = encodeURIComponent;
const known = new Map(); // message or post id -> its poll (PollOut), or null
const waiting = new Map(); // id -> [resolve], asked for in the next batch
const closers = new Map(); // poll id -> timer that marks it closed at its deadline
const MAX_ANSWERS = 10;
const DURATIONS = [['1 hour', 3600], ['4 hours', 14400], ['8 hours', 28800], ['1 day', 86400], ['3 days', 259200], ['1 week', 604800]];

// -- reading --------------------------------------------------------------------------------------

function pollOf(id) {
  if (known.has(id)) return Promise.resolve(known.get(id));
  return new Promise((resolve) => {
    if (!waiting.size) setTimeout(flush, 30);
    if (!waiting.has(id)) waiting.set(id, []);
    waiting.get(id).push(resolve);
  });
}

async function flush() {
  const batch = new Map(waiting);
  waiting.clear();
  const ids = [...batch.keys()];
  for (let i = 0; i < ids.length; i += 100) {
    const part = ids.slice(i, i + 100);
    let polls = [];
    try {
      polls = (await api.get(`/api/v1/polls?ids=${part.map(enc).join(',')}`)).polls;
    } catch {
      for (const id of part) for (const done of batch.get(id)) done(null); // asked again next render
      continue;
    }
    const found = new Map(polls.map((p) => [p.id, p]));
    for (const id of part) {
      known.set(id, found.get(id) || null);
      for (const done of batch.get(id)) done(known.get(id));
    }
  }
}

/** Where a message's or post's poll shows once known (nothing for DMs, pending or deleted ones). */
export function pollSlot(item) {
  if (!item || item.pending || item.deleted || !item.community_id) return null;
  const slot = h('div', { class: 'poll-slot', dataset: { pollFor: item.id } });
  if (item.poll && known.get(item.id) === null) known.delete(item.id); // made since we last asked
  const have = known.get(item.id);
  if (have !== undefined) fill(slot, have);
  else pollOf(item.id).then((p) => fill(slot, p));
  return slot;
}

function fill(slot, poll) {
  if (poll) replace(slot, card(poll));
}

function rerender(id) {
  const poll = known.get(id);
  if (!poll) return;
  for (const slot of document.querySelectorAll(`.poll-slot[data-poll-for="${CSS.escape(id)}"]`)) fill(slot, poll);
}

function remaining(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 172800) return `${Math.round(s / 86400)} days`;
  if (s >= 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.max(1, Math.round(s / 60))} min`;
}

function card(poll) {
  const closed = poll.closed || Date.now() >= poll.closes_at;
  const mine = poll.answers.map((a) => a.me);
  const total = poll.answers.reduce((n, a) => n + a.count, 0);
  const answers = poll.answers.map((a, i) => {
    const pct = total ? Math.round((a.count / total) * 100) : 0;
    const bar = h('span', { class: 'poll-bar', 'aria-hidden': 'true' });
    bar.style.width = `${pct}%`;
    return h('li', null, h('button', {
      type: 'button',
      class: `poll-answer${a.me ? ' me' : ''}`,
      'aria-pressed': String(a.me),
      disabled: closed,
      'aria-label': `${a.text}: ${a.count} vote${a.count === 1 ? '' : 's'}, ${pct}%${a.me ? ', your vote' : ''}`,
      onclick: () => choose(poll, i, mine),
    },
    bar,
    a.emoji ? h('span', { class: 'poll-emoji', 'aria-hidden': 'true' }, a.emoji) : null,
    h('span', { class: 'poll-text' }, a.text),
    a.me ? h('span', { class: 'poll-mine', 'aria-hidden': 'true' }, '✓') : null,
    h('span', { class: 'poll-count', 'aria-hidden': 'true' }, `${a.count} · ${pct}%`)));
  });
  let state;
  if (poll.ended_at) state = 'Ended early';
  else if (closed) state = 'Closed';
  else state = `Closes in ${remaining(poll.closes_at - Date.now())}`;
  if (!closed) closeAt(poll);
  const voted = mine.some(Boolean);
  return h('section', { class: `poll${closed ? ' closed' : ''}`, 'aria-label': `Poll: ${poll.question}`, dataset: { pollId: poll.id } },
    h('p', { class: 'poll-q' }, poll.question),
    h('p', { class: 'poll-sub muted' }, poll.multiple ? 'Choose one or more' : 'Choose one', poll.anonymous ? ' · anonymous' : ''),
    h('ul', { class: 'poll-answers' }, answers),
    h('p', { class: 'poll-foot muted' },
      h('span', { class: 'poll-voters' }, `${poll.voters} voter${poll.voters === 1 ? '' : 's'}`), ' · ',
      h('span', { class: 'poll-state' }, state),
      voted && !closed ? h('button', { type: 'button', class: 'btn link small', onclick: () => vote(poll, []) }, 'Remove vote') : null,
      poll.can_end && !closed ? h('button', { type: 'button', class: 'btn link small', onclick: () => end(poll) }, 'End poll') : null));
}

function closeAt(poll) {
  const left = poll.closes_at - Date.now();
  if (closers.has(poll.id) || left > 2 ** 31 - 1) return;
  closers.set(poll.id, setTimeout(() => { closers.delete(poll.id); rerender(poll.id); }, left + 50));
}

// -- voting ---------------------------------------------------------------------------------------

function choose(poll, i, mine) {
  let choices;
  if (poll.multiple) choices = mine.map((on, j) => (j === i ? !on : on)).flatMap((on, j) => (on ? [j] : []));
  else choices = mine[i] ? [] : [i];
  vote(poll, choices);
}

async function vote(poll, choices) {
  try {
    known.set(poll.id, await api.put(`/api/v1/polls/${enc(poll.id)}/vote`, { choices }));
    rerender(poll.id);
    announce(choices.length ? 'Vote saved.' : 'Vote removed.');
  } catch (err) {
    announce(err.message);
  }
}

async function end(poll) {
  try {
    known.set(poll.id, await api.post(`/api/v1/polls/${enc(poll.id)}/end`));
    rerender(poll.id);
    announce('Poll ended.');
  } catch (err) {
    announce(err.message);
  }
}

/** POLL_UPDATE: new counts (and, unless anonymous, whose vote changed). */
export function pollUpdate(d) {
  const poll = known.get(d.id);
  if (!poll) return;
  const me = store.state.me?.id;
  const answers = poll.answers.map((a, i) => ({ ...a, count: d.counts[i] ?? a.count, me: d.user_id === me ? (d.choices || []).includes(i) : a.me }));
  const ended = d.ended_at ?? poll.ended_at;
  known.set(d.id, { ...poll, answers, voters: d.voters, ended_at: ended, closed: poll.closed || !!ended, can_end: poll.can_end && !ended });
  rerender(d.id);
}

// -- composing ------------------------------------------------------------------------------------

/** The poll's fields: {el, value()}; value() throws an Error saying what is missing. */
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

/** The chat composer's poll button: a dialog that sends a message carrying the poll. */
export function pollButton(composer) {
  return h('button', {
    type: 'button', class: 'icon-btn poll-open', 'aria-label': 'Create a poll', title: 'Poll', 'aria-haspopup': 'dialog',
    onclick: () => openChatPoll(composer.chat),
  }, icon('poll'));
}

function openChatPoll(chat) {
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
          const m = await api.post(`/api/v1/channels/${enc(chat.channelId)}/messages`, { content: '', poll });
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

/** The post composer's poll section, folded until asked for: {el, value()} (value: null without one). */
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
