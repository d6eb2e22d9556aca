// Saved items (issue 26): "Save" on a message (its menu) or a post (its page), and the Saved page at
// /saved listing them newest first with links back; only the member sees their list (the saved
// plugin checks they can still read each item).

import * as R from '../content.js';
import { formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';
import { toast } from './message_menu.js';

const { state } = store;
const known = new Set(); // "type:id" the member saved, as this page learned it

async function toggle(type, id) {
  const key = `${type}:${id}`;
  const on = !known.has(key);
  await (on ? R.saved.save : R.saved.unsave)(type, id);
  if (on) known.add(key); else known.delete(key);
  toast(on ? 'Saved. Find it under Saved (/saved).' : 'Removed from saved.');
  return on;
}

/** The message menu's "Save message" (message_menu.js loads this module for it). */
export function saveMessage(m) {
  if (known.has(`message:${m.id}`)) return toast('Already saved. Find it under Saved.');
  return toggle('message', m.id).catch((err) => toast(err.message));
}

/** A post page's button (forum.js). */
export function saveButton(type, id) {
  // "Bookmark", not "Save": the post's own edit form has a Save button beside it.
  const b = h('button', { type: 'button', class: 'btn', 'aria-pressed': 'false', title: 'Keep it on your Saved page' }, 'Bookmark');
  const show = (on) => { b.textContent = on ? 'Bookmarked' : 'Bookmark'; b.setAttribute('aria-pressed', String(on)); };
  R.saved.get(type, id).then((s) => { if (s.saved) known.add(`${type}:${id}`); show(s.saved); }).catch(() => {});
  b.addEventListener('click', () => toggle(type, id).then(show).catch((err) => toast(err.message)));
  return b;
}

function href(item) {
  if (item.type === 'post') return `/channels/${item.community_id}/${item.channel_id}/${item.id}`;
  if (item.type === 'comment') return `/channels/${item.community_id}/${item.channel_id}/${item.post_id}#c-${item.id}`;
  return item.community_id ? `/channels/${item.community_id}/${item.channel_id}#m-${item.id}` : `/channels/@me/${item.channel_id}#m-${item.id}`;
}

/** The /saved page (extra.js routes it here). */
export function openSaved(shell) {
  state.current = { communityId: undefined, channelId: null };
  shell.renderRail();
  shell.renderSidebar();
  shell.setMembers(null);
  shell.chat?.destroy();
  const view = new SavedView(shell);
  shell.chat = view;
  replace(shell.mainPane, view.el);
  view.load();
}

class SavedView {
  constructor(shell) {
    this.shell = shell;
    this.channelId = '@saved';
    this.list = h('ol', { class: 'notif-list saved-list', 'aria-label': 'Saved items' });
    this.status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
    this.more = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => this.load(this.next) }, 'Load more');
    this.el = h('div', { class: 'chat-view saved-view' },
      shell.header(h('h2', { class: 'channel-title' }, 'Saved')),
      h('div', { class: 'scroller pane-scroller' }, this.status, this.list, this.more));
  }

  destroy() {}
  focusComposer() {}
  flushOutbox() {}
  catchUp() {}

  async load(before = null) {
    try {
      const out = await R.saved.list(before);
      if (!before) replace(this.list);
      out.items.forEach((item) => { known.add(`${item.type}:${item.id}`); this.list.append(this.item(item)); });
      this.status.textContent = this.list.children.length ? '' : 'Nothing saved yet. Use “Save message” in a message’s menu, or “Bookmark” on a post.';
      this.next = out.next;
      this.more.hidden = !out.next;
    } catch (err) {
      this.status.textContent = err.message;
    }
  }

  item(item) {
    const where = item.community_id ? store.channelById(item.channel_id) : null;
    const place = where ? `#${where.name}` : item.community_id ? 'a community' : 'a direct message';
    const li = h('li', { class: 'notif' },
      h('a', {
        href: href(item), class: 'notif-link',
        onclick: (e) => { e.preventDefault(); this.shell.navigate(href(item)); },
      }, h('strong', null, store.displayName(item.author_id)), ` in ${place}: `, item.excerpt || '(no text)'),
      h('span', { class: 'muted' }, ` · saved ${formatTime(item.saved_at)} `),
      h('button', {
        type: 'button', class: 'btn small', 'aria-label': `Remove “${item.excerpt.slice(0, 40)}” from saved`,
        onclick: () => toggle(item.type, item.id).then(() => li.remove()).catch((err) => toast(err.message)),
      }, 'Remove'));
    return li;
  }
}
