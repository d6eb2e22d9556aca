// One open channel (or DM): its history with infinite scroll back, live updates, and the composer.

import { messages as M } from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as outbox from '../outbox.js';
import * as store from '../store.js';
import { renderAttachments } from './attachments.js';
import { liveChannelHeader } from './channel_header.js';
import { channelSettingsButton, slowmodeNote } from './channel_menu.js';
import { Composer } from './composer.js';
import { emojiGlyph, emojiName } from './custom_emoji.js';
import { decorateIntegration, embedSlot, sameSender } from './integrations.js';
import { pollSlot } from './polls.js';
import { decorateBot } from './bot_tag.js';
import { confirmDialog, reactionPicker } from './dialogs.js';
import { collapseBlocked } from './friends.js';
import { renderBody } from './markup.js';
import { attachMessageMenu, extraToolbarButtons } from './message_menu.js';
import { profileTrigger } from './profile_card.js';
import { avatar } from './shell.js';
import { openThread, threadsButton, threadSummary } from './thread_pane.js';
import { attachUnread, placeUnread, unreadGateOpen, unreadMark } from './unread_divider.js';

const { state } = store;
const PAGE = 50;
const AROUND = 100; // a jump loads this many messages: half before the target, the target and after
const GROUP_MS = 5 * 60 * 1000;

/** The message the address points at (#m-ID: a search hit or the quick switcher). */
function hashTarget() {
  const m = /^#m-(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

export class ChatView {
  constructor(shell, channelId, { dm }) {
    this.shell = shell;
    this.channelId = channelId;
    this.dm = dm;
    this.bucket = store.bucket(channelId);
    this.elements = new Map(); // message id -> element
    this.editing = null;
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
    this.jump = h('button', { class: 'jump-btn', hidden: true, onclick: () => this.toPresent() }, 'New messages — jump to present ↓');
    this.typingLine = h('div', { class: 'typing-line', 'aria-live': 'off' });
    this.composer = new Composer(this);
    // Only communities that screen members load the screening's notice (onboarding.js).
    if (!this.dm && state.communities.get(this.channel?.community_id)?.screening) {
      import('./onboarding.js').then((m) => m.screenComposer(this)).catch(() => {});
    }
    this.slowmode = slowmodeNote(this);
    this.unsubs.push(this.slowmode.stop);
    this.pinsBtn = h('button', { class: 'icon-btn', 'aria-label': 'Pinned messages', title: 'Pinned messages', 'aria-haspopup': 'dialog', onclick: () => this.showPins() }, icon('pin'));
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
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: this.scroller, rootMargin: '400px 0px 0px 0px' });
    // After a jump into history the list may stop short of the present: load newer as it scrolls.
    this.newerObserver = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadNewer();
    }, { root: this.scroller, rootMargin: '0px 0px 400px 0px' });

    this.unsubs.push(
      store.on('messages', (ev) => ev.channelId === channelId && this.applyChange(ev)),
      store.on('users', () => this.refreshNames()),
      store.on('typing', (id) => id === channelId && this.renderTyping()),
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

  // -- loading -------------------------------------------------------------------------------------

  async load() {
    const target = hashTarget();
    if (target && !this.bucket.byId.has(target)) {
      this.historyStatus.textContent = 'Loading messages…';
      try {
        await this.loadAround(target);
      } catch (err) {
        this.historyStatus.textContent = err.status === 404 ? 'That message is gone.' : err.message;
        return;
      }
    } else if (!this.bucket.loaded) {
      this.historyStatus.textContent = 'Loading messages…';
      const readies = this.shell.readies;
      try {
        const page = await M.list(this.channelId, { limit: PAGE });
        store.mergeMessages(this.channelId, page.messages);
        this.bucket.hasMore = page.messages.length >= PAGE;
        this.bucket.loaded = true;
      } catch (err) {
        this.historyStatus.textContent = err.message;
        return;
      }
      // The socket became ready while the page was on its way (its catch-up had nothing to start
      // from): what was sent between the page and the socket is fetched now.
      if (this.shell.readies !== readies) this.catchUp();
    } else {
      this.catchUp();
    }
    this.renderAll();
    if (target && this.bucket.byId.has(target)) this.highlight(target);
    else this.scrollToBottom();
    this.observer.observe(this.sentinel);
    this.newerObserver.observe(this.newerSentinel);
    placeUnread(this, { scroll: !target });
    this.focusComposer();
    this.ack();
    this.remember(0);
  }

  /** Keep the latest page of this channel in IndexedDB (outbox.js): a cold start offline shows it,
   *  and lets the member write to it, until the node can be reached. */
  remember(delay = 300) {
    clearTimeout(this.rememberTimer);
    this.rememberTimer = setTimeout(() => {
      const b = this.bucket;
      if (!b.loaded || b.hasNewer || !state.me) return; // a window into history is not "the latest"
      const messages = b.list.filter((m) => !m.deleted).slice(-PAGE)
        .map((m) => ({ id: m.id, author_id: m.author_id, content: m.content, created_at: m.created_at }));
      const names = { [state.me.id]: store.displayName(state.me.id) };
      for (const m of messages) names[m.author_id] = store.displayName(m.author_id);
      const { id, username, display_name: displayName } = state.me;
      outbox.remember('last', {
        me: { id, username, display_name: displayName }, path: location.pathname, channelId: this.channelId,
        label: this.label, messages, names,
      });
    }, delay);
  }

  /** Show a message that may be far back in history: its context (the messages API's `around`
   *  cursor) replaces what we held, and history loads in both directions from there. */
  async jumpTo(id) {
    if (!this.bucket.byId.has(id)) {
      try {
        await this.loadAround(id);
      } catch (err) {
        this.historyStatus.textContent = err.status === 404 ? 'That message is gone.' : err.message;
        return;
      }
      this.renderAll();
    }
    this.highlight(id);
  }

  async loadAround(id) {
    const page = await M.list(this.channelId, { around: id, limit: AROUND });
    const idx = page.messages.findIndex((m) => m.id === id);
    if (idx < 0) throw Object.assign(new Error('That message is gone.'), { status: 404 });
    const b = this.bucket;
    // The window may not join up with what we held, so it replaces it.
    b.list = [];
    b.byId = new Map();
    store.mergeMessages(this.channelId, page.messages);
    b.hasMore = idx >= AROUND / 2;
    b.hasNewer = page.messages.length >= AROUND;
    b.newest = page.messages[page.messages.length - 1].id;
    b.loaded = true;
  }

  highlight(id) {
    const el = this.elements.get(id);
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    el.classList.add('jump-target');
    setTimeout(() => el.classList.remove('jump-target'), 6000);
    this.jump.hidden = !this.bucket.hasNewer;
  }

  /** Newer messages after a jump into history, until the window reaches the present. */
  async loadNewer() {
    const b = this.bucket;
    if (!b.loaded || !b.hasNewer || b.loadingNewer) return;
    b.loadingNewer = true;
    try {
      const page = await M.list(this.channelId, { after: b.newest, limit: PAGE });
      b.hasNewer = page.messages.length >= PAGE;
      if (page.messages.length) b.newest = page.messages[page.messages.length - 1].id;
      store.mergeMessages(this.channelId, page.messages);
      this.renderAll();
      if (!b.hasNewer) this.jump.hidden = this.nearBottom();
    } catch (err) {
      this.historyStatus.textContent = err.message;
    } finally {
      b.loadingNewer = false;
    }
  }

  /** Back to the latest messages (after a jump into history, the latest page replaces the window). */
  async toPresent() {
    const b = this.bucket;
    if (b.hasNewer) {
      const page = await M.list(this.channelId, { limit: PAGE }).catch(() => null);
      if (page) {
        b.list = [];
        b.byId = new Map();
        store.mergeMessages(this.channelId, page.messages);
        b.hasMore = page.messages.length >= PAGE;
        b.hasNewer = false;
        this.renderAll();
      }
    }
    if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
    this.scrollToBottom(true);
  }

  async loadOlder() {
    const b = this.bucket;
    if (!b.loaded || !b.hasMore || b.loading || !b.list.length) return;
    b.loading = true;
    this.historyStatus.textContent = 'Loading older messages…';
    try {
      const page = await M.list(this.channelId, { before: b.list[0].id, limit: PAGE });
      b.hasMore = page.messages.length >= PAGE;
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      store.mergeMessages(this.channelId, page.messages);
      this.renderAll();
      // Keep what the reader was looking at in place while older messages appear above it.
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
      this.historyStatus.textContent = b.hasMore ? '' : `This is the beginning of ${this.label}.`;
    } catch (err) {
      this.historyStatus.textContent = err.message;
    } finally {
      b.loading = false;
    }
  }

  /** After a fresh gateway session, fetch everything newer than what we hold (nothing was replayed). */
  async catchUp() {
    const b = this.bucket;
    if (!b.loaded || b.hasNewer) return; // a window into history: loadNewer walks to the present
    let after = b.list.length ? b.list[b.list.length - 1].id : null;
    for (let i = 0; i < 20; i++) {
      const page = await M.list(this.channelId, after ? { after, limit: 100 } : { limit: PAGE }).catch(() => null);
      if (!page) return;
      const added = store.mergeMessages(this.channelId, page.messages);
      if (added.length) this.applyChange({ added });
      if (page.messages.length < 100 || !after) break;
      after = page.messages[page.messages.length - 1].id;
    }
    this.flushOutbox();
  }

  flushOutbox() {
    this.composer.flushOutbox();
  }

  ack() {
    const last = this.bucket.list[this.bucket.list.length - 1];
    if (!last || document.hidden || this.lastAck === last.id || !unreadGateOpen(this)) return;
    this.lastAck = last.id;
    M.ack(this.channelId, last.id).catch(() => {});
  }

  // -- rendering -----------------------------------------------------------------------------------

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

  applyChange({ added = [], updated = [], removed = [] }) {
    const stick = this.nearBottom();
    this.remember();
    for (const id of removed) {
      const el = this.elements.get(id);
      if (el) {
        if (el.contains(document.activeElement)) this.list.focus();
        el.remove();
        this.elements.delete(id);
      }
    }
    for (const id of updated) this.elements.delete(id);
    this.renderAll();
    if (added.some((id) => !this.bucket.byId.get(id)?.thread_id)) {
      const theirs = added.map((id) => this.bucket.byId.get(id)).filter((m) => m && !m.thread_id && m.author_id !== state.me?.id);
      if (this.bucket.hasNewer) {
        // Reading a window into history: what arrives live waits behind "jump to present".
        if (!theirs.length) this.toPresent();
        else this.jump.hidden = false;
      } else if (stick || !theirs.length) this.scrollToBottom();
      else this.jump.hidden = false;
      for (const m of theirs) announce(`${store.displayName(m.author_id)}: ${m.content.slice(0, 140)}`);
      this.ack();
    }
  }

  renderAll() {
    let prev = null;
    let refocus = null;
    const desired = [];
    for (const m of [...this.bucket.list.filter((x) => !x.thread_id), ...this.composer.pending()]) { // thread replies: thread_pane.js
      const grouped = !!prev && prev.author_id === m.author_id && sameSender(prev, m) && !m.reply_to && m.created_at - prev.created_at < GROUP_MS;
      let el = this.elements.get(m.id);
      if (!el || el.dataset.grouped !== String(grouped) || el.dataset.rev !== rev(m)) {
        const fresh = this.renderMessage(m, grouped);
        if (el) {
          if (document.activeElement === el) refocus = fresh;
          el.remove();
        }
        el = fresh;
        this.elements.set(m.id, el);
      }
      desired.push(el);
      prev = m;
    }
    const keep = new Set(desired);
    for (const child of [...this.list.children]) {
      if (keep.has(child)) continue;
      if (this.elements.get(child.dataset.id) === child) this.elements.delete(child.dataset.id);
      child.remove();
    }
    desired.forEach((el, i) => {
      const at = this.list.children[i];
      if (at !== el) this.list.insertBefore(el, at || null);
    });
    if (refocus) refocus.focus();
    if (!this.bucket.hasMore && this.bucket.loaded) this.historyStatus.textContent = `This is the beginning of ${this.label}.`;
    else if (!this.bucket.loading) this.historyStatus.textContent = '';
  }

  refreshNames() {
    for (const [id, el] of this.elements) {
      if (el.querySelector('.author.pending-name') || el.querySelector('.mention.pending-name')) this.elements.delete(id);
    }
    this.renderAll();
    this.renderTyping();
  }

  renderMessage(m, grouped) {
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
      onkeydown: (e) => this.messageKeys(e, m),
    },
      unreadMark(this, m),
      m.reply_to ? this.replyRef(m.reply_to) : null,
      grouped ? h('span', { class: 'gutter-time muted', 'aria-hidden': 'true' }, new Date(m.created_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })) : profileTrigger(avatar(m.author_id), m.author_id),
      h('div', { class: 'msg-main' },
        h('h3', { class: `msg-head${grouped ? ' sr-only' : ''}`, id: headId },
          profileTrigger(h('span', { class: `author${nameText === '…' ? ' pending-name' : ''}` }, nameText), m.author_id),
          h('time', { class: 'muted', datetime: new Date(m.created_at).toISOString() }, formatTime(m.created_at)),
          m.pinned ? h('span', { class: 'pin-mark', title: 'Pinned' }, icon('pin', 14), h('span', { class: 'sr-only' }, 'pinned')) : null),
        body,
        renderAttachments(m),
        embedSlot(this.channelId, m),
        pollSlot(m),
        this.reactions(m),
        threadSummary(this, m)),
      pending ? this.pendingActions(m) : this.actions(m));
    return collapseBlocked(decorateBot(decorateIntegration(el, m), m), m);
  }

  replyRef(id) {
    const target = this.bucket.byId.get(id);
    const text = target ? `${store.displayName(target.author_id)}: ${target.content.slice(0, 100)}` : 'Original message not loaded';
    return h('button', {
      class: 'reply-ref muted',
      tabindex: '-1',
      'aria-label': `Reply to ${text}`,
      onclick: () => this.focusMessage(id),
    }, h('span', { 'aria-hidden': 'true' }, '↪ '), text);
  }

  reactions(m) {
    if (!m.reactions || !m.reactions.length) return null;
    return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
      m.reactions.map((r) => h('button', {
        class: `reaction${r.me ? ' me' : ''}`,
        'aria-pressed': String(!!r.me),
        'aria-label': `${emojiName(r.emoji)} ${r.count} ${r.count === 1 ? 'reaction' : 'reactions'}${r.me ? ', including yours' : ''}`,
        onclick: () => this.toggleReaction(m, r.emoji),
      }, emojiGlyph(r.emoji, this.channel?.community_id), h('span', { class: 'count', 'aria-hidden': 'true' }, String(r.count)))));
  }

  actions(m) {
    const mine = m.author_id === state.me?.id;
    const moderator = store.can(this.perms, store.PERM.MANAGE_MESSAGES);
    const button = (label, icon, fn, key) => h('button', {
      class: 'icon-btn', tabindex: '-1', 'aria-label': label, title: label, 'aria-keyshortcuts': key, onclick: (e) => fn(e),
    }, icon);
    const toolbar = h('div', { class: 'msg-actions', role: 'toolbar', 'aria-label': 'Message actions', onkeydown: (e) => this.toolbarKeys(e) },
      button('Add reaction', icon('smile', 18), (e) => this.pickReaction(m, e.currentTarget), '+'),
      button('Reply', icon('reply', 18), () => this.composer.replyTo(m), 'R'),
      mine ? button('Edit', icon('edit', 18), () => this.startEdit(m), 'E') : null,
      !this.dm && moderator ? button(m.pinned ? 'Unpin' : 'Pin', icon('pin', 18), () => this.togglePin(m), 'P') : null,
      mine || moderator ? button('Delete', icon('trash', 18), (e) => this.remove(m, e.shiftKey), 'Delete') : null,
      // Start thread, Report (a DM's to the node admins, a channel's to its moderators), More
      ...extraToolbarButtons(this, m, button));
    return toolbar;
  }

  pendingActions(m) {
    if (m.pending !== 'failed') return null;
    return h('div', { class: 'msg-actions visible', role: 'toolbar', 'aria-label': 'Unsent message actions' },
      h('button', { class: 'btn small', onclick: () => this.composer.retry(m.id) }, 'Retry'),
      h('button', { class: 'btn small', onclick: () => this.composer.discard(m.id) }, 'Discard'));
  }

  renderTyping() {
    const ids = store.typingIn(this.channelId);
    const names = ids.map(store.displayName);
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    this.typingLine.textContent = text;
  }

  // -- keyboard ------------------------------------------------------------------------------------

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
        if (i === 0) this.loadOlder();
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

  // -- actions -------------------------------------------------------------------------------------

  async toggleReaction(m, emoji) {
    const mine = (m.reactions || []).find((r) => r.emoji === emoji && r.me);
    try {
      if (mine) await M.unreact(this.channelId, m.id, emoji);
      else await M.react(this.channelId, m.id, emoji);
    } catch (err) {
      announce(err.message);
    }
  }

  async pickReaction(m, anchor) {
    // The full picker (search, custom emoji), loaded on first use; the small one if that fails.
    const picker = await import('./emoji_picker.js').catch(() => null);
    if (!picker) return reactionPicker(anchor, (emoji) => this.toggleReaction(m, emoji));
    return picker.openEmojiPicker({ title: 'Add reaction', communityId: this.dm ? null : this.channel?.community_id, pick: (item) => this.toggleReaction(m, item.value) });
  }

  startEdit(m) {
    const el = this.elements.get(m.id);
    if (!el) return;
    const body = el.querySelector('.msg-body');
    const input = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: '2', value: m.content });
    const hint = h('p', { class: 'edit-hint muted' }, 'Escape to cancel • Enter to save');
    const error = h('p', { class: 'field-error', role: 'alert' });
    const finish = () => {
      this.elements.delete(m.id);
      this.renderAll();
      this.focusMessage(m.id);
    };
    input.addEventListener('keydown', async (e) => {
      e.stopPropagation();
      if (e.key === 'Escape') { e.preventDefault(); finish(); }
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        const text = input.value.trim();
        if (!text) { this.remove(m, false); return; }
        if (text === m.content) { finish(); return; }
        try {
          const updated = await M.edit(this.channelId, m.id, text);
          store.mergeMessages(this.channelId, [updated]);
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

  async remove(m, skipConfirm) {
    const ok = skipConfirm || await confirmDialog('Delete message', 'Are you sure you want to delete this message? This cannot be undone.', 'Delete');
    if (!ok) return;
    const els = this.messageEls();
    const i = els.indexOf(this.elements.get(m.id));
    try {
      await M.remove(this.channelId, m.id);
      store.removeMessage(this.channelId, m.id);
      this.applyChange({ removed: [m.id] });
      announce('Message deleted.');
      const next = els[i + 1] || els[i - 1];
      if (next && next.isConnected) next.focus(); else this.focusComposer();
    } catch (err) {
      announce(err.message);
    }
  }

  async togglePin(m) {
    // The state we asked for, set (not flipped) once the node agrees: the CONTENT_MODERATE push
    // may already have set it while the request was on its way back.
    const pinned = !m.pinned;
    try {
      if (pinned) await M.pin(this.channelId, m.id);
      else await M.unpin(this.channelId, m.id);
      const current = this.bucket.byId.get(m.id) || m;
      current.pinned = pinned;
      this.elements.delete(m.id);
      this.renderAll();
      announce(pinned ? 'Message pinned.' : 'Message unpinned.');
    } catch (err) {
      announce(err.message);
    }
  }

  async showPins() {
    const { pinsDialog } = await import('./dialogs.js');
    pinsDialog(this);
  }
}

function rev(m) {
  const reactions = (m.reactions || []).map((r) => `${r.emoji}${r.count}${r.me ? '+' : ''}`).join(',');
  return `${m.edited_at || 0}|${m.pinned ? 1 : 0}|${m.deleted ? 1 : 0}|${reactions}|${m.pending || ''}|${m.content}`;
}
