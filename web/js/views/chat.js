// One open channel (or DM): the view's skeleton (header, messages, composer) and the wiring of its
// parts, plain functions of the view: chat_history.js loads, chat_list.js renders, chat_actions.js
// acts on messages. The methods at the end are what other modules call.

import { h } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { liveChannelHeader } from './channel_header.js';
import { channelSettingsButton, slowmodeNote } from './channel_menu.js';
import * as chatActions from './chat_actions.js';
import * as chatHistory from './chat_history.js';
import * as chatList from './chat_list.js';
import { Composer } from './composer.js';
import { attachMessageMenu } from './message_menu.js';
import { threadsButton } from './thread_pane.js';
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
      onkeydown: (e) => chatActions.listKeys(this, e),
    });
    this.newerSentinel = h('div', { class: 'history-sentinel', 'aria-hidden': 'true' });
    this.scroller = h('div', { class: 'scroller', onscroll: () => chatList.onScroll(this) },
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
    this.pinsBtn = h('button', { class: 'icon-btn', 'aria-label': 'Pinned messages', title: 'Pinned messages', 'aria-haspopup': 'dialog', onclick: () => chatActions.showPins(this) }, icon('pin'));
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
      store.on('users', () => chatList.refreshNames(this)),
      store.on('typing', (id) => id === channelId && chatList.renderTyping(this)),
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
    clearTimeout(this.rememberTimer);
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

  // -- the parts (other modules call these) -------------------------------------------------------

  load() { return chatHistory.load(this); }
  jumpTo(id) { return chatHistory.jumpTo(this, id); }
  catchUp() { return chatHistory.catchUp(this); }
  ack() { chatHistory.ack(this); }
  flushOutbox() { this.composer.flushOutbox(); }
  applyChange(change) { chatList.applyChange(this, change); }
  renderAll() { chatList.renderAll(this); }
  nearBottom() { return chatList.nearBottom(this); }
  scrollToBottom(focus) { chatList.scrollToBottom(this, focus); }
  startEdit(m) { chatActions.startEdit(this, m); }
  pickReaction(m, anchor) { return chatActions.pickReaction(this, m, anchor); }
  remove(m, skipConfirm) { return chatActions.remove(this, m, skipConfirm); }
  togglePin(m) { return chatActions.togglePin(this, m); }
}
