// One open channel (or DM): the view's skeleton (header, messages, composer), how the reader moves
// through it (scrolling, the jump button, keyboard focus), and the wiring of its two parts:
// chat_history.js loads the history, chat_messages.js shows and acts on the messages.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { liveChannelHeader } from './channel_header.js';
import { channelSettingsButton, slowmodeNote } from './channel_menu.js';
import * as chatHistory from './chat_history.js';
import * as chatMessages from './chat_messages.js';
import { Composer } from './composer.js';
import { attachMessageMenu } from './message_menu.js';
import { openThread, threadsButton } from './thread_pane.js';
import { attachUnread } from './unread_divider.js';

const { state } = store;

export class ChatView {
  constructor(shell, channelId, { dm }) {
    this.shell = shell;
    this.channelId = channelId;
    this.dm = dm;
    this.bucket = store.bucket(channelId);
    this.elements = new Map(); // message id -> element
    this.unsubs = [];
    const channel = store.channelById(channelId);
    this.channel = channel;
    const name = dm ? store.channelName(channelId) : channel ? channel.name : 'channel';
    this.label = dm ? name : `#${name}`;

    this.sentinel = h('div', { class: 'history-sentinel', 'aria-hidden': 'true' });
    this.historyStatus = h('p', { class: 'history-status muted', role: 'status' });
    this.list = h('div', {
      class: 'message-list',
      role: 'log',
      'aria-label': `Messages in ${this.label}`,
      'aria-describedby': 'msg-help',
      tabindex: '0',
      onkeydown: (e) => this.listKeys(e),
    });
    this.newerSentinel = h('div', { class: 'history-sentinel', 'aria-hidden': 'true' });
    this.scroller = h('div', { class: 'scroller', onscroll: () => this.onScroll() },
      this.sentinel, this.historyStatus, this.list, this.newerSentinel);
    this.jump = h('button', { class: 'jump-btn', hidden: true, onclick: () => chatHistory.toPresent(this) }, 'New messages — jump to present ↓');
    this.typingLine = h('div', { class: 'typing-line', 'aria-live': 'off' });
    this.composer = new Composer(this);
    // Only communities that screen members load the screening's notice (onboarding.js).
    if (!this.dm && state.communities.get(this.channel?.community_id)?.screening) {
      import('./onboarding.js').then((m) => m.screenComposer(this)).catch(() => {});
    }
    this.slowmode = slowmodeNote(this);
    this.unsubs.push(this.slowmode.stop);
    this.pinsBtn = h('button', { class: 'icon-btn', 'aria-label': 'Pinned messages', title: 'Pinned messages', 'aria-haspopup': 'dialog', onclick: () => chatMessages.showPins(this) }, icon('pin'));
    const membersBtn = dm ? null : h('button', {
      class: 'icon-btn', 'aria-label': 'Member list', title: 'Member list', 'aria-pressed': String(shell.membersOpen()),
      onclick: (e) => { const open = shell.toggleMembers(); e.currentTarget.setAttribute('aria-pressed', String(open)); },
    }, icon('members'));
    this.el = h('div', { class: 'chat-view' },
      shell.header(
        h('h2', { class: 'channel-title' }, h('span', { class: 'hash', 'aria-hidden': 'true' }, dm ? '@' : '#'), dm ? name : name),
        channel && channel.topic ? h('p', { class: 'channel-topic muted' }, channel.topic) : null,
        h('div', { class: 'header-actions' }, threadsButton(this), this.pinsBtn, channelSettingsButton(this), membersBtn)),
      h('p', { id: 'msg-help', class: 'sr-only' }, 'Use the up and down arrow keys to move between messages. On a message: E edit, R reply, T thread, P pin, plus to react, Delete to delete, Enter or right arrow for actions, Shift+F10 for the actions menu.'),
      this.scroller, this.jump, this.typingLine, this.slowmode.el, this.composer.el);
    this.composer.extras.tray.dropZone(this.el); // files dropped anywhere on the channel attach

    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) chatHistory.loadOlder(this);
    }, { root: this.scroller, rootMargin: '400px 0px 0px 0px' });
    // After a jump into history the list may stop short of the present: load newer as it scrolls.
    this.newerObserver = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) chatHistory.loadNewer(this);
    }, { root: this.scroller, rootMargin: '0px 0px 400px 0px' });

    this.unsubs.push(
      store.on('messages', (ev) => ev.channelId === channelId && this.applyChange(ev)),
      store.on('users', () => chatMessages.refreshNames(this)),
      store.on('typing', (id) => id === channelId && chatMessages.renderTyping(this)),
      store.on('channels', () => { this.channel = store.channelById(channelId) || this.channel; this.composer.updatePermissions(); }),
      store.on('communities', () => this.composer.updatePermissions()),
    );
    this.onVisible = () => { if (!document.hidden) { store.clearUnread(channelId); this.ack(); } };
    document.addEventListener('visibilitychange', this.onVisible);
    this.unsubs.push(liveChannelHeader(this));
    attachMessageMenu(this);
    attachUnread(this);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.rememberTimer);
    clearTimeout(this.loadTimer);
    this.observer.disconnect();
    this.newerObserver.disconnect();
    for (const u of this.unsubs) u();
    document.removeEventListener('visibilitychange', this.onVisible);
    this.composer.destroy();
  }

  get perms() {
    if (this.dm) return Number(store.PERM.SEND_MESSAGES | store.PERM.VIEW_CHANNEL);
    return this.channel ? this.channel.perms : 0;
  }

  focusComposer() {
    this.composer.focus();
  }

  // -- scrolling and keyboard focus ------------------------------------------------------------------

  nearBottom() {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 120;
  }

  scrollToBottom(focus) {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.jump.hidden = true;
    if (focus) this.focusComposer();
  }

  onScroll() {
    if (this.nearBottom() && !this.bucket.hasNewer) this.jump.hidden = true;
  }

  messageEls() {
    return [...this.list.querySelectorAll('article.msg')];
  }

  focusMessage(id) {
    const el = this.elements.get(id);
    if (el) {
      el.scrollIntoView({ block: 'center' });
      el.focus();
    }
  }

  /** Keys on the list itself (before a message has focus): into the messages. */
  listKeys(e) {
    if (e.target !== this.list) return;
    const els = this.messageEls();
    if (!els.length) return;
    if (e.key === 'ArrowUp' || e.key === 'End') {
      e.preventDefault();
      els[els.length - 1].focus();
    } else if (e.key === 'ArrowDown' || e.key === 'Home') {
      e.preventDefault();
      (e.key === 'Home' ? els[0] : els[els.length - 1]).focus();
    }
  }

  messageKeys(e, m) {
    if (e.target !== e.currentTarget) return;
    const els = this.messageEls();
    const i = els.indexOf(e.currentTarget);
    const mine = m.author_id === state.me?.id;
    const go = (el) => { if (el) { e.preventDefault(); el.focus(); el.scrollIntoView({ block: 'nearest' }); } };
    switch (e.key) {
      case 'ArrowUp':
        go(els[i - 1]);
        if (i === 0) chatHistory.loadOlder(this);
        break;
      case 'ArrowDown':
        if (i === els.length - 1) { e.preventDefault(); this.focusComposer(); } else go(els[i + 1]);
        break;
      case 'Home': go(els[0]); break;
      case 'End': go(els[els.length - 1]); break;
      case 'Enter':
      case 'ArrowRight': {
        const first = e.currentTarget.querySelector('.msg-actions button');
        if (first) { e.preventDefault(); first.focus(); }
        break;
      }
      case 'e': case 'E': if (mine && !m.pending) { e.preventDefault(); this.startEdit(m); } break;
      case 'r': case 'R': if (!m.pending) { e.preventDefault(); this.composer.replyTo(m); } break;
      case 't': case 'T': if (!m.pending && !this.dm && !m.thread_id) { e.preventDefault(); openThread(this, m); } break;
      case 'p': case 'P': if (!m.pending && !this.dm && store.can(this.perms, store.PERM.MANAGE_MESSAGES)) { e.preventDefault(); this.togglePin(m); } break;
      case '+': if (!m.pending) { e.preventDefault(); this.pickReaction(m, e.currentTarget); } break;
      case 'Delete': case 'Backspace':
        if (!m.pending && (mine || store.can(this.perms, store.PERM.MANAGE_MESSAGES))) { e.preventDefault(); this.remove(m, e.shiftKey); }
        break;
      case 'Escape': e.preventDefault(); this.focusComposer(); break;
      default: break;
    }
  }

  toolbarKeys(e) {
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

  // -- the parts, as other modules call them --------------------------------------------------------

  load() { return chatHistory.load(this); }
  jumpTo(id) { return chatHistory.jumpTo(this, id); }
  catchUp() { return chatHistory.catchUp(this); }
  ack() { chatHistory.ack(this); }
  flushOutbox() { this.composer.flushOutbox(); }
  applyChange(change) { chatMessages.applyChange(this, change); }
  renderAll() { chatMessages.renderAll(this); }
  startEdit(m) { chatMessages.startEdit(this, m); }
  pickReaction(m, anchor) { return chatMessages.pickReaction(this, m, anchor); }
  remove(m, skipConfirm) { return chatMessages.remove(this, m, skipConfirm); }
  togglePin(m) { return chatMessages.togglePin(this, m); }
}
