// The node admin page's Reports tab: what members reported to the node admins (a direct message, a
// profile, a community, or a community's content), each shown by name and excerpt with a way to the
// target, resolved or dismissed with a note (GET/PATCH /api/v1/admin/reports, as `cryb report`).

import * as R from '../../content.js';
import { announce, formatTime, h, replace } from '../../dom.js';
import { modal } from '../dialogs.js';

const KIND = {
  dm_message: 'Direct message',
  user: 'Profile',
  community: 'Community',
  message: 'Message',
  post: 'Post',
  comment: 'Comment',
};
const STATUSES = [['open', 'Open'], ['resolved', 'Resolved'], ['dismissed', 'Dismissed'], ['all', 'All']];

/** A link that moves within the app (the shell's router) instead of reloading the page. */
function appLink(view, href, text) {
  return h('a', { href, class: 'btn small', onclick: (e) => { e.preventDefault(); view.shell.navigate(href); } }, text);
}

function profileDialog(userId) {
  modal('Profile', () => {
    const body = h('div', { class: 'modal-body profile-card' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
    R.users.get(userId).then((p) => replace(body,
      h('p', null, h('strong', null, p.display_name || p.username), h('span', { class: 'muted' }, ` @${p.username}${p.home ? `@${p.home}` : ''}`)),
      p.pronouns ? h('p', { class: 'muted' }, p.pronouns) : null,
      p.bio ? h('p', { class: 'bio' }, p.bio) : h('p', { class: 'muted' }, 'No bio.')))
      .catch((err) => replace(body, h('p', { role: 'alert' }, err.message)));
    return body;
  });
}

/** Where an admin can look at the target: its page for community content, the profile otherwise. */
function targetLinks(view, r) {
  const links = [];
  if (r.target_type === 'community') links.push(appLink(view, `/channels/${r.community_id}`, 'Open community'));
  if (r.target_type === 'message') links.push(appLink(view, `/channels/${r.community_id}/${r.channel_id}#m-${r.target_id}`, 'Open message'));
  if (r.target_type === 'post' || r.target_type === 'comment') {
    links.push(appLink(view, `/channels/${r.community_id}/${r.channel_id}/${r.post_id}`, r.target_type === 'post' ? 'Open post' : 'Open its post'));
  }
  if (r.target_user && r.target_type !== 'community') {
    const who = r.target_type === 'user' ? 'View profile' : `View ${r.target_user_name ? `@${r.target_user_name}` : 'author'}’s profile`;
    links.push(h('button', { type: 'button', class: 'btn small', onclick: () => profileDialog(r.target_user) }, who));
  }
  return links;
}

/** The target by name, after its kind's badge: "from @bob", "@bob", "Garden Club", "by @bob". */
function title(r) {
  const who = r.label && r.label !== 'deleted' ? r.label : 'a deleted account';
  if (r.target_type === 'dm_message') return `from ${who}`;
  if (r.target_type === 'user' || r.target_type === 'community') return r.label === 'deleted' ? who : r.label;
  return `by ${who}`;
}

function reportItem(view, r, reload) {
  const by = r.reporter_name ? `@${r.reporter_name}` : 'a deleted account';
  const note = h('input', { class: 'report-note', maxlength: 1000, placeholder: 'What did you do? (for the other admins)', 'aria-label': `Note on the report (${KIND[r.target_type]} ${title(r)})` });
  const decide = (status) => async () => {
    try {
      await R.admin.updateReport(r.id, { status, note: note.value.trim() });
      announce(status === 'resolved' ? 'Report resolved.' : 'Report dismissed.');
      reload();
    } catch (err) {
      announce(err.message);
      note.setCustomValidity(err.message);
      note.reportValidity();
    }
  };
  return h('li', { class: 'report', dataset: { id: r.id, type: r.target_type } },
    h('p', { class: 'report-head' },
      h('span', { class: 'flag' }, KIND[r.target_type]), ' ',
      h('strong', { class: 'report-target' }, title(r)),
      h('span', { class: 'muted' }, ` · reported by ${by} · ${formatTime(r.created_at)}`)),
    r.excerpt ? h('blockquote', { class: 'report-excerpt' }, r.excerpt) : null,
    r.target_type === 'dm_message'
      ? h('p', { class: 'muted report-privacy' }, `You see this message because ${by}, who is in the conversation, reported it. The rest of the conversation stays private.`)
      : null,
    h('p', null, 'Reason: ', r.reason || h('span', { class: 'muted' }, '(erased)')),
    h('div', { class: 'report-actions' }, targetLinks(view, r)),
    r.status === 'open'
      ? h('div', { class: 'report-actions' }, note,
        h('button', { type: 'button', class: 'btn primary', onclick: decide('resolved') }, 'Resolve'),
        h('button', { type: 'button', class: 'btn', onclick: decide('dismissed') }, 'Dismiss'))
      : h('p', { class: 'report-outcome' },
        h('span', { class: 'flag' }, r.status),
        ` by ${r.resolved_by === 'node' ? 'the node operator (cryb report)' : r.resolved_by_name ? `@${r.resolved_by_name}` : 'an admin'} · ${formatTime(r.resolved_at)}`,
        r.note ? ` · ${r.note}` : ''));
}

export async function render(view) {
  const status = view.reportStatus || 'open';
  const section = h('section', { class: 'dash-section admin-reports', 'aria-label': 'Reports' }, h('h3', null, 'Reports to the node admins'));
  const filter = h('div', { class: 'sort-tabs', role: 'group', 'aria-label': 'Show reports' },
    STATUSES.map(([key, label]) => h('button', {
      type: 'button', class: key === status ? 'active' : '', 'aria-pressed': String(key === status),
      onclick: () => { view.reportStatus = key; view.load('reports'); },
    }, label)));
  const list = h('ol', { class: 'report-list', 'aria-label': `${STATUSES.find(([k]) => k === status)[1]} reports` });
  const more = h('div');
  const reload = () => view.load('reports');
  const page = async (after) => {
    const out = await R.admin.reports({ status, after, limit: 50 });
    for (const r of out.reports) list.append(reportItem(view, r, reload));
    replace(more, out.next ? h('button', { type: 'button', class: 'btn', onclick: () => page(out.next) }, 'Load more') : null);
    if (!list.children.length) {
      list.append(h('li', { class: 'muted', role: 'status' }, status === 'open' ? 'No open reports. All clear!' : 'No reports here.'));
    }
  };
  await page(null);
  section.append(filter, h('p', { class: 'muted' },
    'Members report direct messages, profiles and communities here; a community’s own moderators handle reports inside it.'), list, more);
  return section;
}
