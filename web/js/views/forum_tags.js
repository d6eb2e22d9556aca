// Forum channels' tag sets (issue 26): the feed's filter chips (?tag=), the post composer's
// choices, and "Edit tags" for those who manage the channel. The node refuses a post whose tags
// are not in the set (unknown_tag); forum.js calls these hooks.

import * as api from '../api.js';
import * as R from '../content.js';
import { announce, h, replace } from '../dom.js';
import * as store from '../store.js';
import { modal } from './dialogs.js';

function canManage(channel) {
  return store.can(channel.perms || 0, store.PERM.MANAGE_CHANNELS);
}

function editTags(view, current) {
  modal('Tags of this channel', (close) => {
    const input = h('input', { id: 'forum-tags-edit', value: current.join(', '), placeholder: 'help, showcase, news' });
    const error = h('p', { class: 'form-banner', role: 'alert' });
    const form = h('form', { class: 'modal-body', novalidate: true },
      h('label', { for: 'forum-tags-edit' }, 'Tags (comma separated; empty: any tags)'), input, error,
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn primary' }, 'Save tags')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const tags = input.value.split(',').map((t) => t.trim()).filter(Boolean);
        await R.channels.setTags(view.channel.id, { tags });
        close();
        announce('Tags saved.');
        view.route(location.pathname);
      } catch (err) {
        error.textContent = err.message;
      }
    });
    return form;
  });
}

/** The feed's tag chips: All, then each tag of the set (the current one pressed). */
export function tagFilter(view, sort, current) {
  const bar = h('div', { class: 'tag-filter', role: 'group', 'aria-label': 'Filter by tag' });
  const go = (tag) => view.shell.navigate(`${view.base()}${api.q({ sort, tag })}`);
  R.channels.tags(view.channel.id).then(({ tags }) => {
    const chips = tags.length ? [null, ...tags].map((t) => h('button', {
      type: 'button', class: `chip${(t || null) === (current || null) ? ' on' : ''}`, 'aria-pressed': String((t || null) === (current || null)),
      onclick: () => go(t),
    }, t ? `#${t}` : 'All')) : [];
    const edit = canManage(view.channel) ? h('button', { type: 'button', class: 'btn small', onclick: () => editTags(view, tags) }, 'Edit tags') : null;
    replace(bar, ...chips, edit);
  }).catch(() => {});
  return bar;
}

/** The composer's choices: the set's tags as toggles that fill the tags field. */
export function tagChoices(channelId, input) {
  const box = h('div', { class: 'tag-filter', role: 'group', 'aria-label': 'Channel tag choices' });
  const chosen = () => input.value.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  R.channels.tags(channelId).then(({ tags }) => {
    if (!tags.length) return;
    input.placeholder = `from: ${tags.join(', ')}`;
    const draw = () => replace(box, tags.map((t) => {
      const on = chosen().includes(t);
      return h('button', {
        type: 'button', class: `chip${on ? ' on' : ''}`, 'aria-pressed': String(on),
        onclick: () => {
          const now = chosen();
          input.value = (on ? now.filter((x) => x !== t) : [...now, t]).join(', ');
          draw();
        },
      }, `#${t}`);
    }));
    input.addEventListener('input', draw);
    draw();
  }).catch(() => {});
  return box;
}
