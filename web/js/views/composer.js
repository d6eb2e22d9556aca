// The message box: Markdown, replies, @mentions, typing, drafts, and the outbox (outbox.js: what
// is written offline survives a reload and is sent once back, exactly once).

import { announce, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as outbox from '../outbox.js';
import * as store from '../store.js';
import { ComposerExtras } from './composer_extras.js';
import { slashHook } from './slash_hook.js';

const { state } = store;

export class Composer {
  constructor(chat) {
    this.chat = chat;
    this.replying = null;
    this.mentionIds = new Map(); // "@username" -> user id, for names picked from the list
    this.lastTyping = 0;
    this.options = [];
    this.active = -1;
    this.replyBar = h('div', { class: 'reply-bar', hidden: true });
    this.listbox = h('ul', { class: 'autocomplete', role: 'listbox', id: `ac-${chat.channelId}`, 'aria-label': 'Members to mention', hidden: true });
    this.input = h('textarea', {
      id: 'composer-input',
      class: 'composer-input',
      rows: '1',
      maxlength: '4000',
      'aria-label': `Message ${chat.label}`,
      placeholder: `Message ${chat.label}`,
      'aria-autocomplete': 'list',
      'aria-controls': this.listbox.id,
      'aria-describedby': 'composer-help',
      onkeydown: (e) => this.keys(e),
      oninput: () => this.onInput(),
    });
    this.input.value = outbox.draft(chat.channelId);
    if (this.input.value) requestAnimationFrame(() => this.autosize());
    this.error = h('p', { class: 'composer-error', role: 'alert' });
    this.readOnly = h('p', { class: 'composer-readonly muted', hidden: true }, 'You do not have permission to send messages in this channel.');
    this.extras = new ComposerExtras(this); // attachments and the emoji picker
    this.el = h('form', { class: 'composer', 'aria-label': 'Send a message', onsubmit: (e) => { e.preventDefault(); this.send(); } },
      this.listbox,
      this.replyBar,
      this.error,
      this.extras.tray.el,
      h('div', { class: 'composer-row' },
        this.extras.tray.button, this.extras.tray.picker,
        this.input,
        this.extras.emojiButton,
        this.extras.pollButton,
        h('button', { type: 'submit', class: 'icon-btn send-btn', 'aria-label': 'Send message', title: 'Send' }, icon('send'))),
      h('p', { id: 'composer-help', class: 'sr-only' }, 'Enter to send, Shift+Enter for a new line, up arrow to edit your last message. Markdown works.'),
      this.readOnly);
    this.slash = slashHook(this); // `/` commands of the community's bots (slash.js, loaded on first `/`)
    this.updatePermissions();
    this.unsubscribe = outbox.onChange(({ channelId, added, error }) => {
      if (channelId !== chat.channelId) return;
      if (error !== undefined) this.error.textContent = error;
      if (added && added.length) this.chat.applyChange({ added });
      else this.chat.renderAll();
    });
    outbox.load();
    // "@ali" typed before the member list (or a member's name) arrived: the suggestions follow it.
    const again = () => { if (document.activeElement === this.input && this.query() !== null) this.updateList(); };
    this.unsubs = [store.on('member-list', again), store.on('users', again)];
  }

  destroy() {
    outbox.draft(this.chat.channelId, this.input.value);
    this.unsubscribe();
    for (const u of this.unsubs) u();
    clearInterval(this.countdown);
  }

  focus() {
    if (!this.input.disabled) this.input.focus();
  }

  updatePermissions() {
    const allowed = store.can(this.chat.perms, store.PERM.SEND_MESSAGES);
    this.input.disabled = !allowed;
    this.readOnly.hidden = allowed;
    this.extras.update();
    clearInterval(this.countdown);
    const until = this.timedOutUntil();
    if (allowed || !until) {
      this.readOnly.textContent = 'You do not have permission to send messages in this channel.';
      return;
    }
    // Timed out: when it ends, and a countdown; at the end the channel's permissions are asked again.
    const tick = () => {
      const left = until - Date.now();
      if (left <= 0) {
        clearInterval(this.countdown);
        const community = store.state.communities.get(this.chat.channel?.community_id);
        if (community) community.timeout_until = null;
        this.chat.shell.loadChannels(this.chat.channel.community_id).catch(() => {});
        return;
      }
      const s = Math.ceil(left / 1000);
      const clock = s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
      this.readOnly.textContent = `You are timed out until ${new Date(until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} (${clock} left).`;
    };
    tick();
    this.countdown = setInterval(tick, 1000);
  }

  /** When this member's timeout in the channel's community ends (ms), or null. */
  timedOutUntil() {
    const until = store.state.communities.get(this.chat.channel?.community_id)?.timeout_until;
    return until && until > Date.now() ? until : null;
  }

  pending() {
    return outbox.pending(this.chat.channelId);
  }

  replyTo(m) {
    this.replying = m;
    replace(this.replyBar,
      h('span', null, 'Replying to ', h('strong', null, store.displayName(m.author_id))),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Cancel reply', onclick: () => this.cancelReply() }, icon('close', 16)));
    this.replyBar.hidden = false;
    this.focus();
  }

  cancelReply() {
    this.replying = null;
    this.replyBar.hidden = true;
    this.focus();
  }

  // -- sending -------------------------------------------------------------------------------------

  /** Turn names picked from the autocomplete (and any member's exact @username, or @name@home for a
   * member from another node: a bare name never means a remote user) into <@id> tokens. */
  encodeMentions(text) {
    const members = state.members.get(state.current.communityId) || [];
    return text.replace(/(^|[\s(])@([A-Za-z0-9_]{3,32}(?:@[A-Za-z0-9-]+(?:[.:][A-Za-z0-9-]+)*)?)\b/g, (all, lead, name) => {
      let id = this.mentionIds.get(`@${name}`);
      if (!id) {
        const found = members.map((m) => state.users.get(m.user_id)).find((u) => u && store.handleOf(u).toLowerCase() === name.toLowerCase());
        id = found && found.id;
      }
      return id ? `${lead}<@${id}>` : all;
    });
  }

  async send() {
    if (!this.extras.tray.count && this.slash.submit()) return;
    let attachments = [];
    if (this.extras.tray.count) {
      // The message goes once its files are up, with their media ids.
      if (this.waiting) return;
      this.waiting = true;
      attachments = await this.extras.tray.take().finally(() => { this.waiting = false; });
      if (!attachments) {
        this.error.textContent = 'A file could not be uploaded: remove it, or add it again.';
        return;
      }
    }
    const text = this.input.value.trim();
    if (!text && !attachments.length) return;
    const replyTo = this.replying ? this.replying.id : null;
    const content = this.encodeMentions(this.extras.encode(text));
    this.input.value = '';
    outbox.draft(this.chat.channelId, '');
    this.mentionIds.clear();
    this.autosize();
    this.closeList();
    if (this.replying) {
      this.replying = null;
      this.replyBar.hidden = true;
    }
    outbox.add({ channelId: this.chat.channelId, content, replyTo, attachments });
    this.chat.scrollToBottom();
  }

  /** Send what is queued (all channels), in order. */
  flushOutbox() {
    return outbox.flush();
  }

  retry(id) {
    outbox.retry(id);
  }

  discard(id) {
    outbox.discard(id);
    this.focus();
  }

  // -- keys, typing, autocomplete ------------------------------------------------------------------

  keys(e) {
    if (!this.listbox.hidden && this.options.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = this.options.length;
        this.setActive((this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        this.pick(this.options[Math.max(0, this.active)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        this.closeList();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.send();
    } else if (e.key === 'Escape' && this.replying) {
      e.preventDefault();
      this.cancelReply();
    } else if (e.key === 'ArrowUp' && !this.input.value) {
      const own = [...this.chat.bucket.list].reverse().find((m) => m.author_id === state.me?.id && !m.deleted);
      if (own) {
        e.preventDefault();
        this.chat.startEdit(own);
      }
    } else if (e.key === 'ArrowUp' && this.input.selectionStart === 0 && e.altKey) {
      e.preventDefault();
      this.chat.list.focus();
    }
  }

  onInput() {
    outbox.draft(this.chat.channelId, this.input.value);
    this.autosize();
    this.error.textContent = '';
    const now = Date.now();
    if (this.input.value && now - this.lastTyping > 3000 && this.chat.shell.gateway) {
      this.lastTyping = now;
      this.chat.shell.gateway.send('TYPING', { channel_id: this.chat.channelId });
    }
    if (!this.slash.update()) this.updateList();
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }

  query() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const m = /(^|\s)@([A-Za-z0-9_]{0,32})$/.exec(before);
    return m ? m[2].toLowerCase() : null;
  }

  candidates(q) {
    let ids;
    if (this.chat.dm) ids = state.dms.get(this.chat.channelId)?.participants || [];
    else ids = (state.members.get(state.current.communityId) || []).map((m) => m.user_id);
    const found = ids
      .map((id) => store.user(id))
      .filter((u) => u && (u.username.toLowerCase().startsWith(q) || (u.display_name || '').toLowerCase().startsWith(q)))
      .slice(0, 8)
      .map((u) => ({ id: u.id, label: u.display_name || u.username, username: store.handleOf(u) }));
    if (!this.chat.dm) {
      for (const special of ['everyone', 'here']) if (special.startsWith(q)) found.push({ id: null, label: `@${special}`, username: special });
    }
    return found;
  }

  updateList() {
    const q = this.query();
    if (q === null) return this.closeList();
    this.options = this.candidates(q);
    if (!this.options.length) return this.closeList();
    replace(this.listbox, this.options.map((o, i) => h('li', {
      role: 'option',
      id: `${this.listbox.id}-${i}`,
      class: 'ac-option',
      'aria-selected': 'false',
      onmousedown: (e) => { e.preventDefault(); this.pick(o); },
    }, h('span', { class: 'ac-name' }, o.label), h('span', { class: 'muted' }, ` @${o.username}`))));
    this.listbox.hidden = false;
    this.setActive(0);
  }

  setActive(i) {
    this.active = i;
    [...this.listbox.children].forEach((li, j) => li.setAttribute('aria-selected', String(i === j)));
    this.input.setAttribute('aria-activedescendant', `${this.listbox.id}-${i}`);
  }

  closeList() {
    this.listbox.hidden = true;
    this.options = [];
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
  }

  pick(option) {
    if (this.slash.pick(option)) return;
    const pos = this.input.selectionStart;
    const before = this.input.value.slice(0, pos).replace(/@([A-Za-z0-9_]{0,32})$/, `@${option.username} `);
    this.input.value = before + this.input.value.slice(pos);
    this.input.setSelectionRange(before.length, before.length);
    if (option.id) this.mentionIds.set(`@${option.username}`, option.id);
    this.closeList();
    announce(`${option.label} mentioned`);
    this.focus();
  }
}
