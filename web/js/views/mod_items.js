// Pieces of the community moderation page (moderation.js): a reports-queue item that shows what was
// reported, who wrote it and a link to it; the time-out form (a duration and a reason, not a fixed
// ten minutes); and how a mod log entry about a message, post or comment reads.

import * as R from '../content.js';
import { announce, formatTime, h } from '../dom.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';
import { nameSpan } from './mentions.js';

export const DURATIONS = [
  [60, '60 seconds'], [300, '5 minutes'], [600, '10 minutes'], [3600, '1 hour'], [86400, '1 day'], [604800, '1 week'],
];

/** Where a message, post or comment lives in the app. */
export function contentHref(communityId, type, id, channelId, postId) {
  if (!channelId) return null;
  const base = `/channels/${communityId}/${channelId}`;
  if (type === 'message') return `${base}#m-${id}`;
  if (type === 'post') return `${base}/${id}`;
  if (type === 'comment' && postId) return `${base}/${postId}#c-${id}`;
  return null;
}

/** The time-out dialog: resolves once the member is timed out (true) or the moderator cancels. */
export function timeoutDialog(communityId, userId, name, { reason = '' } = {}) {
  return new Promise((resolve) => {
    const m = modal(`Time out ${name}`, (close) => {
      const duration = h('select', { id: 'timeout-duration', name: 'duration' },
        DURATIONS.map(([s, label]) => h('option', { value: String(s), selected: s === 600 }, label)));
      const why = h('textarea', { id: 'timeout-reason', name: 'reason', rows: 2, maxlength: 500 }, reason);
      const error = h('p', { class: 'field-error', role: 'alert' });
      const form = h('form', {
        class: 'modal-body timeout-form',
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await R.moderation.timeout(communityId, userId, { duration_s: Number(duration.value), reason: why.value.trim() });
            const label = DURATIONS.find(([s]) => String(s) === duration.value)[1];
            announce(`${name} is timed out for ${label}.`);
            close('done');
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      h('p', { class: 'muted' }, `${name} can read but not write, react or join voice until it ends.`),
      h('div', { class: 'field' }, h('label', { for: 'timeout-duration' }, 'Duration'), duration),
      h('div', { class: 'field' }, h('label', { for: 'timeout-reason' }, 'Reason (in the mod log)'), why),
      error,
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn danger' }, 'Time out')));
      return form;
    }, { className: 'timeout-dialog' });
    m.dialog.addEventListener('close', () => resolve(m.dialog.returnValue === 'done'));
  });
}

/** One open report: what, by whom, a link, the reason, and the actions. */
export function reportItem(view, r, resolve) {
  const kind = r.target_type;
  const author = r.target_user;
  const href = kind === 'member' ? null : contentHref(view.communityId, kind, r.target_id, r.channel_id, r.post_id);
  return h('li', { class: 'report', dataset: { id: r.id, type: kind } },
    h('p', { class: 'report-head' },
      h('strong', null, kind === 'member' ? 'Member' : `${kind[0].toUpperCase()}${kind.slice(1)}`),
      author ? [kind === 'member' ? ' ' : ' by ', nameSpan(author, 'report-author')] : null,
      h('span', { class: 'muted' }, ' · reported by ', r.reporter_id ? nameSpan(r.reporter_id) : 'automod', ` · ${formatTime(r.created_at)}`)),
    r.excerpt ? h('blockquote', { class: 'report-excerpt' }, r.excerpt)
      : kind !== 'member' ? h('p', { class: 'muted' }, `The ${kind} is gone (deleted by its author).`) : null,
    h('p', null, 'Reason: ', r.reason || h('span', { class: 'muted' }, 'none given')),
    h('div', { class: 'report-actions' },
      href ? h('a', { class: 'btn', href, onclick: (e) => { e.preventDefault(); view.shell.navigate(href); } }, `Open ${kind}`) : null,
      kind !== 'member' && r.channel_id ? h('button', { class: 'btn danger', onclick: () => resolve(true) }, 'Remove content') : null,
      author && author !== store.state.me?.id ? h('button', {
        class: 'btn',
        onclick: async () => {
          if (await timeoutDialog(view.communityId, author, `@${store.displayName(author)}`, { reason: r.reason })) {
            await R.moderation.updateReport(view.communityId, r.id, { status: 'resolved', action_taken: 'timed out' }).catch((err) => announce(err.message));
            view.show('reports');
          }
        },
      }, 'Time out author') : null,
      h('button', { class: 'btn', onclick: () => resolve(false) }, 'Dismiss')));
}

const VERBS = { remove: 'removed', approve: 'restored' };

/** A mod log entry about a message, post or comment: what it was and whose, linked. */
export function contentTarget(view, e) {
  const [kind, verb] = e.action.split('_');
  const c = e.content;
  const ch = store.channelById(c?.channel_id || e.details?.channel_id);
  const where = ch ? ` in #${ch.name}` : '';
  const href = c ? contentHref(view.communityId, kind, e.target, c.channel_id, c.post_id) : null;
  const label = c
    ? [`${kind} by `, nameSpan(c.author_id), c.excerpt ? `: “${c.excerpt.length > 80 ? `${c.excerpt.slice(0, 80)}…` : c.excerpt}”` : '', where]
    : [kind, where];
  return h('span', { class: 'modlog-content', title: VERBS[verb] || verb }, href
    ? h('a', { href, onclick: (ev) => { ev.preventDefault(); view.shell.navigate(href); } }, label) : label);
}
