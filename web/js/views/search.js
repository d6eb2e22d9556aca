// Search: the full page (query syntax help, highlighted results, facets, pages) and the quick
// switcher (Ctrl+K / Cmd+K) that jumps to channels, communities and search. Server snippets are
// escaped text with <mark> around matches; only text and <mark> survive here.

import * as api from '../api.js';
import * as R from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';

const { state } = store;

/** A snippet as nodes: text plus <mark>, everything else dropped (parsed inert in a template). */
export function snippetNodes(html) {
  const tpl = document.createElement('template');
  tpl.innerHTML = html || '';
  const frag = document.createDocumentFragment();
  const walk = (node, parent) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) parent.appendChild(document.createTextNode(child.nodeValue));
      else if (child.nodeType === Node.ELEMENT_NODE && child.tagName === 'MARK') walk(child, parent.appendChild(h('mark')));
      else if (child.nodeType === Node.ELEMENT_NODE) walk(child, parent);
    }
  };
  walk(tpl.content, frag);
  return frag;
}

/** Where a hit lives in the app. */
export function hitHref(hit) {
  if (hit.kind === 'post') return `/channels/${hit.community_id}/${hit.channel_id}/${hit.id}`;
  if (hit.kind === 'comment' && hit.post_id) return `/channels/${hit.community_id}/${hit.channel_id}/${hit.post_id}#c-${hit.id}`;
  if (hit.kind === 'message') return hit.community_id ? `/channels/${hit.community_id}/${hit.channel_id}#m-${hit.id}` : `/channels/@me/${hit.channel_id}#m-${hit.id}`;
  if (hit.kind === 'community') return `/channels/${hit.id}`;
  return null;
}

/** After navigating to a hit, bring its message/comment into view and mark it briefly. */
export function jumpToHash(root) {
  const m = /^#([mc])-(.+)$/.exec(location.hash);
  if (!m) return;
  const sel = `[data-id="${CSS.escape(m[2])}"]`;
  let tries = 0;
  const look = () => {
    const el = root.querySelector(sel);
    if (el) {
      el.scrollIntoView({ block: 'center' });
      el.classList.add('jump-target');
      setTimeout(() => el.classList.remove('jump-target'), 3000);
      return;
    }
    if (++tries < 40) setTimeout(look, 150);
  };
  look();
}

const HELP = [
  ['garden', 'a word (also gardens, gardening)'],
  ['"exact phrase"', 'words as written, in order'],
  ['repo* gen?ral', 'words starting so; one character'],
  ['from:alice mentions:bob', 'by a user; mentioning a user'],
  ['in:general community:"Book club"', 'in a channel; in a community'],
  ['has:link has:file has:image has:video has:embed', 'with a link, a file, an image…'],
  ['pinned:true is:post is:comment is:message', 'pinned; by kind'],
  ['before:2025-01-01 after:2024-06-01 during:2024-05', 'by date (a day, month or year)'],
  ['a OR b  NOT c  (x OR y)', 'combine anything, operators too'],
];

const SORTS = [['relevance', 'Relevance'], ['new', 'Newest first'], ['old', 'Oldest first']];

export class SearchView {
  constructor(shell) {
    this.shell = shell;
    this.channelId = '@search';
    const params = new URLSearchParams(location.search);
    this.input = h('input', { type: 'search', id: 'search-q', 'aria-label': 'Search', value: params.get('q') || '', placeholder: 'Search messages, posts, comments…', maxlength: 256 });
    this.sort = h('select', { 'aria-label': 'Sort results', onchange: () => { if (this.input.value.trim()) this.go(1); } },
      SORTS.map(([value, label]) => h('option', { value, selected: value === (params.get('sort') || 'relevance') }, label)));
    this.results = h('ol', { class: 'search-results', 'aria-label': 'Results' });
    this.facets = h('aside', { class: 'facets', 'aria-label': 'Refine' });
    this.status = h('p', { class: 'muted', role: 'status' });
    const form = h('form', {
      class: 'search-form',
      role: 'search',
      onsubmit: (e) => { e.preventDefault(); this.go(1); },
    }, this.input, this.sort, h('button', { class: 'btn primary', type: 'submit' }, 'Search'));
    const help = h('details', { class: 'search-help' }, h('summary', null, 'Search syntax'),
      h('dl', null, HELP.map(([k, v]) => [h('dt', null, h('code', null, k)), h('dd', null, v)])));
    this.el = h('div', { class: 'chat-view search-view' },
      shell.header(h('h2', { class: 'channel-title' }, 'Search')),
      h('div', { class: 'scroller pane-scroller' }, form, help, this.status, h('div', { class: 'search-body' }, this.results, this.facets)));
  }

  destroy() {}
  focusComposer() { this.input.focus(); }
  flushOutbox() {}
  catchUp() {}

  go(page) {
    const q = this.input.value.trim();
    const url = `/search${api.q({ q, sort: this.sort.value === 'relevance' ? '' : this.sort.value, page: page > 1 ? page : '' })}`;
    history.pushState({}, '', url);
    this.run();
  }

  async run() {
    const params = new URLSearchParams(location.search);
    const q = params.get('q');
    if (!q) {
      replace(this.results);
      replace(this.facets);
      this.status.textContent = 'Type a query; open “Search syntax” for operators.';
      return;
    }
    this.status.textContent = 'Searching…';
    let out;
    try {
      out = await R.search.query({ q, sort: params.get('sort'), page: params.get('page') });
      this.sort.value = params.get('sort') || 'relevance';
    } catch (err) {
      this.status.textContent = err.message;
      replace(this.results);
      return;
    }
    // While the index is being built (a new node, an upgrade, a restore) results are what it holds so far.
    // total_exact false: a query with very many matches counts them from the newest ones ("about N").
    this.status.textContent = `${out.total_exact === false ? 'About ' : ''}${out.total} result${out.total === 1 ? '' : 's'}${out.partial ? ' so far: the search index is being built, so results may be incomplete' : ''}`;
    this.status.classList.toggle('partial', !!out.partial);
    const items = out.results.map((hit) => {
      const href = hitHref(hit);
      // Titles come highlighted like snippets (escaped text with <mark>).
      const title = hit.title ? snippetNodes(hit.title) : `${hit.kind} in ${hit.channel ? `#${hit.channel}` : hit.community || 'a conversation'}`;
      return h('li', { class: 'search-hit', dataset: { kind: hit.kind } },
        h('p', { class: 'hit-meta muted' }, `${hit.kind} · ${hit.author ? `@${hit.author}` : ''} ${hit.community ? `· ${hit.community}` : ''} ${hit.channel ? `· #${hit.channel}` : ''} · ${formatTime(hit.created_at)}`),
        h('a', {
          class: 'hit-title',
          href: href || '#',
          onclick: (e) => {
            e.preventDefault();
            if (!href) return;
            R.search.click({ query_id: out.query_id, key: hit.key }).catch(() => {});
            this.shell.navigate(href);
          },
        }, title),
        h('p', { class: 'hit-snippet' }, snippetNodes(hit.snippet)));
    });
    replace(this.results, items);
    if (out.suggestion) {
      this.results.prepend(h('li', { class: 'muted' }, 'Did you mean ',
        h('a', { href: `/search?q=${encodeURIComponent(out.suggestion)}`, onclick: (e) => { e.preventDefault(); this.input.value = out.suggestion; this.go(1); } }, out.suggestion), '?'));
    }
    if (out.pages > 1) {
      const pager = h('li', { class: 'pager' });
      for (let p = 1; p <= Math.min(out.pages, 10); p++) {
        pager.appendChild(h('button', { class: `btn${p === out.page ? ' primary' : ''}`, 'aria-current': p === out.page ? 'page' : undefined, onclick: () => this.go(p) }, String(p)));
      }
      this.results.appendChild(pager);
    }
    const f = out.facets || {};
    const op = { community: 'community', channel: 'in', kind: 'is' };
    const group = (label, key) => (f[key] && f[key].length ? h('section', null, h('h4', null, label),
      h('ul', null, f[key].map((v) => h('li', null, h('button', {
        class: 'btn link facet',
        onclick: () => {
          const name = v.name || v.value;
          const value = /\s/.test(name) ? `"${name}"` : name;
          this.input.value = `${this.input.value.trim()} ${op[key]}:${value}`;
          this.go(1);
        },
      }, `${v.name || v.value} (${v.count})`))))) : null);
    replace(this.facets, group('Kind', 'kind'), group('Community', 'community'), group('Channel', 'channel'));
    announce(this.status.textContent);
  }
}

// -- quick switcher --------------------------------------------------------------------------------

let open = null;

export function quickSwitcher(shell) {
  if (open) return;
  const input = h('input', { type: 'text', id: 'qs-input', role: 'combobox', 'aria-expanded': 'true', 'aria-controls': 'qs-list', 'aria-label': 'Jump to a channel or search', autocomplete: 'off' });
  const list = h('ul', { id: 'qs-list', role: 'listbox', class: 'qs-list' });
  let items = [];
  let active = 0;
  let dlg = null;
  const close = () => { dlg?.close(); open = null; };
  const choose = (item) => { close(); shell.navigate(item.href); };
  const render = () => {
    const term = input.value.trim().toLowerCase();
    const out = [];
    for (const c of state.communities.values()) {
      if (!term || c.name.toLowerCase().includes(term)) out.push({ label: c.name, hint: 'community', href: `/channels/${c.id}` });
      for (const ch of state.channels.get(c.id) || []) {
        if (ch.kind !== 'category' && (!term || ch.name.toLowerCase().includes(term))) out.push({ label: `#${ch.name}`, hint: c.name, href: `/channels/${c.id}/${ch.id}` });
      }
    }
    for (const dm of state.dms.values()) {
      const name = store.dmName(dm);
      if (!term || name.toLowerCase().includes(term)) out.push({ label: `@${name}`, hint: 'direct message', href: `/channels/@me/${dm.id}` });
    }
    items = out.slice(0, 8);
    if (term) items.push({ label: `Search for “${input.value.trim()}”`, hint: 'search', href: `/search?q=${encodeURIComponent(input.value.trim())}` });
    active = Math.min(active, Math.max(items.length - 1, 0));
    replace(list, items.map((it, i) => h('li', {
      role: 'option', id: `qs-${i}`, class: `qs-option${i === active ? ' active' : ''}`, 'aria-selected': String(i === active),
      onmousedown: (e) => { e.preventDefault(); choose(it); },
    }, h('span', null, it.label), h('span', { class: 'muted' }, ` ${it.hint}`))));
    input.setAttribute('aria-activedescendant', items.length ? `qs-${active}` : '');
  };
  input.addEventListener('input', () => { active = 0; render(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { active = (active + 1) % Math.max(items.length, 1); render(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { active = (active - 1 + items.length) % Math.max(items.length, 1); render(); e.preventDefault(); }
    else if (e.key === 'Enter' && items[active]) { e.preventDefault(); choose(items[active]); }
  });
  const m = modal('Quick switcher', () => h('div', { class: 'modal-body' }, input, list,
    h('p', { class: 'muted qs-hint' }, '↑↓ to move, Enter to open, Esc to close')), { className: 'qs' });
  dlg = m.dialog;
  m.dialog.addEventListener('close', () => { open = null; });
  open = m.dialog;
  render();
  input.focus();
}
