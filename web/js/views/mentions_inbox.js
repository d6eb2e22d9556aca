// "Mentions of me" (issue 26): /mentions lists the messages, posts and comments that mention the
// member, newest first, whatever their notification settings: the search index's `mentions:`
// filter, so only what they may read appears. Loaded when first opened (extra.js routes it).

import * as R from '../content.js';
import { formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';
import { hitHref, snippetNodes } from './search.js';

const { state } = store;
const PAGE = 20;

export function openMentions(shell) {
  state.current = { communityId: undefined, channelId: null };
  shell.renderRail();
  shell.renderSidebar();
  shell.setMembers(null);
  shell.chat?.destroy();
  const view = new MentionsView(shell);
  shell.chat = view;
  replace(shell.mainPane, view.el);
  view.load(1);
}

class MentionsView {
  constructor(shell) {
    this.shell = shell;
    this.channelId = '@mentions';
    this.list = h('ol', { class: 'notif-list', 'aria-label': 'Mentions of you' });
    this.status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
    this.more = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => this.load(this.page + 1) }, 'Older mentions');
    this.el = h('div', { class: 'chat-view inbox-view' },
      shell.header(h('h2', { class: 'channel-title' }, 'Mentions of you'),
        h('div', { class: 'header-actions' }, h('a', {
          class: 'btn', href: '/notifications', onclick: (e) => { e.preventDefault(); shell.navigate('/notifications'); },
        }, 'All notifications'))),
      h('div', { class: 'scroller pane-scroller' }, this.status, this.list, this.more));
  }

  destroy() {}
  focusComposer() {}
  flushOutbox() {}
  catchUp() { this.load(1); }

  async load(page) {
    const me = state.me?.username;
    if (!me) return;
    try {
      const out = await R.search.query({ q: `mentions:${me}`, sort: 'new', limit: String(PAGE), page: String(page), facets: 'false' });
      if (page === 1) replace(this.list);
      out.results.forEach((hit) => this.list.append(this.item(hit)));
      this.page = page;
      this.more.hidden = page >= out.pages;
      this.status.textContent = this.list.children.length ? (out.partial ? 'The search index is still being built: older mentions may be missing.' : '')
        : 'Nobody has mentioned you yet.';
    } catch (err) {
      this.status.textContent = err.message;
    }
  }

  item(hit) {
    const href = hitHref(hit);
    const place = hit.channel ? `#${hit.channel}` : hit.community_id ? hit.community || 'a community' : 'a direct message';
    return h('li', { class: 'notif' },
      h('p', { class: 'notif-line' }, h('strong', null, hit.author || store.displayName(hit.author_id)), ` mentioned you in ${place}`,
        h('span', { class: 'muted' }, ` · ${formatTime(hit.created_at)}`)),
      h('p', { class: 'notif-preview' }, hit.title ? h('strong', null, snippetNodes(hit.title), ' ') : null, snippetNodes(hit.snippet)),
      href ? h('div', { class: 'notif-actions' }, h('a', {
        class: 'btn link', href, onclick: (e) => { e.preventDefault(); this.shell.navigate(href); },
      }, 'Open')) : null);
  }
}
