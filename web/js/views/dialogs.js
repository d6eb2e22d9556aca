// Modal dialogs (native <dialog>: focus stays inside, Escape closes, focus returns to the opener),
// the reaction picker and the pinned-messages panel.

import { communities as C, messages as M } from '../content.js';
import { announce, formatTime, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import * as store from '../store.js';
import { banner, busy, field, showError, submitButton } from './forms.js';
import { renderBody } from './markup.js';

const { state } = store;

/** Open a modal; returns {dialog, close}. `build(close)` returns its content. */
export function modal(title, build, { className = '' } = {}) {
  const opener = document.activeElement;
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const dialog = h('dialog', { class: `modal ${className}`, 'aria-labelledby': titleId });
  const close = (value) => {
    dialog.returnValue = value === undefined ? '' : String(value);
    dialog.close();
  };
  dialog.addEventListener('close', () => {
    // It comes a task after close(): focus put elsewhere meanwhile (a picked emoji's) stays.
    const active = document.activeElement;
    const placed = active && active !== document.body && active !== opener && !dialog.contains(active);
    dialog.remove();
    if (!placed && opener && opener.isConnected) opener.focus();
  });
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) close();
  });
  replace(dialog,
    h('header', { class: 'modal-head' },
      h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close', onclick: () => close() }, icon('close'))),
    build(close));
  document.body.appendChild(dialog);
  dialog.showModal();
  const first = dialog.querySelector('input, textarea, select, .modal-body button, [autofocus]');
  if (first) first.focus();
  return { dialog, close };
}

export function confirmDialog(title, text, action) {
  return new Promise((resolve) => {
    let answer = false;
    const { dialog } = modal(title, (close) => h('div', { class: 'modal-body' },
      h('p', null, text),
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'button', class: 'btn danger', onclick: () => { answer = true; close(); } }, action))));
    dialog.addEventListener('close', () => resolve(answer));
    dialog.querySelector('.btn.danger').focus();
  });
}

export function createCommunityDialog(shell) {
  modal('Create a community', (close) => {
    const name = field('Community name', { name: 'name', required: true, maxlength: 100 });
    const description = field('Description (optional)', { name: 'description', maxlength: 1000, multiline: true, rows: 2 });
    const isPublic = h('input', { type: 'checkbox', id: 'cc-public', checked: true });
    const errors = banner();
    const form = h('form', { class: 'modal-body', novalidate: true },
      errors, name.row, description.row,
      h('div', { class: 'check' }, isPublic, h('label', { for: 'cc-public' }, 'Public: anyone on this node can find and join it')),
      h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'), submitButton('Create')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        try {
          const community = await C.create({ name: name.input.value.trim(), description: description.input.value.trim(), public: isPublic.checked });
          shell.joinedCommunity(community);
          close();
          announce(`Created ${community.name}.`);
          shell.navigate(`/channels/${community.id}`);
        } catch (err) {
          showError(err, { name, description }, errors);
        }
      });
    });
    return form;
  });
}

/** Accepts an invite code or a full invite link. */
export function inviteCode(text) {
  const m = /\/invite\/([^/?#\s]+)/.exec(text);
  return (m ? m[1] : text).trim();
}

export function joinDialog(shell) {
  modal('Join a community', (close) => {
    const code = field('Invite link or code', { name: 'invite', required: true, placeholder: `${location.origin}/invite/AbC123` });
    const errors = banner();
    const publicList = h('ul', { class: 'public-list', 'aria-label': 'Public communities' }, h('li', { class: 'muted' }, 'Loading public communities…'));
    const form = h('form', { class: 'modal-body', novalidate: true },
      errors, code.row,
      h('div', { class: 'modal-actions' }, submitButton('Join with invite')),
      h('h3', { class: 'section-title' }, 'Public communities'), publicList);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        try {
          const community = await C.acceptInvite(inviteCode(code.input.value));
          joined(shell, community, close);
        } catch (err) {
          showError(err, { invite: code, code }, errors);
        }
      });
    });
    C.browse().then((list) => {
      const open = list.communities.filter((c) => !state.communities.has(c.id));
      replace(publicList, open.length ? open.map((c) => h('li', { class: 'public-item' },
        h('div', null, h('strong', null, c.name), h('span', { class: 'muted' }, ` · ${c.member_count} ${c.member_count === 1 ? 'member' : 'members'}`),
          c.description ? h('p', { class: 'muted' }, c.description) : null),
        h('button', {
          type: 'button', class: 'btn small', 'aria-label': `Join ${c.name}`,
          onclick: async () => {
            try {
              joined(shell, await C.join(c.id), close);
            } catch (err) {
              errors.textContent = err.message;
            }
          },
        }, 'Join'))) : h('li', { class: 'muted' }, 'No other public communities on this node yet.'));
    }).catch((err) => replace(publicList, h('li', { class: 'muted' }, err.message)));
    return form;
  });
}

function joined(shell, community, close) {
  shell.joinedCommunity(community);
  close();
  announce(`Joined ${community.name}.`);
  import('./onboarding.js').then((m) => m.afterJoin(shell, community));
}

export function inviteDialog(shell, communityId) {
  modal('Invite people', () => {
    const body = h('div', { class: 'modal-body' }, h('p', { role: 'status' }, 'Creating an invite link…'));
    C.createInvite(communityId, { max_age_s: 7 * 86400, max_uses: 0 }).then((inv) => {
      const url = `${location.origin}/invite/${inv.code}`;
      const input = h('input', { id: 'invite-link', readonly: true, value: url, 'aria-describedby': 'invite-note' });
      const copy = h('button', {
        type: 'button', class: 'btn primary',
        onclick: async () => {
          input.select();
          try {
            await navigator.clipboard.writeText(url);
            copy.textContent = 'Copied';
          } catch {
            copy.textContent = 'Press Ctrl+C';
          }
          announce('Invite link copied.');
        },
      }, 'Copy');
      replace(body,
        h('label', { for: 'invite-link' }, 'Send this link to people you want to invite'),
        h('div', { class: 'copy-row' }, input, copy),
        h('p', { id: 'invite-note', class: 'muted' }, 'The link expires in 7 days.'));
      input.focus();
      input.select();
    }).catch((err) => replace(body, h('p', { role: 'alert' }, err.message)));
    return body;
  });
}

export function createChannelDialog(shell, communityId) {
  modal('Create channel', (close) => {
    const name = field('Channel name', { name: 'name', required: true, maxlength: 100, placeholder: 'new-channel' });
    const kind = h('select', { id: 'cc-kind', name: 'kind' },
      h('option', { value: 'text' }, 'Text channel'),
      h('option', { value: 'announcement' }, 'Announcement channel'),
      h('option', { value: 'forum' }, 'Forum'),
      h('option', { value: 'voice' }, 'Voice channel'),
      h('option', { value: 'category' }, 'Category'));
    const categories = (state.channels.get(communityId) || []).filter((c) => c.kind === 'category');
    const parent = h('select', { id: 'cc-parent', name: 'parent_id' },
      h('option', { value: '' }, 'No category'),
      categories.map((c) => h('option', { value: c.id }, c.name)));
    const errors = banner();
    const form = h('form', { class: 'modal-body', novalidate: true },
      errors, name.row,
      h('div', { class: 'field' }, h('label', { for: 'cc-kind' }, 'Type'), kind),
      categories.length ? h('div', { class: 'field' }, h('label', { for: 'cc-parent' }, 'Category'), parent) : null,
      h('div', { class: 'modal-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'), submitButton('Create channel')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(form, async () => {
        try {
          const body = { name: name.input.value.trim().replace(/\s+/g, '-').toLowerCase(), kind: kind.value };
          if (parent.value && kind.value !== 'category') body.parent_id = parent.value;
          const channel = await C.createChannel(communityId, body);
          const list = state.channels.get(communityId) || [];
          if (!list.some((c) => c.id === channel.id)) store.setChannels(communityId, [...list, channel]);
          close();
          if (channel.kind !== 'category') shell.navigate(`/channels/${communityId}/${channel.id}`);
        } catch (err) {
          showError(err, { name }, errors);
        }
      });
    });
    return form;
  });
}

const EMOJI = ['👍', '👎', '❤️', '😂', '🎉', '😮', '😢', '🔥', '👀', '✅', '🙏', '🚀', '💯', '😍', '🤔', '👏'];

/** A grid of emoji; arrow keys move, Enter picks, Escape closes. */
export function reactionPicker(anchor, pick) {
  modal('Add reaction', (close) => {
    const grid = h('div', { class: 'emoji-grid', role: 'grid', 'aria-label': 'Emoji' },
      h('div', { role: 'row', class: 'emoji-row' }, EMOJI.map((emoji, i) => h('button', {
        type: 'button', role: 'gridcell', class: 'emoji-btn', tabindex: i === 0 ? '0' : '-1', 'aria-label': emoji,
        onclick: () => { close(); pick(emoji); },
      }, emoji))));
    grid.addEventListener('keydown', (e) => {
      const buttons = [...grid.querySelectorAll('button')];
      const i = buttons.indexOf(document.activeElement);
      const cols = 8;
      const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols };
      if (e.key in moves) {
        e.preventDefault();
        const next = buttons[Math.min(buttons.length - 1, Math.max(0, i + moves[e.key]))];
        buttons.forEach((b) => b.setAttribute('tabindex', '-1'));
        next.setAttribute('tabindex', '0');
        next.focus();
      }
    });
    return h('div', { class: 'modal-body' }, grid);
  }, { className: 'picker' });
}

export function pinsDialog(chat) {
  modal(`Pinned messages in ${chat.label}`, () => {
    const list = h('ul', { class: 'pins-list' }, h('li', { class: 'muted', role: 'status' }, 'Loading…'));
    M.pins(chat.channelId).then((page) => {
      const pins = page.messages || [];
      replace(list, pins.length ? pins.map((m) => h('li', { class: 'pin-item' },
        h('p', null, h('strong', null, store.displayName(m.author_id)), h('span', { class: 'muted' }, ` ${formatTime(m.created_at)}`)),
        h('div', { class: 'msg-body' }, renderBody(m)))) : h('li', { class: 'muted' }, 'This channel has no pinned messages yet.'));
    }).catch((err) => replace(list, h('li', { role: 'alert' }, err.message)));
    return h('div', { class: 'modal-body' }, list);
  });
}
