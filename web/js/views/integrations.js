// Integrations in the chat: a webhook message shows the integration's name with an APP tag (not the
// member who owns the webhook), and a message with links gets its link previews as embed cards.
// Previews are asked for in one request per channel per moment (GET /channels/<id>/embeds?ids=),
// only for messages whose text has a link, and kept so a re-render does not ask again.

import * as R from '../content.js';
import { announce, h, initials, replace } from '../dom.js';

const LINK = /https?:\/\/[^\s<>"'`]+/;
const known = new Map(); // message id -> { edited, list }: its previews as of that edit (empty: none)
const queued = new Map(); // channel id -> Map(message id -> [resolve])
const hidden = new Set(); // messages whose previews this member hid in this session

/** The integration's name and tag in place of the author's, and its avatar in the gutter. */
export function decorateIntegration(el, m) {
  const app = m.integration;
  if (!app) return el;
  el.classList.add('from-app');
  const author = el.querySelector('.msg-head .author');
  if (author) {
    author.replaceWith(h('span', { class: 'author app-name' }, app.name),
      h('span', { class: 'app-tag', title: 'Posted by an app through a webhook' }, 'APP'));
  }
  const gutter = el.querySelector(':scope > .avatar');
  if (gutter) {
    gutter.replaceWith(app.avatar
      ? h('img', { class: 'avatar md app-avatar', src: R.media.fileUrl(app.avatar, 'thumb_160'), alt: '', 'aria-hidden': 'true', onerror: (e) => { e.currentTarget.src = R.media.fileUrl(app.avatar, 'original'); } })
      : h('span', { class: 'avatar md app-avatar', 'aria-hidden': 'true' }, initials(app.name)));
  }
  return el;
}

/** Two messages group only when the same integration (or the same member, not as an app) sent them. */
export function sameSender(a, b) {
  return (a.integration?.webhook_id || '') === (b.integration?.webhook_id || '') && (a.integration?.name || '') === (b.integration?.name || '');
}

/** A container the message's link previews fill once known (nothing for a message without links). */
export function embedSlot(channelId, m) {
  if (m.pending || m.deleted || !LINK.test(m.content || '')) return null;
  const slot = h('div', { class: 'embeds' });
  const edited = m.edited_at || 0;
  const have = known.get(m.id);
  if (have && have.edited === edited) fill(slot, have.list);
  else {
    embedsOf(channelId, m.id).then((list) => {
      known.set(m.id, { edited, list });
      fill(slot, list);
    }).catch(() => {});
  }
  return slot;
}

function fill(slot, list) {
  replace(slot, list.map(card));
}

function card(e) {
  let host = '';
  try { host = new URL(e.url).hostname; } catch { /* shown without a host */ }
  const title = e.title ? h('a', { class: 'embed-title', href: e.url, target: '_blank', rel: 'noopener noreferrer nofollow ugc' }, e.title) : null;
  return h('article', { class: 'embed-card', 'aria-label': `Link preview: ${e.title || host}` },
    h('div', { class: 'embed-text' },
      h('div', { class: 'embed-site muted' }, e.site_name || host),
      title,
      e.description ? h('p', { class: 'embed-desc' }, e.description) : null),
    e.image ? h('img', {
      class: 'embed-image', src: new URL(e.image.url, location.origin).pathname, alt: '', loading: 'lazy',
      width: e.image.width || undefined, height: e.image.height || undefined,
    }) : null);
}

/** The previews of one message, asked for together with the other messages rendered meanwhile. */
function embedsOf(channelId, id) {
  return new Promise((resolve, reject) => {
    let batch = queued.get(channelId);
    if (!batch) {
      batch = new Map();
      queued.set(channelId, batch);
      setTimeout(() => flush(channelId), 30);
    }
    if (!batch.has(id)) batch.set(id, []);
    batch.get(id).push({ resolve, reject });
  });
}

async function flush(channelId) {
  const batch = queued.get(channelId);
  queued.delete(channelId);
  const ids = [...batch.keys()];
  for (let i = 0; i < ids.length; i += 100) {
    const part = ids.slice(i, i + 100);
    try {
      const out = await R.messages.embeds(channelId, part);
      for (const id of part) {
        const list = out.embeds[id] || [];
        for (const w of batch.get(id)) w.resolve(list);
      }
    } catch (err) {
      for (const id of part) for (const w of batch.get(id)) w.reject(err);
    }
  }
}

/** Forget what is known of a message's previews (its author hid or showed them again). */
export function forgetEmbeds(id) {
  known.delete(id);
}

/** The message menu's "Hide link previews" (or "Show" again) for its author and moderators. */
export function embedAction(view, m, allowed) {
  if (!allowed || view.dm || m.pending || !LINK.test(m.content || '')) return null;
  if (hidden.has(m.id)) return { label: 'Show link previews', icon: 'link', run: () => toggle(view, m, false) };
  if (!(known.get(m.id)?.list || []).length) return null;
  return { label: 'Hide link previews', icon: 'link', run: () => toggle(view, m, true) };
}

async function toggle(view, m, hide) {
  try {
    await (hide ? R.messages.suppressEmbeds : R.messages.unsuppressEmbeds)(view.channelId, m.id);
  } catch (err) {
    announce(err.message);
    return;
  }
  const slot = document.querySelector(`article.msg[data-id="${CSS.escape(m.id)}"] .embeds`);
  if (hide) {
    hidden.add(m.id);
    known.set(m.id, { edited: m.edited_at || 0, list: [] });
    if (slot) replace(slot);
    announce('Link previews hidden.');
  } else {
    hidden.delete(m.id);
    known.delete(m.id);
    if (slot) embedsOf(view.channelId, m.id).then((list) => { known.set(m.id, { edited: m.edited_at || 0, list }); fill(slot, list); }).catch(() => {});
    announce('Link previews shown.');
  }
}
