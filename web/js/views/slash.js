// Slash commands in the composer: typing `/` lists the community's bot commands (keyboard: arrows,
// Enter/Tab, Escape; mouse: click), sending `/name key:value …` asks the node to hand the interaction
// to the bot (POST /channels/<id>/interactions), and the answer shows here: an ephemeral one only in
// this member's notes (it reaches only their sessions), a public one as the bot's message marked
// "X used /name"; past the deadline, "<bot> did not respond".

import * as R from '../content.js';
import { announce, h, replace } from '../dom.js';
import * as store from '../store.js';

const { state } = store;
const cache = new Map(); // community id -> { at, commands }
const FRESH_MS = 30_000;
const open = new Map(); // interaction id -> { slash, note }
// Interactions answered (or failed) before the POST that made them returned: the answer can overtake it.
const settled = new Set();

function commandsOf(communityId) {
  const have = cache.get(communityId);
  if (have && Date.now() - have.at < FRESH_MS) return Promise.resolve(have.commands);
  return R.communities.commands(communityId).then((data) => {
    cache.set(communityId, { at: Date.now(), commands: data.commands });
    return data.commands;
  });
}

export class Slash {
  constructor(composer) {
    this.composer = composer;
    this.commands = [];
    this.notes = h('div', { class: 'slash-notes', role: 'log', 'aria-live': 'polite', 'aria-label': 'Command answers only you can see' });
    this.hint = h('p', { class: 'slash-hint muted', hidden: true });
    composer.el.prepend(this.notes, this.hint);
  }

  get communityId() {
    return this.composer.chat.dm ? null : this.composer.chat.channel?.community_id;
  }

  /** The input as "/name rest" (or null). */
  parsed() {
    const m = /^\/([a-z0-9_-]*)(?:\s+([\s\S]*))?$/.exec(this.composer.input.value);
    return m ? { name: m[1], rest: m[2], typingName: m[2] === undefined && !/\s$/.test(this.composer.input.value) } : null;
  }

  /** On input: true when the slash list (or hint) owns the autocomplete. */
  update() {
    const p = this.parsed();
    this.hint.hidden = true;
    if (!p || !this.communityId) {
      this.composer.listbox.setAttribute('aria-label', 'Members to mention');
      return false;
    }
    const c = this.composer;
    const communityId = this.communityId;
    commandsOf(communityId).then((commands) => {
      if (this.communityId !== communityId) return;
      this.commands = commands;
      const now = this.parsed();
      if (!now) return;
      if (now.typingName) this.showList(commands.filter((x) => x.name.startsWith(now.name)));
      else {
        c.closeList();
        this.showHint(commands.find((x) => x.name === now.name));
      }
    }).catch(() => {});
    return true;
  }

  showList(found) {
    const c = this.composer;
    c.options = found.slice(0, 10).map((x) => ({ slash: x }));
    if (!c.options.length) return c.closeList();
    c.listbox.setAttribute('aria-label', 'Commands');
    replace(c.listbox, c.options.map((o, i) => h('li', {
      role: 'option', id: `${c.listbox.id}-${i}`, class: 'ac-option slash-option', 'aria-selected': 'false',
      onmousedown: (e) => { e.preventDefault(); c.pick(o); },
    }, h('span', { class: 'ac-name' }, `/${o.slash.name}`), h('span', { class: 'muted' }, ` ${o.slash.description} · ${o.slash.bot_name}`))));
    c.listbox.hidden = false;
    c.setActive(0);
  }

  showHint(cmd) {
    if (!cmd) return;
    const opts = cmd.options.map((o) => (o.required ? `${o.name}:<${o.type}>` : `[${o.name}:<${o.type}>]`));
    this.hint.textContent = `/${cmd.name} ${opts.join(' ')} — ${cmd.description}`;
    this.hint.hidden = false;
  }

  /** A picked list entry that is a command: fill in "/name ". */
  pick(option) {
    if (!option.slash) return false;
    const c = this.composer;
    c.input.value = `/${option.slash.name} `;
    c.input.setSelectionRange(c.input.value.length, c.input.value.length);
    c.closeList();
    c.listbox.setAttribute('aria-label', 'Members to mention');
    this.showHint(option.slash);
    announce(`/${option.slash.name} chosen`);
    c.focus();
    return true;
  }

  /** On send: true when the text was a command (used, or refused with a reason shown). */
  submit() {
    const p = this.parsed();
    if (!p || !this.communityId) return false;
    const cmd = this.commands.find((x) => x.name === p.name);
    if (!cmd) return false; // "/shrug" and the like are sent as text
    const c = this.composer;
    let options;
    try {
      options = parseOptions(cmd, p.rest || '', this.communityId);
    } catch (err) {
      c.error.textContent = err.message;
      return true;
    }
    c.input.value = '';
    c.autosize();
    this.hint.hidden = true;
    R.channels.interact(c.chat.channelId, { command_id: cmd.id, options })
      .then((i) => {
        if (settled.delete(i.id)) return;
        const note = this.note(`${cmd.bot_name} is thinking about /${cmd.name}…`, 'pending');
        open.set(i.id, { slash: this, note, cmd });
      })
      .catch((err) => { c.error.textContent = err.message; });
    return true;
  }

  note(text, kind, from) {
    const el = h('div', { class: `slash-note ${kind}` },
      from ? h('strong', null, from, ' ', h('span', { class: 'bot-tag' }, 'BOT'), ' ') : null,
      h('span', { class: 'slash-text' }, text),
      kind === 'pending' ? null : h('span', { class: 'muted only-you' }, ' · Only you can see this'),
      h('button', { type: 'button', class: 'icon-btn small', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'));
    this.notes.append(el);
    return el;
  }
}

function parseOptions(cmd, rest, communityId) {
  const out = {};
  const pairs = [...rest.matchAll(/(\w[\w-]*):("[^"]*"|\S+)/g)];
  if (!pairs.length && rest.trim() && cmd.options.length && cmd.options[0].type === 'string') {
    out[cmd.options[0].name] = rest.trim(); // "/echo hello there": the whole text is the first option
  }
  for (const [, key, raw] of pairs) {
    const opt = cmd.options.find((o) => o.name === key);
    if (!opt) throw new Error(`/${cmd.name} has no option ${key}.`);
    const v = raw.replace(/^"|"$/g, '');
    out[key] = convert(opt, v, communityId);
  }
  for (const o of cmd.options) if (o.required && !(o.name in out)) throw new Error(`/${cmd.name} needs ${o.name}.`);
  return out;
}

function convert(opt, v, communityId) {
  if (opt.type === 'integer') {
    if (!/^-?\d+$/.test(v)) throw new Error(`${opt.name} must be a whole number.`);
    return Number(v);
  }
  if (opt.type === 'boolean') {
    if (!/^(true|false|yes|no)$/i.test(v)) throw new Error(`${opt.name} must be true or false.`);
    return /^(true|yes)$/i.test(v);
  }
  if (opt.type === 'user') {
    const name = v.replace(/^@/, '').toLowerCase();
    const member = (state.members.get(communityId) || []).map((m) => store.user(m.user_id)).find((u) => u && u.username.toLowerCase() === name);
    if (!member) throw new Error(`${opt.name}: no member @${name}.`);
    return member.id;
  }
  if (opt.type === 'channel') {
    const name = v.replace(/^#/, '').toLowerCase();
    const ch = (state.channels.get(communityId) || []).find((x) => x.name.toLowerCase() === name);
    if (!ch) throw new Error(`${opt.name}: no channel #${name}.`);
    return ch.id;
  }
  return v;
}

/** Gateway dispatches about this member's interactions (only their sessions receive them). */
export function interactionDispatch(shell, t, d) {
  const current = () => shell?.chat?.composer?.slash?.real || null;
  const known = open.get(d.interaction_id);
  if (!known) settled.add(d.interaction_id);
  if (t === 'INTERACTION_RESPONSE') {
    if (known) known.note.remove();
    open.delete(d.interaction_id);
    if (!d.ephemeral) return;
    const slash = known?.slash || current();
    if (slash) {
      slash.note(d.content, 'ephemeral', store.displayName(d.bot_id));
      announce(`${store.displayName(d.bot_id)} answered only you: ${d.content}`);
    }
  } else if (t === 'INTERACTION_FAILED') {
    open.delete(d.interaction_id);
    const slash = known?.slash || current();
    if (known) known.note.remove();
    if (slash) slash.note(`${known?.cmd.bot_name || 'The bot'} did not respond to /${d.name}.`, 'failed');
  }
}
