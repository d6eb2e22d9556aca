// Polls on messages and posts (the part every chat load carries, kept small): which rendered
// messages carry a poll is asked in one request per moment (GET /api/v1/polls?ids=) and kept (null:
// no poll there) so a re-render does not ask again; live POLL_UPDATE counts; the composer's button.
// The card (poll_card.js) and the composer (poll_compose.js) load when first needed.

import * as R from '../content.js';
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';

const known = new Map(); // message or post id -> its poll (PollOut), or null
const waiting = new Map(); // id -> [resolve], asked for in the next batch
const cardModule = () => import('./poll_card.js');

/** The poll as last known (null or undefined: none known). */
export function current(id) {
  return known.get(id);
}

/** What is known of a poll now (the card's votes and ends store their answers here). */
export function remember(poll) {
  known.set(poll.id, poll);
  rerender(poll.id);
}

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
      polls = (await R.polls.byIds(part)).polls;
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
  if (poll) cardModule().then((m) => replace(slot, m.card(poll))).catch(() => {});
}

/** Draw a poll again wherever it shows (its deadline passed, its counts moved). */
export function rerender(id) {
  const poll = known.get(id);
  if (!poll) return;
  for (const slot of document.querySelectorAll(`.poll-slot[data-poll-for="${CSS.escape(id)}"]`)) fill(slot, poll);
}

export function pollUpdate(d) {
  const poll = known.get(d.id);
  if (!poll) return;
  const me = store.state.me?.id;
  const answers = poll.answers.map((a, i) => ({ ...a, count: d.counts[i] ?? a.count, me: d.user_id === me ? (d.choices || []).includes(i) : a.me }));
  const ended = d.ended_at ?? poll.ended_at;
  known.set(d.id, { ...poll, answers, voters: d.voters, ended_at: ended, closed: poll.closed || !!ended, can_end: poll.can_end && !ended });
  rerender(d.id);
}

/** The chat composer's poll button: a dialog (poll_compose.js) sends a message carrying the poll. */
export function pollButton(composer) {
  return h('button', {
    type: 'button', class: 'icon-btn poll-open', 'aria-label': 'Create a poll', title: 'Poll', 'aria-haspopup': 'dialog',
    onclick: () => import('./poll_compose.js').then((m) => m.openChatPoll(composer.chat)),
  }, icon('poll'));
}
