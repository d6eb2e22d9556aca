// A chat view's messages: how they look (each message's markup and toolbar, grouping, live changes
// applied in place so an unchanged message keeps its element and focus, the typing line) and what a
// member does to them (react, edit in place, delete, pin). The menu and touch sheet: message_menu.js.

import { messages as M } from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { renderAttachments } from './attachments.js';
import { decorateBot } from './bot_tag.js';
import { ack, remember, toPresent } from './chat_history.js';
import { emojiGlyph, emojiName } from './custom_emoji.js';
import { confirmDialog, reactionPicker } from './dialogs.js';
import { collapseBlocked } from './friends.js';
import { decorateIntegration, embedSlot, sameSender } from './integrations.js';
import { renderBody } from './markup.js';
import { extraToolbarButtons } from './message_menu.js';
import { pollSlot } from './polls.js';
import { profileTrigger } from './profile_card.js';
import { avatar } from './shell.js';
import { threadSummary } from './thread_pane.js';
import { unreadMark } from './unread_divider.js';

const { state } = store;
const GROUP_MS = 5 * 60 * 1000;

// -- how they look ----------------------------------------------------------------------------------

export function applyChange(view, { added = [], updated = [], removed = [] }) {
  const stick = view.nearBottom();
  remember(view);
  for (const id of removed) {
    const el = view.elements.get(id);
    if (el) {
      if (el.contains(document.activeElement)) view.list.focus();
      el.remove();
      view.elements.delete(id);
    }
  }
  for (const id of updated) redraw(view, id);
  renderAll(view);
  if (added.some((id) => !view.bucket.byId.get(id)?.thread_id)) {
    const theirs = added.map((id) => view.bucket.byId.get(id)).filter((m) => m && !m.thread_id && m.author_id !== state.me?.id);
    if (view.bucket.hasNewer) {
      // Reading a window into history: what arrives live waits behind "jump to present".
      if (!theirs.length) toPresent(view);
      else view.jump.hidden = false;
    } else if (stick || !theirs.length) view.scrollToBottom();
    else view.jump.hidden = false;
    for (const m of theirs) announce(`${store.displayName(m.author_id)}: ${m.content.slice(0, 140)}`);
    ack(view);
  }
}

/** Draw a message anew at the next renderAll, in its element's place (keeping focus and a jump's mark). */
export function redraw(view, id) {
  const el = view.elements.get(id);
  if (el) el.dataset.rev = '';
}

export function renderAll(view) {
  let prev = null;
  let refocus = null;
  const desired = [];
  for (const m of [...view.bucket.list.filter((x) => !x.thread_id), ...view.composer.pending()]) { // thread replies: thread_pane.js
    const grouped = !!prev && prev.author_id === m.author_id && sameSender(prev, m) && !m.reply_to && m.created_at - prev.created_at < GROUP_MS;
    let el = view.elements.get(m.id);
    if (!el || el.dataset.grouped !== String(grouped) || el.dataset.rev !== rev(m)) {
      const fresh = renderMessage(view, m, grouped);
      if (el) {
        if (document.activeElement === el) refocus = fresh;
        if (el.classList.contains('jump-target')) fresh.classList.add('jump-target'); // drawn again mid-jump
        el.remove();
      }
      el = fresh;
      view.elements.set(m.id, el);
    }
    desired.push(el);
    prev = m;
  }
  const keep = new Set(desired);
  for (const child of [...view.list.children]) {
    if (keep.has(child)) continue;
    if (view.elements.get(child.dataset.id) === child) view.elements.delete(child.dataset.id);
    child.remove();
  }
  desired.forEach((el, i) => {
    const at = view.list.children[i];
    if (at !== el) view.list.insertBefore(el, at || null);
  });
  if (refocus) refocus.focus();
  if (!view.bucket.hasMore && view.bucket.loaded) view.historyStatus.textContent = `This is the beginning of ${view.label}.`;
  else if (!view.bucket.loading) view.historyStatus.textContent = '';
}

export function refreshNames(view) {
  for (const [id, el] of view.elements) {
    if (el.querySelector('.author.pending-name') || el.querySelector('.mention.pending-name')) redraw(view, id);
  }
  renderAll(view);
  renderTyping(view);
}

function renderMessage(view, m, grouped) {
  const mine = m.author_id === state.me?.id;
  const pending = !!m.pending;
  const nameText = store.displayName(m.author_id);
  const headId = `mh-${m.id}`;
  const bodyId = `mb-${m.id}`;
  const mentioned = !mine && ((m.mentions || []).includes(state.me?.id) || m.mention_everyone);
  const body = h('div', { class: 'msg-body', id: bodyId }, renderBody(m));
  if (m.edited_at) body.append(' ', h('span', { class: 'edited muted', title: formatTime(m.edited_at) }, '(edited)'));
  if (pending) body.append(' ', h('span', { class: `send-state ${m.pending}` }, m.pending === 'failed' ? 'Not sent.' : 'Sending…'));
  const el = h('article', {
    class: `msg${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}${pending ? ' pending' : ''}${mentioned ? ' mentioned' : ''}${m.pinned ? ' pinned' : ''}`,
    tabindex: '-1',
    'aria-labelledby': `${headId} ${bodyId}`,
    dataset: { id: m.id, grouped: String(grouped), rev: rev(m) },
    onkeydown: (e) => view.messageKeys(e, m),
  },
    unreadMark(view, m),
    m.reply_to ? replyRef(view, m.reply_to) : null,
    grouped ? h('span', { class: 'gutter-time muted', 'aria-hidden': 'true' }, new Date(m.created_at).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })) : profileTrigger(avatar(m.author_id), m.author_id),
    h('div', { class: 'msg-main' },
      h('h3', { class: `msg-head${grouped ? ' sr-only' : ''}`, id: headId },
        profileTrigger(h('span', { class: `author${nameText === '…' ? ' pending-name' : ''}` }, nameText), m.author_id),
        h('time', { class: 'muted', datetime: new Date(m.created_at).toISOString() }, formatTime(m.created_at)),
        m.pinned ? h('span', { class: 'pin-mark', title: 'Pinned' }, icon('pin', 14), h('span', { class: 'sr-only' }, 'pinned')) : null),
      body,
      renderAttachments(m),
      embedSlot(view.channelId, m),
      pollSlot(m),
      reactions(view, m),
      threadSummary(view, m)),
    pending ? pendingToolbar(view, m) : toolbar(view, m));
  return collapseBlocked(decorateBot(decorateIntegration(el, m), m), m);
}

function replyRef(view, id) {
  const target = view.bucket.byId.get(id);
  const text = target ? `${store.displayName(target.author_id)}: ${target.content.slice(0, 100)}` : 'Original message not loaded';
  return h('button', {
    class: 'reply-ref muted',
    tabindex: '-1',
    'aria-label': `Reply to ${text}`,
    onclick: () => view.focusMessage(id),
  }, h('span', { 'aria-hidden': 'true' }, '↪ '), text);
}

function reactions(view, m) {
  if (!m.reactions || !m.reactions.length) return null;
  return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    m.reactions.map((r) => h('button', {
      class: `reaction${r.me ? ' me' : ''}`,
      'aria-pressed': String(!!r.me),
      'aria-label': `${emojiName(r.emoji)} ${r.count} ${r.count === 1 ? 'reaction' : 'reactions'}${r.me ? ', including yours' : ''}`,
      onclick: () => toggleReaction(view, m, r.emoji),
    }, emojiGlyph(r.emoji, view.channel?.community_id), h('span', { class: 'count', 'aria-hidden': 'true' }, String(r.count)))));
}

function toolbar(view, m) {
  const mine = m.author_id === state.me?.id;
  const moderator = store.can(view.perms, store.PERM.MANAGE_MESSAGES);
  const button = (label, icon, fn, key) => h('button', {
    class: 'icon-btn', tabindex: '-1', 'aria-label': label, title: label, 'aria-keyshortcuts': key, onclick: (e) => fn(e),
  }, icon);
  return h('div', { class: 'msg-actions', role: 'toolbar', 'aria-label': 'Message actions', onkeydown: (e) => view.toolbarKeys(e) },
    button('Add reaction', icon('smile', 18), (e) => pickReaction(view, m, e.currentTarget), '+'),
    button('Reply', icon('reply', 18), () => view.composer.replyTo(m), 'R'),
    mine ? button('Edit', icon('edit', 18), () => startEdit(view, m), 'E') : null,
    !view.dm && moderator ? button(m.pinned ? 'Unpin' : 'Pin', icon('pin', 18), () => togglePin(view, m), 'P') : null,
    mine || moderator ? button('Delete', icon('trash', 18), (e) => remove(view, m, e.shiftKey), 'Delete') : null,
    // Start thread, Report (a DM's to the node admins, a channel's to its moderators), More
    ...extraToolbarButtons(view, m, button));
}

/** A message still in the outbox has no toolbar until it fails: then Retry and Discard. */
function pendingToolbar(view, m) {
  if (m.pending !== 'failed') return null;
  return h('div', { class: 'msg-actions visible', role: 'toolbar', 'aria-label': 'Unsent message actions' },
    h('button', { class: 'btn small', onclick: () => view.composer.retry(m.id) }, 'Retry'),
    h('button', { class: 'btn small', onclick: () => view.composer.discard(m.id) }, 'Discard'));
}

/** A message's render key: a message whose key is unchanged keeps its element. */
function rev(m) {
  const reactions = (m.reactions || []).map((r) => `${r.emoji}${r.count}${r.me ? '+' : ''}`).join(',');
  return `${m.edited_at || 0}|${m.pinned ? 1 : 0}|${m.deleted ? 1 : 0}|${reactions}|${m.pending || ''}|${m.content}`;
}

export function renderTyping(view) {
  const ids = store.typingIn(view.channelId);
  const names = ids.map(store.displayName);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  view.typingLine.textContent = text;
}

// -- what a member does to them ----------------------------------------------------------------------

async function toggleReaction(view, m, emoji) {
  const mine = (m.reactions || []).find((r) => r.emoji === emoji && r.me);
  try {
    if (mine) await M.unreact(view.channelId, m.id, emoji);
    else await M.react(view.channelId, m.id, emoji);
  } catch (err) {
    announce(err.message);
  }
}

export async function pickReaction(view, m, anchor) {
  // The full picker (search, custom emoji), loaded on first use; the small one if that fails.
  const picker = await import('./emoji_picker.js').catch(() => null);
  if (!picker) return reactionPicker(anchor, (emoji) => toggleReaction(view, m, emoji));
  return picker.openEmojiPicker({ title: 'Add reaction', communityId: view.dm ? null : view.channel?.community_id, pick: (item) => toggleReaction(view, m, item.value) });
}

export function startEdit(view, m) {
  const el = view.elements.get(m.id);
  if (!el) return;
  const body = el.querySelector('.msg-body');
  const input = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: '2', value: m.content });
  const hint = h('p', { class: 'edit-hint muted' }, 'Escape to cancel • Enter to save');
  const error = h('p', { class: 'field-error', role: 'alert' });
  const finish = () => {
    redraw(view, m.id);
    view.renderAll();
    view.focusMessage(m.id);
  };
  input.addEventListener('keydown', async (e) => {
    e.stopPropagation();
    if (e.key === 'Escape') { e.preventDefault(); finish(); }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) { remove(view, m, false); return; }
      if (text === m.content) { finish(); return; }
      try {
        const updated = await M.edit(view.channelId, m.id, text);
        store.mergeMessages(view.channelId, [updated]);
        finish();
      } catch (err) {
        error.textContent = err.message;
      }
    }
  });
  replace(body, input, hint, error);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

export async function remove(view, m, skipConfirm) {
  const ok = skipConfirm || await confirmDialog('Delete message', 'Are you sure you want to delete this message? This cannot be undone.', 'Delete');
  if (!ok) return;
  const els = view.messageEls();
  const i = els.indexOf(view.elements.get(m.id));
  try {
    await M.remove(view.channelId, m.id);
    store.removeMessage(view.channelId, m.id);
    view.applyChange({ removed: [m.id] });
    announce('Message deleted.');
    const next = els[i + 1] || els[i - 1];
    if (next && next.isConnected) next.focus(); else view.focusComposer();
  } catch (err) {
    announce(err.message);
  }
}

export async function togglePin(view, m) {
  // The state we asked for, set (not flipped) once the node agrees: the CONTENT_MODERATE push
  // may already have set it while the request was on its way back.
  const pinned = !m.pinned;
  try {
    if (pinned) await M.pin(view.channelId, m.id);
    else await M.unpin(view.channelId, m.id);
    const current = view.bucket.byId.get(m.id) || m;
    current.pinned = pinned;
    redraw(view, m.id);
    view.renderAll();
    announce(pinned ? 'Message pinned.' : 'Message unpinned.');
  } catch (err) {
    announce(err.message);
  }
}

export async function showPins(view) {
  const { pinsDialog } = await import('./dialogs.js');
  pinsDialog(view);
}
