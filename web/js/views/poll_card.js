// A poll's card: the question, an answer per button with its result bar and count, your vote
// marked, who may end it; votes and ends go to the node and the answer is remembered (polls.js).

import * as R from '../content.js';
import { announce, h } from '../dom.js';
import { current, remember, rerender } from './polls.js';

const closers = new Map(); // poll id -> timer that redraws it closed at its deadline
const queue = new Map(); // poll id -> the vote being sent (the next click waits for it)

function remaining(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s >= 172800) return `${Math.round(s / 86400)} days`;
  if (s >= 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.max(1, Math.round(s / 60))} min`;
}

export function card(poll) {
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
      onclick: () => choose(poll, i),
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

/** One click: the whole new vote, worked out from the answer to the previous click (two quick
 * clicks on a multiple-choice poll must keep both answers), so a poll's votes go one at a time. */
function choose(poll, i) {
  const run = () => {
    const now = current(poll.id) || poll;
    const mine = now.answers.map((a) => a.me);
    let choices;
    if (now.multiple) choices = mine.map((on, j) => (j === i ? !on : on)).flatMap((on, j) => (on ? [j] : []));
    else choices = mine[i] ? [] : [i];
    return vote(now, choices);
  };
  const next = (queue.get(poll.id) || Promise.resolve()).then(run);
  queue.set(poll.id, next);
  next.finally(() => { if (queue.get(poll.id) === next) queue.delete(poll.id); });
}

async function vote(poll, choices) {
  try {
    remember(await R.polls.vote(poll.id, { choices }));
    announce(choices.length ? 'Vote saved.' : 'Vote removed.');
  } catch (err) {
    announce(err.message);
  }
}

async function end(poll) {
  try {
    remember(await R.polls.end(poll.id));
    announce('Poll ended.');
  } catch (err) {
    announce(err.message);
  }
}
