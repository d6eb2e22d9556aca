// A message's actions, the same list three ways: extra buttons on the hover toolbar (desktop), a
// context menu on right-click, Shift+F10 or the Menu key, and a sheet on a long press (touch).

import { announce, h } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { embedAction } from './integrations.js';
import { openThread } from './thread_pane.js';

const { state } = store;
const LONG_PRESS_MS = 500;
const MOVE_SLOP = 10; // px a finger may drift before a press counts as a scroll

/** What this member may do with `m`, in menu order: [{label, icon, run, danger}]. */
export function messageActions(view, m) {
  if (m.pending) return [];
  const mine = m.author_id === state.me?.id;
  const moderator = !view.dm && store.can(view.perms, store.PERM.MANAGE_MESSAGES);
  const out = [
    { label: 'Reply', icon: 'reply', run: () => view.composer.replyTo(m) },
    { label: 'Add reaction', icon: 'smile', run: (anchor) => view.pickReaction(m, anchor) },
  ];
  if (canThread(view, m)) out.push({ label: m.thread_count ? 'Open thread' : 'Start thread', icon: 'thread', run: () => openThread(view, m) });
  out.push({ label: 'Copy link', icon: 'link', run: () => copyLink(m) });
  out.push({ label: 'Save message', icon: 'pin', run: () => import('./saved.js').then((s) => s.saveMessage(m)) });
  out.push({ label: 'Forward…', icon: 'send', run: () => import('./forward.js').then((f) => f.forwardDialog(view, m)) });
  const previews = embedAction(view, m, mine || moderator);
  if (previews) out.push(previews);
  if (mine) out.push({ label: 'Edit', icon: 'edit', run: () => view.startEdit(m) });
  if (moderator) out.push({ label: m.pinned ? 'Unpin' : 'Pin', icon: 'pin', run: () => view.togglePin(m) });
  if (mine || moderator) out.push({ label: 'Delete', icon: 'trash', danger: true, run: () => view.remove(m, false) });
  if (!mine) out.push({ label: 'Report', icon: 'flag', danger: true, run: () => report(view, m) });
  return out;
}

/** Threads hang from channel messages (not DMs, and a thread does not nest). */
export function canThread(view, m) {
  return !view.dm && !m.thread_id && !m.pending;
}

function report(view, m) {
  const name = store.displayName(m.author_id);
  // The report dialog loads when first used (it is not on the chat page's first screen).
  import('./report.js').then((r) => {
    if (view.dm) r.reportDialog({ type: 'dm_message', id: m.id, name, excerpt: m.content });
    else r.reportToModerators({ communityId: view.channel?.community_id, type: 'message', id: m.id, name, excerpt: m.content });
  });
}

export function messageLink(m) {
  return `${location.origin}${location.pathname}#m-${encodeURIComponent(m.id)}`;
}

async function copyLink(m) {
  const url = messageLink(m);
  try {
    await navigator.clipboard.writeText(url);
    toast('Link copied.');
  } catch {
    // No clipboard (an insecure origin, or permission refused): show it to copy by hand.
    const { modal } = await import('./dialogs.js');
    modal('Link to this message', () => h('div', { class: 'modal-body' },
      h('label', { for: 'msg-link' }, 'Copy this link'),
      h('input', { id: 'msg-link', readonly: true, value: url, onfocus: (e) => e.target.select() })));
  }
}

/** A short visible note that also goes to screen readers. */
export function toast(text) {
  document.querySelector('.cryb-toast')?.remove();
  const el = h('div', { class: 'cryb-toast', role: 'status' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 2500);
  announce(text);
}

// -- the toolbar ---------------------------------------------------------------------------------

/** Buttons chat_messages.js's toolbar lacks: start a thread, report (not your own), and "More actions".
 *  `button(label, icon, fn, key)` is the toolbar's own button factory. */
export function extraToolbarButtons(view, m, button) {
  if (m.pending) return [];
  const mine = m.author_id === state.me?.id;
  return [
    canThread(view, m) ? button(m.thread_count ? 'Open thread' : 'Start thread', icon('thread', 18), () => openThread(view, m), 'T') : null,
    mine ? null : button('Report', icon('flag', 18), () => report(view, m)),
    (() => {
      const more = button('More actions', icon('more', 18), (e) => openMenu(view, m, { anchor: e.currentTarget }));
      more.setAttribute('aria-haspopup', 'menu');
      return more;
    })(),
  ];
}

// -- the menu ------------------------------------------------------------------------------------

let current = null; // the open menu: {el, close}

/** Open the actions menu for `m`: by an anchor (a button), at a point (right-click), or as a
 *  bottom sheet (a long press, or any phone-sized screen). */
export function openMenu(view, m, { anchor = null, x = 0, y = 0, sheet = false, opener: from = null } = {}) {
  closeMenu();
  const actions = messageActions(view, m);
  if (!actions.length) return;
  const opener = from || anchor || view.elements.get(m.id) || document.activeElement;
  const asSheet = sheet || window.matchMedia('(max-width: 600px)').matches;
  const items = actions.map((a) => h('button', {
    type: 'button', role: 'menuitem', tabindex: '-1', class: `menu-item${a.danger ? ' danger' : ''}`,
    // focus back on the opener first: a dialog the action opens returns focus there when it closes
    onclick: () => { close(true); a.run(opener && opener.isConnected ? opener : view.elements.get(m.id)); },
  }, icon(a.icon, 18), h('span', null, a.label)));
  const menu = h('div', {
    class: `msg-menu${asSheet ? ' sheet' : ''}`, role: 'menu',
    'aria-label': `Actions for ${store.displayName(m.author_id)}’s message`,
    onkeydown: (e) => menuKeys(e, items, close),
  },
  asSheet ? h('p', { class: 'msg-menu-excerpt muted', 'aria-hidden': 'true' },
    `${store.displayName(m.author_id)}: ${m.content.slice(0, 80)}${m.content.length > 80 ? '…' : ''}`) : null,
  items);
  const scrim = h('div', { class: `msg-menu-scrim${asSheet ? ' dim' : ''}`, onclick: () => close(true), oncontextmenu: (e) => { e.preventDefault(); close(true); } });
  function close(refocus) {
    if (current?.el !== menu) return;
    current = null;
    menu.remove();
    scrim.remove();
    if (refocus && opener && opener.isConnected) opener.focus();
  }
  document.body.append(scrim, menu);
  if (!asSheet) place(menu, anchor ? anchor.getBoundingClientRect() : { left: x, right: x, top: y, bottom: y });
  current = { el: menu, close };
  items[0].focus();
}

export function closeMenu() {
  current?.close(false);
}

function place(menu, rect) {
  const { innerWidth: w, innerHeight: hgt } = window;
  const box = menu.getBoundingClientRect();
  let left = rect.right - box.width;
  if (rect.left === rect.right) left = rect.left; // a point: open to its right
  let top = rect.bottom + 4;
  if (top + box.height > hgt - 8) top = Math.max(8, rect.top - box.height - 4);
  left = Math.min(Math.max(8, left), w - box.width - 8);
  menu.style.left = `${left}px`;
  menu.style.top = `${top}px`;
}

function menuKeys(e, items, close) {
  const i = items.indexOf(document.activeElement);
  const go = (n) => { e.preventDefault(); items[(n + items.length) % items.length].focus(); };
  if (e.key === 'ArrowDown') go(i + 1);
  else if (e.key === 'ArrowUp') go(i - 1);
  else if (e.key === 'Home') go(0);
  else if (e.key === 'End') go(items.length - 1);
  else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(true); }
  else if (e.key === 'Tab') close(true);
}

// -- right-click, long press and the keyboard on the message list ---------------------------------

/** Wire the list of a ChatView: contextmenu, a long press on touch, Shift+F10 / the Menu key. */
export function attachMessageMenu(view) {
  const messageOf = (target) => {
    const el = target.closest?.('article.msg');
    if (!el || !view.list.contains(el)) return null;
    return view.bucket.byId.get(el.dataset.id) || null;
  };
  let press = null; // {timer, x, y, fired}
  view.list.addEventListener('contextmenu', (e) => {
    if (e.target.closest('textarea, input, a')) return; // keep the browser's menu for text and links
    const m = messageOf(e.target);
    if (!m || m.pending) return;
    e.preventDefault();
    if (press?.fired) return; // the long press already opened it
    openMenu(view, m, { x: e.clientX, y: e.clientY });
  });
  view.list.addEventListener('touchstart', (e) => {
    if (e.touches.length !== 1 || e.target.closest('textarea, input')) return;
    const m = messageOf(e.target);
    if (!m || m.pending) return;
    const t = e.touches[0];
    clearTimeout(press?.timer);
    press = { x: t.clientX, y: t.clientY, fired: false };
    press.timer = setTimeout(() => {
      press.fired = true;
      if (navigator.vibrate) navigator.vibrate(10);
      openMenu(view, m, { sheet: true });
    }, LONG_PRESS_MS);
  }, { passive: true });
  view.list.addEventListener('touchmove', (e) => {
    const t = e.touches[0];
    if (press && t && Math.hypot(t.clientX - press.x, t.clientY - press.y) > MOVE_SLOP) clearTimeout(press.timer);
  }, { passive: true });
  view.list.addEventListener('touchend', (e) => {
    if (!press) return;
    clearTimeout(press.timer);
    if (press.fired) e.preventDefault(); // the lifted finger must not also "click" what is under it
    const done = press;
    setTimeout(() => { if (press === done) press = null; }, 400);
  });
  view.list.addEventListener('touchcancel', () => { if (press) clearTimeout(press.timer); });
  view.list.addEventListener('keydown', (e) => {
    if (!(e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey))) return;
    const m = messageOf(e.target);
    if (!m) return;
    e.preventDefault();
    const el = view.elements.get(m.id);
    openMenu(view, m, { anchor: el || null, opener: el });
  });
}
