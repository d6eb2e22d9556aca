// The node admin console's Media tab: uploads newest first (all, one member's, or those with some
// bytes), each with a preview, who uploaded it and where it is attached; a take-down with a reason,
// confirmed in a dialog (every upload of the same bytes goes, and the bytes are refused from then
// on); and the sha256 block list with unblock. The same API `cryb media ...` calls.

import * as R from '../../content.js';
import { announce, formatTime, h, replace } from '../../dom.js';
import * as store from '../../store.js';
import { confirmDialog, modal } from '../dialogs.js';
import { banner, busy, field, showError, submitButton } from '../forms.js';

const SHA = /^[0-9a-f]{64}$/;
const ID = /^[0-9a-z]{26}$/;

const CSS = `
.media-admin .media-filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; }
.media-admin .media-filters .field { flex: 1 1 200px; margin-bottom: 8px; }
.media-admin .media-filters .btn { margin-bottom: 8px; }
.media-list { list-style: none; padding: 0; margin: 0; }
.media-item { display: flex; gap: 12px; padding: 10px 0; border-bottom: 1px solid var(--border); align-items: flex-start; }
.media-thumb { width: 72px; height: 72px; flex: none; border-radius: 6px; background: var(--bg-input); object-fit: cover;
  display: flex; align-items: center; justify-content: center; font-size: 12px; color: var(--muted); }
.media-item.taken-down .media-thumb { opacity: 0.45; }
.media-info { flex: 1; min-width: 0; }
.media-info p { margin: 2px 0; overflow-wrap: anywhere; }
.media-name { font-weight: 600; }
.media-sha { font-size: 12px; }
.flag.taken-down { background: var(--danger); color: #fff; }
.media-actions { flex: none; display: flex; flex-direction: column; gap: 6px; }
@media (max-width: 600px) {
  .media-item { flex-wrap: wrap; }
  .media-info { flex-basis: calc(100% - 90px); }
  .media-actions { flex-direction: row; width: 100%; }
}`;

function styles() {
  if (!document.querySelector('style[data-admin-media]')) {
    document.head.appendChild(h('style', { 'data-admin-media': '' }, CSS));
  }
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

/** Profiles of these users in the store, so names show at once (an unknown id shows as itself). */
async function loadNames(ids) {
  const missing = [...new Set(ids)].filter((id) => id && !store.state.users.has(id));
  await Promise.all(missing.map((id) => R.users.get(id)
    .then((p) => store.state.users.set(id, p))
    .catch(() => store.state.users.set(id, { id, username: id, display_name: '' }))));
}

function where(m) {
  if (!m.attached) return 'Not attached';
  if (m.attached_to.includes(m.owner_id) && !m.channel_id) return 'Avatar';
  const place = m.channel_name
    ? `#${m.channel_name}${m.community_name ? ` (${m.community_name})` : ''}`
    : m.channel_id ? `channel ${m.channel_id}` : 'public';
  const n = m.attached_to.length;
  return `In ${place}${n ? ` · ${n} ${n === 1 ? 'message or post' : 'messages or posts'}` : ''}`;
}

/** Ask for the reason and confirm; resolves to the take-down's result, or null if cancelled. */
function takeDownDialog(title, text, send) {
  return new Promise((resolve) => {
    let result = null;
    const { dialog } = modal(title, (close) => {
      const reason = field('Reason', { name: 'reason', required: true, maxlength: 500, multiline: true, rows: 3 },
        'Kept with the block list and in the audit log; the uploader is not shown it.');
      const errors = banner();
      const form = h('form', {
        class: 'modal-body',
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          if (!reason.input.value.trim()) { reason.setError('Say why it is taken down.'); reason.input.focus(); return; }
          await busy(form, async () => {
            try {
              result = await send(reason.input.value.trim());
              close();
            } catch (err) {
              showError(err, { reason }, errors);
            }
          });
        },
      },
      h('p', null, text), errors, reason.row,
      h('div', { class: 'modal-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn danger' }, 'Take down')));
      return form;
    }, { className: 'takedown-dialog' });
    dialog.addEventListener('close', () => resolve(result));
  });
}

const CONSEQUENCES = 'Every upload of the same file is removed for everyone (its links answer “not found”), its stored '
  + 'files are deleted, other nodes are refused it, and the same bytes cannot be uploaded again.';

function item(m, view) {
  const down = m.taken_down;
  const thumb = m.thumbnail_url
    ? h('img', { class: 'media-thumb', src: m.thumbnail_url, alt: m.filename || `${m.kind} upload`, loading: 'lazy' })
    : h('span', { class: 'media-thumb', 'aria-hidden': 'true' }, m.kind);
  const owner = h('button', {
    type: 'button', class: 'btn link', title: 'Show only this member’s uploads',
    onclick: () => view.filter({ user: store.state.users.get(m.owner_id)?.username || m.owner_id, sha256: '' }),
  }, store.displayName(m.owner_id));
  const actions = h('div', { class: 'media-actions' });
  if (!down) {
    actions.append(h('button', {
      type: 'button', class: 'btn danger small',
      onclick: async () => {
        const out = await takeDownDialog(`Take down ${m.filename || 'this upload'}?`, CONSEQUENCES,
          (reason) => R.admin.takeDown(m.id, { reason }));
        if (!out) return;
        announce(`Taken down: ${out.media_ids.length} uploads, ${out.blobs_deleted} files deleted.`);
        await view.refresh();
      },
    }, 'Take down'));
  }
  return h('li', { class: `media-item${down ? ' taken-down' : ''}`, dataset: { media: m.id } },
    thumb,
    h('div', { class: 'media-info' },
      h('p', { class: 'media-name' }, m.filename || '(no name)', ' ',
        down ? h('span', { class: 'flag taken-down' }, 'taken down') : null),
      h('p', null, `${m.mime} · ${bytes(m.size)} · `, formatTime(m.created_at), ' · by ', owner),
      h('p', { class: 'media-where' }, where(m)),
      h('p', { class: 'media-sha' }, 'sha256 ', h('code', { title: m.sha256 }, m.sha256)),
      down ? h('p', { class: 'media-reason' }, `Taken down ${formatTime(down.at)} by `,
        down.actor_id ? store.displayName(down.actor_id) : 'the console', `: ${down.reason}`) : null),
    actions);
}

class MediaTab {
  constructor(view) {
    this.view = view;
    this.user = field('Uploaded by', { name: 'user', placeholder: 'username or user id' });
    this.sha = field('sha256', { name: 'sha256', placeholder: 'bytes of a file (64 hex digits)', maxlength: 64 });
    this.errors = banner();
    this.list = h('ul', { class: 'media-list', 'aria-label': 'Uploads' });
    this.more = h('div');
    this.blocks = h('section', { class: 'dash-section', 'aria-label': 'Block list' });
    const form = h('form', {
      class: 'media-filters', role: 'search',
      onsubmit: (e) => { e.preventDefault(); this.refresh(); },
    }, this.user.row, this.sha.row, h('button', { type: 'submit', class: 'btn primary' }, 'Show'));
    this.el = h('div', { class: 'media-admin' },
      h('section', { class: 'dash-section', 'aria-label': 'Uploads' },
        h('h3', null, 'Uploads'), form, this.errors, this.list, this.more),
      this.blocks);
  }

  filter({ user, sha256 }) {
    this.user.input.value = user;
    this.sha.input.value = sha256;
    return this.refresh();
  }

  async query() {
    const name = this.user.input.value.trim().replace(/^@/, '');
    const sha = this.sha.input.value.trim().toLowerCase();
    if (sha && !SHA.test(sha)) throw Object.assign(new Error('A sha256 is 64 hex digits.'), { field: 'sha256' });
    let userId = '';
    if (name) {
      if (ID.test(name)) userId = name;
      else {
        try {
          userId = (await R.users.byName(name)).id;
        } catch (err) {
          throw Object.assign(new Error(err.status === 404 ? `No member is called ${name}.` : err.message), { field: 'user' });
        }
      }
    }
    return { user_id: userId, sha256: sha };
  }

  async refresh() {
    try {
      this.q = await this.query();
      this.errors.textContent = '';
    } catch (err) {
      showError(err, { user: this.user, sha256: this.sha }, this.errors);
      return;
    }
    replace(this.list);
    await Promise.all([this.page(null), this.blocklist()]);
  }

  async page(after) {
    try {
      const out = await R.admin.media({ ...this.q, after, limit: 25 });
      await loadNames(out.items.flatMap((m) => [m.owner_id, m.taken_down?.actor_id]));
      this.list.append(...out.items.map((m) => item(m, this)));
      if (!this.list.children.length) this.list.append(h('li', { class: 'muted' }, 'No uploads match.'));
      replace(this.more, out.next_after ? h('button', {
        type: 'button', class: 'btn', onclick: () => this.page(out.next_after),
      }, 'Older uploads') : null);
    } catch (err) {
      replace(this.more, h('p', { role: 'alert' }, err.message));
    }
  }

  async blocklist() {
    const section = this.blocks;
    const sha = field('sha256', { name: 'sha256', maxlength: 64, placeholder: '64 hex digits' });
    const reason = field('Reason', { name: 'reason', maxlength: 500 });
    const errors = banner();
    const form = h('form', {
      class: 'media-filters', novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        await busy(form, async () => {
          try {
            const out = await R.admin.addToBlocklist({ sha256: sha.input.value.trim().toLowerCase(), reason: reason.input.value.trim() });
            announce(out.matches.length ? `Blocked. ${out.matches.length} uploads already have these bytes: take them down from the list.` : 'Blocked.');
            await this.filter({ user: '', sha256: out.matches.length ? out.entry.sha256 : '' });
          } catch (err) {
            showError(err, { sha256: sha, reason }, errors);
          }
        });
      },
    }, sha.row, reason.row, submitButton('Block'));
    replace(section, h('h3', null, 'Block list'),
      h('p', { class: 'muted' }, 'Files with these bytes are refused at upload and from other nodes.'), errors, form);
    try {
      const out = await R.admin.blocklist();
      await loadNames(out.entries.map((e) => e.actor_id));
      if (!out.entries.length) {
        section.append(h('p', { class: 'muted' }, 'Nothing is blocked.'));
        return;
      }
      section.append(h('ul', { class: 'media-list blocklist', 'aria-label': 'Blocked hashes' },
        out.entries.map((e) => h('li', { class: 'media-item block-entry', dataset: { sha: e.sha256 } },
          h('div', { class: 'media-info' },
            h('p', { class: 'media-sha' }, h('code', null, e.sha256),
              e.derived ? h('span', { class: 'muted' }, ` +${e.derived} files made from it`) : null),
            h('p', { class: 'block-reason' }, e.reason),
            h('p', { class: 'muted' }, `By ${e.actor_id ? store.displayName(e.actor_id) : 'the console'} · `, formatTime(e.created_at))),
          h('div', { class: 'media-actions' }, h('button', {
            type: 'button', class: 'btn small',
            onclick: async () => {
              if (!await confirmDialog('Unblock these bytes?', 'They can be uploaded again. What was taken down stays taken down.', 'Unblock')) return;
              try {
                await R.admin.removeFromBlocklist(e.sha256);
                announce('Unblocked.');
              } catch (err) {
                announce(err.message);
              }
              await this.blocklist();
            },
          }, 'Unblock'))))));
    } catch (err) {
      section.append(h('p', { role: 'alert' }, err.message));
    }
  }
}

/** The Media tab (views/admin.js TABS). */
export async function render(view) {
  styles();
  const tab = new MediaTab(view);
  await tab.refresh();
  return tab.el;
}
