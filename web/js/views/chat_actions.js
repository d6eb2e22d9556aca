// What a member does to a chat view's messages: the toolbar, the keys (arrows move between messages,
// letters act), react, edit in place, delete, pin. The context menu and touch sheet: message_menu.js.

import { messages as M } from '../content.js';
import { announce, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { loadOlder } from './chat_history.js';
import { confirmDialog, reactionPicker } from './dialogs.js';
import { extraToolbarButtons } from './message_menu.js';
import { openThread } from './thread_pane.js';

const { state } = store;

// -- the toolbar ------------------------------------------------------------------------------------

export function toolbar(view, m) {
  const mine = m.author_id === state.me?.id;
  const moderator = store.can(view.perms, store.PERM.MANAGE_MESSAGES);
  const button = (label, icon, fn, key) => h('button', {
    class: 'icon-btn', tabindex: '-1', 'aria-label': label, title: label, 'aria-keyshortcuts': key, onclick: (e) => fn(e),
  }, icon);
  return h('div', { class: 'msg-actions', role: 'toolbar', 'aria-label': 'Message actions', onkeydown: (e) => toolbarKeys(e) },
    button('Add reaction', icon('smile', 18), (e) => pickReaction(view, m, e.currentTarget), '+'),
    button('Reply', icon('reply', 18), () => view.composer.replyTo(m), 'R'),
    mine ? button('Edit', icon('edit', 18), () => startEdit(view, m), 'E') : null,
    !view.dm && moderator ? button(m.pinned ? 'Unpin' : 'Pin', icon('pin', 18), () => togglePin(view, m), 'P') : null,
    mine || moderator ? button('Delete', icon('trash', 18), (e) => remove(view, m, e.shiftKey), 'Delete') : null,
    // Start thread, Report (a DM's to the node admins, a channel's to its moderators), More
    ...extraToolbarButtons(view, m, button));
}

/** A message still in the outbox has no toolbar until it fails: then Retry and Discard. */
export function pendingToolbar(view, m) {
  if (m.pending !== 'failed') return null;
  return h('div', { class: 'msg-actions visible', role: 'toolbar', 'aria-label': 'Unsent message actions' },
    h('button', { class: 'btn small', onclick: () => view.composer.retry(m.id) }, 'Retry'),
    h('button', { class: 'btn small', onclick: () => view.composer.discard(m.id) }, 'Discard'));
}

// -- keyboard ---------------------------------------------------------------------------------------

function messageEls(view) {
  return [...view.list.querySelectorAll('article.msg')];
}

export function focusMessage(view, id) {
  const el = view.elements.get(id);
  if (el) {
    el.scrollIntoView({ block: 'center' });
    el.focus();
  }
}

/** Keys on the list itself (before a message has focus): into the messages. */
export function listKeys(view, e) {
  if (e.target !== view.list) return;
  const els = messageEls(view);
  if (!els.length) return;
  if (e.key === 'ArrowUp' || e.key === 'End') {
    e.preventDefault();
    els[els.length - 1].focus();
  } else if (e.key === 'ArrowDown' || e.key === 'Home') {
    e.preventDefault();
    (e.key === 'Home' ? els[0] : els[els.length - 1]).focus();
  }
}

export function messageKeys(view, e, m) {
  if (e.target !== e.currentTarget) return;
  const els = messageEls(view);
  const i = els.indexOf(e.currentTarget);
  const mine = m.author_id === state.me?.id;
  const go = (el) => { if (el) { e.preventDefault(); el.focus(); el.scrollIntoView({ block: 'nearest' }); } };
  switch (e.key) {
    case 'ArrowUp':
      go(els[i - 1]);
      if (i === 0) loadOlder(view);
      break;
    case 'ArrowDown':
      if (i === els.length - 1) { e.preventDefault(); view.focusComposer(); } else go(els[i + 1]);
      break;
    case 'Home': go(els[0]); break;
    case 'End': go(els[els.length - 1]); break;
    case 'Enter':
    case 'ArrowRight': {
      const first = e.currentTarget.querySelector('.msg-actions button');
      if (first) { e.preventDefault(); first.focus(); }
      break;
    }
    case 'e': case 'E': if (mine && !m.pending) { e.preventDefault(); startEdit(view, m); } break;
    case 'r': case 'R': if (!m.pending) { e.preventDefault(); view.composer.replyTo(m); } break;
    case 't': case 'T': if (!m.pending && !view.dm && !m.thread_id) { e.preventDefault(); openThread(view, m); } break;
    case 'p': case 'P': if (!m.pending && !view.dm && store.can(view.perms, store.PERM.MANAGE_MESSAGES)) { e.preventDefault(); togglePin(view, m); } break;
    case '+': if (!m.pending) { e.preventDefault(); pickReaction(view, m, e.currentTarget); } break;
    case 'Delete': case 'Backspace':
      if (!m.pending && (mine || store.can(view.perms, store.PERM.MANAGE_MESSAGES))) { e.preventDefault(); remove(view, m, e.shiftKey); }
      break;
    case 'Escape': e.preventDefault(); view.focusComposer(); break;
    default: break;
  }
}

function toolbarKeys(e) {
  const buttons = [...e.currentTarget.querySelectorAll('button')];
  const i = buttons.indexOf(document.activeElement);
  if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    e.preventDefault();
    e.stopPropagation();
    const next = buttons[(i + (e.key === 'ArrowRight' ? 1 : buttons.length - 1)) % buttons.length];
    next.focus();
  } else if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    e.currentTarget.closest('article').focus();
  }
}

// -- actions ----------------------------------------------------------------------------------------

export async function toggleReaction(view, m, emoji) {
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
    view.elements.delete(m.id);
    view.renderAll();
    focusMessage(view, m.id);
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
  const els = messageEls(view);
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
    view.elements.delete(m.id);
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
