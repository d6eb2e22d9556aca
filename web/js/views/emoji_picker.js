// The emoji picker (loaded with import() when first opened, so the list never weighs on the first
// load): search by name, the recently used, the community's custom emoji, then Unicode's groups.
// The list is vendored (web/vendor/emoji/emoji.js, built by scripts/vendor-emoji.py); no CDN.

import { h, replace } from '../dom.js';
import { communityEmoji } from './community_emoji.js';
import { modal } from './dialogs.js';

const RECENT_KEY = 'cryb-emoji-recent';
const RECENT_MAX = 24;
let groups = null; // [{name, items: [{emoji, name}]}]
let busy = false; // one picker at a time: a second press (or a typed space) while it opens is ignored

async function unicodeGroups() {
  if (!groups) {
    const { default: rows } = await import('../../vendor/emoji/emoji.js');
    groups = rows.map(([name, list]) => ({
      name,
      items: list.split('|').map((entry) => {
        const at = entry.indexOf(' ');
        return { emoji: entry.slice(0, at), name: entry.slice(at + 1) };
      }),
    }));
  }
  return groups;
}

function recent() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
    return Array.isArray(list) ? list.filter((x) => x && typeof x.value === 'string') : [];
  } catch {
    return [];
  }
}

function remember(choice) {
  const list = [choice, ...recent().filter((x) => x.value !== choice.value)].slice(0, RECENT_MAX);
  try { localStorage.setItem(RECENT_KEY, JSON.stringify(list)); } catch { /* private mode: no memory */ }
}

/** Open the picker. `pick(choice)` gets {value, emoji?, name, custom?, url?}: `value` is the
 *  unicode emoji, or "name:id" for a custom one (the reactions API's form). */
export async function openEmojiPicker({ title = 'Emoji', communityId = null, pick }) {
  if (busy) return;
  busy = true;
  let unicode;
  let custom;
  try {
    [unicode, custom] = await Promise.all([unicodeGroups(), communityEmoji(communityId)]);
  } catch (err) {
    busy = false;
    throw err;
  }
  const customItems = custom.filter((e) => e.url).map((e) => ({ value: `${e.name}:${e.id}`, name: e.name, custom: true, url: e.url, id: e.id }));
  const unicodeItems = (g) => g.items.map((x) => ({ value: x.emoji, emoji: x.emoji, name: x.name }));
  const { dialog } = modal(title, (close) => {
    const search = h('input', { type: 'search', class: 'emoji-search', placeholder: 'Search emoji', 'aria-label': 'Search emoji', autocomplete: 'off' });
    const body = h('div', { class: 'emoji-sections' });
    const status = h('p', { class: 'sr-only', role: 'status' });
    const tabs = h('div', { class: 'emoji-tabs', role: 'toolbar', 'aria-label': 'Emoji categories' });

    const choose = (item) => {
      remember({ value: item.value, name: item.name, emoji: item.emoji, url: item.url, custom: !!item.custom });
      close();
      pick(item);
    };
    const cell = (item, first) => h('button', {
      type: 'button', role: 'gridcell', class: `emoji-btn${item.custom ? ' custom' : ''}`, tabindex: first ? '0' : '-1',
      'aria-label': item.custom ? `:${item.name}: (custom)` : `${item.emoji} ${item.name}`, title: item.custom ? `:${item.name}:` : item.name,
      onclick: () => choose(item),
    }, item.custom ? h('img', { src: item.url, alt: '', width: '28', height: '28' }) : item.emoji);
    const section = (name, items, first) => h('section', { class: 'emoji-section', 'aria-label': name, dataset: { group: name } },
      h('h3', { class: 'emoji-group-title' }, name),
      h('div', { class: 'emoji-grid', role: 'grid', 'aria-label': name },
        h('div', { role: 'row', class: 'emoji-row' }, items.map((item, i) => cell(item, first && i === 0)))));

    const sections = [];
    const recents = recent().filter((r) => !r.custom || customItems.some((c) => c.value === r.value));
    if (recents.length) sections.push(['Recently used', recents]);
    if (customItems.length) sections.push(['Custom', customItems]);
    for (const g of unicode) sections.push([g.name, unicodeItems(g)]);

    const showAll = () => {
      replace(body, sections.map(([name, items], i) => section(name, items, i === 0)));
      tabs.hidden = false;
    };
    const showFound = (q) => {
      const words = q.toLowerCase().split(/\s+/).filter(Boolean);
      const hit = (name) => words.every((w) => name.toLowerCase().includes(w));
      const found = [...customItems.filter((c) => hit(c.name)), ...unicode.flatMap(unicodeItems).filter((x) => hit(x.name))].slice(0, 200);
      tabs.hidden = true;
      replace(body, found.length ? section('Search results', found, true) : h('p', { class: 'muted emoji-none' }, `No emoji match “${q}”.`));
      status.textContent = found.length ? `${found.length} emoji found` : 'No emoji found';
    };
    replace(tabs, sections.map(([name, items]) => h('button', {
      type: 'button', class: 'emoji-tab', title: name, 'aria-label': name,
      onclick: () => body.querySelector(`[data-group="${CSS.escape(name)}"]`)?.scrollIntoView({ block: 'start' }),
    }, items[0].custom ? h('img', { src: items[0].url, alt: '', width: '20', height: '20' }) : items[0].emoji)));

    search.addEventListener('input', () => (search.value.trim() ? showFound(search.value.trim()) : showAll()));
    search.addEventListener('keydown', (e) => {
      const first = body.querySelector('.emoji-btn');
      if (e.key === 'Enter' && first) { e.preventDefault(); first.click(); }
      if (e.key === 'ArrowDown' && first) { e.preventDefault(); first.focus(); }
    });
    body.addEventListener('keydown', (e) => {
      const buttons = [...body.querySelectorAll('.emoji-btn')];
      const i = buttons.indexOf(document.activeElement);
      // Columns as laid out (8 at any width today; counted so a CSS change cannot break the keys).
      const row = buttons[i]?.parentElement;
      const cols = row ? [...row.children].filter((b) => b.offsetTop === row.firstElementChild.offsetTop).length || 1 : 1;
      const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols };
      if (!(e.key in moves) || i < 0) return;
      e.preventDefault();
      if (e.key === 'ArrowUp' && i < cols) { search.focus(); return; }
      const next = buttons[Math.min(buttons.length - 1, Math.max(0, i + moves[e.key]))];
      buttons.forEach((b) => b.setAttribute('tabindex', '-1'));
      next.setAttribute('tabindex', '0');
      next.focus();
      next.scrollIntoView({ block: 'nearest' });
    });
    showAll();
    return h('div', { class: 'modal-body emoji-picker-body' }, search, tabs, body, status);
  }, { className: 'picker emoji-picker' });
  dialog.addEventListener('close', () => { busy = false; });
}
