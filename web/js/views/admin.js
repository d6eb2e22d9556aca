// Dashboards: a community's insights (its managers) and the node admin's dashboard (analytics of the
// whole node, health, peers and their sync state, backups with replication status, the audit log).
// Charts are drawn by uPlot (vendored, web/vendor/VERSIONS); each chart keeps the series it drew on
// its element (chart.data) so tests and screen readers can check the figures; a table of the same
// numbers follows each chart.

import * as R from '../content.js';
import { formatTime, h, replace } from '../dom.js';
import * as store from '../store.js';

let uPlotModule = null;
async function uPlot() {
  if (!uPlotModule) {
    if (!document.querySelector('link[data-uplot]')) {
      document.head.appendChild(h('link', { rel: 'stylesheet', href: new URL('../../vendor/uplot/uPlot.min.css', import.meta.url).href, 'data-uplot': '' }));
    }
    uPlotModule = (await import('../../vendor/uplot/uPlot.esm.js')).default;
  }
  return uPlotModule;
}

const SERIES = [
  ['messages', 'Messages', '#5865f2'],
  ['posts', 'Posts', '#3ba55c'],
  ['comments', 'Comments', '#faa61a'],
  ['dau', 'Daily active', '#ed4245'],
];

/** A line chart of the report's days; returns the figure element. */
async function dayChart(report, title, keys) {
  const U = await uPlot();
  // Every day of the range, zero where the report has no row (days without activity are omitted).
  const byDay = new Map((report.days || []).map((d) => [d.day, d]));
  const days = [];
  for (let t = Date.parse(`${report.from}T00:00:00Z`); t <= Date.parse(`${report.to}T00:00:00Z`); t += 86400000) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.push(byDay.get(day) || { day, messages: 0, posts: 0, comments: 0, dau: 0 });
  }
  const xs = days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000);
  const picked = SERIES.filter(([k]) => keys.includes(k));
  const data = [xs, ...picked.map(([k]) => days.map((d) => d[k]))];
  const box = h('div', { class: 'chart-box' });
  const fig = h('figure', { class: 'chart', 'aria-label': title }, h('figcaption', null, title), box);
  const width = Math.max(280, Math.min(760, (document.querySelector('main')?.clientWidth || 800) - 64));
  const plot = new U({
    width,
    height: 220,
    series: [{}, ...picked.map(([, label, stroke]) => ({ label, stroke, width: 2 }))],
    axes: [{}, {}],
  }, data, box);
  fig.chart = plot;
  fig.dataset.points = JSON.stringify(Object.fromEntries(picked.map(([k], i) => [k, data[i + 1]])));
  fig.dataset.days = JSON.stringify(days.map((d) => d.day));
  const table = h('table', { class: 'mod-table chart-table' },
    h('caption', { class: 'sr-only' }, `${title} by day`),
    h('thead', null, h('tr', null, h('th', null, 'Day'), picked.map(([, label]) => h('th', null, label)))),
    h('tbody', null, days.slice(-14).reverse().map((d) => h('tr', null, h('td', null, d.day), picked.map(([k]) => h('td', null, String(d[k])))))));
  return h('div', { class: 'chart-wrap' }, fig, h('details', null, h('summary', null, 'Figures'), table));
}

function tops(report) {
  const chName = (id) => store.channelById(id)?.name || id;
  return h('div', { class: 'tops' },
    h('h4', null, 'Top channels'),
    h('ol', null, (report.top_channels || []).slice(0, 5).map((t) => h('li', null, `#${chName(t.channel_id)} — ${t.total}`))),
    h('h4', null, 'Retention'),
    h('ol', null, (report.retention || []).slice(-6).map((r) => h('li', null, `week of ${r.week}: ${r.active}/${r.size}`))));
}

async function analyticsSection(load, title) {
  const section = h('section', { class: 'dash-section', 'aria-label': title }, h('h3', null, title));
  try {
    const report = await load();
    section.append(
      h('p', { class: 'muted' }, `${report.from} – ${report.to}`),
      await dayChart(report, 'Activity', ['messages', 'posts', 'comments']),
      await dayChart(report, 'Active members', ['dau']),
      tops(report));
  } catch (err) {
    section.append(h('p', { role: 'alert' }, err.message));
  }
  return section;
}

class Pane {
  constructor(shell, id, title) {
    this.shell = shell;
    this.channelId = id;
    this.body = h('div', { class: 'dash' }, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
    this.el = h('div', { class: 'chat-view dash-view' },
      shell.header(h('h2', { class: 'channel-title' }, title)),
      h('div', { class: 'scroller pane-scroller' }, this.body));
  }

  destroy() {}
  focusComposer() {}
  flushOutbox() {}
  catchUp() {}
}

export class InsightsView extends Pane {
  constructor(shell, communityId) {
    super(shell, '@insights', `Insights · ${store.state.communities.get(communityId)?.name || ''}`);
    this.communityId = communityId;
  }

  async load() {
    replace(this.body, await analyticsSection(() => R.communities.analytics(this.communityId), 'Community analytics'));
  }
}

/** The node admin console's sections, each a module in ./admin/ exporting `render(view)` (it fills
 * and returns an element). Order is the tab order; the first is the default. */
const TABS = [
  ['dashboard', 'Dashboard', null],
  ['users', 'Users', './admin/users.js'],
  ['signups', 'Sign-ups', './admin/signups.js'],
  ['reports', 'Reports', './admin/reports.js'],
  ['media', 'Media', './admin/media.js'],
  ['bans', 'Bans', './admin/bans.js'],
  ['data', 'Data', './admin/data.js'],
];

export class AdminView extends Pane {
  constructor(shell) {
    super(shell, '@admin', 'Node admin');
    this.tabBar = h('div', { class: 'sort-tabs', role: 'tablist', 'aria-label': 'Admin sections' });
    this.body.before(this.tabBar);
  }

  /** Opens a section (?tab=key in the address so a reload or a shared link lands on it). */
  async load(tab = new URLSearchParams(location.search).get('tab')) {
    if (!store.state.me?.admin) {
      replace(this.body, h('p', { role: 'alert' }, 'Only node admins can open this page.'));
      return;
    }
    tab = TABS.some(([k]) => k === tab) ? tab : TABS[0][0];
    this.tab = tab;
    replace(this.tabBar, TABS.map(([key, label]) => h('button', {
      role: 'tab', class: key === tab ? 'active' : '', 'aria-selected': String(key === tab), dataset: { tab: key },
      onclick: () => {
        const url = new URL(location.href);
        if (key === TABS[0][0]) url.searchParams.delete('tab'); else url.searchParams.set('tab', key);
        history.replaceState(history.state, '', url);
        this.load(key);
      },
    }, label)));
    replace(this.body, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
    const module = TABS.find(([k]) => k === tab)[2];
    try {
      const el = module ? (await import(module)).render(this) : await this.dashboard();
      if (this.tab === tab) replace(this.body, await el);
    } catch (err) {
      replace(this.body, h('p', { role: 'alert' }, err.message));
    }
  }

  async dashboard() {
    const [analytics, health, peers, backups, audit] = await Promise.all([
      analyticsSection(R.node.analytics, 'Node analytics'), this.health(), this.peers(), this.backups(), this.audit()]);
    return h('div', null, health, peers, backups, analytics, audit);
  }

  /** Pinned peers and their sync state (GET /api/v1/admin/peers, what `cryb peer status` prints). */
  async peers() {
    const section = h('section', { class: 'dash-section', 'aria-label': 'Peers' }, h('h3', null, 'Peers'));
    try {
      const out = await R.admin.peers();
      if (!out.peers.length) {
        section.append(h('p', { class: 'muted' }, 'No pinned peers. Pin one with “cryb peer add URL”.'));
        return section;
      }
      section.append(h('table', { class: 'mod-table peers-table' },
        h('thead', null, h('tr', null, ['Peer', 'Key', 'State', 'Last sync', 'Breaker', 'Events in/out', 'Refused', 'Last error'].map((t) => h('th', null, t)))),
        h('tbody', null, out.peers.map((p) => h('tr', { dataset: { peer: p.node_key } },
          h('td', null, p.name ? `${p.name} · ${p.url}` : p.url),
          h('td', null, h('code', { title: p.node_key }, p.fingerprint)),
          h('td', null, h('span', { class: `flag peer-${p.state.replace(' ', '-')}` }, p.state)),
          h('td', null, p.last_ok_at ? `${formatTime(p.last_ok_at * 1000)} (${p.lag_s}s ago)` : 'never'),
          h('td', null, p.circuit ? `${p.circuit}${p.failures ? `, ${p.failures} failures` : ''}${p.retry_in_s ? `, retry in ${Math.ceil(p.retry_in_s)}s` : ''}` : '—'),
          h('td', null, p.events_in == null ? '—' : `${p.events_in} / ${p.events_out}`),
          // events its logs carried that the rule book refused, recently (flagged past the limit)
          h('td', { class: 'peer-refused' }, String(p.refused_recent ?? 0)),
          h('td', { class: 'peer-error' }, p.last_error || ''))))));
    } catch (err) {
      section.append(h('p', { role: 'alert' }, err.message));
    }
    return section;
  }

  /** The replica's snapshots and the replication status (GET /api/v1/admin/backups, as `cryb backup list`). */
  async backups() {
    const section = h('section', { class: 'dash-section', 'aria-label': 'Backups' }, h('h3', null, 'Backups'));
    const size = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);
    try {
      const out = await R.admin.backups();
      if (!out.enabled) {
        section.append(h('p', { class: 'muted' }, 'Replication is off: set [replication] enabled = true in cryb.toml to keep backups.'));
        return section;
      }
      const st = out.status;
      section.append(h('p', { class: 'backup-target' }, `Target: ${out.target}`));
      if (st) {
        section.append(h('p', { class: 'backup-status' },
          h('span', { class: `flag health-${st.problem ? 'degraded' : 'ready'}` }, st.state),
          ` lag ${st.lag_s.toFixed(1)}s · last sync ${st.last_sync_at ? formatTime(st.last_sync_at * 1000) : 'never'} · replica txid ${st.replica_txid}`,
          st.problem ? h('span', { role: 'alert' }, ` · ${st.problem}`) : ''));
      }
      if (out.error) section.append(h('p', { role: 'alert' }, out.error));
      const listing = out.listing;
      if (listing) {
        section.append(
          h('p', { class: 'muted' }, `Restorable from ${listing.earliest || '—'} to ${listing.latest || '—'} · ${listing.files} files, ${size(listing.bytes)}`),
          h('table', { class: 'mod-table backups-table' },
            h('thead', null, h('tr', null, ['Snapshot', 'Transaction', 'Size'].map((t) => h('th', null, t)))),
            h('tbody', null, listing.snapshots.slice().reverse().map((snap) => h('tr', { dataset: { txid: String(snap.max_txid) } },
              h('td', null, formatTime(Date.parse(snap.timestamp))), h('td', null, String(snap.max_txid)), h('td', null, size(snap.size)))))));
      }
    } catch (err) {
      section.append(h('p', { role: 'alert' }, err.message));
    }
    return section;
  }

  async health() {
    const section = h('section', { class: 'dash-section', 'aria-label': 'Node health' }, h('h3', null, 'Node health'));
    try {
      const [ready, node] = await Promise.all([
        R.node.readiness(),
        R.node.info(),
      ]);
      const checks = Object.entries(ready.checks || {});
      section.append(
        h('p', null, h('span', { class: `flag health-${ready.status}` }, ready.status), ` ${node.name} · version ${node.version} · ${node.base_url || node.origin}`),
        h('table', { class: 'mod-table health-table' },
          h('thead', null, h('tr', null, h('th', null, 'Check'), h('th', null, 'OK'), h('th', null, 'Detail'))),
          h('tbody', null, checks.map(([name, c]) => h('tr', { dataset: { check: name } },
            h('td', null, name), h('td', null, c.ok ? 'yes' : 'NO'), h('td', null, c.detail || ''))))),
        h('p', { class: 'muted' }, 'Backups are taken with “cryb backup now” and restored with “cryb backup restore”; peers are pinned with “cryb peer add”.'));
    } catch (err) {
      section.append(h('p', { role: 'alert' }, err.message));
    }
    return section;
  }

  async audit() {
    const section = h('section', { class: 'dash-section', 'aria-label': 'Audit log' }, h('h3', null, 'Audit log'));
    const action = h('input', { 'aria-label': 'Filter by action', placeholder: 'action, e.g. login' });
    const table = h('tbody');
    const load = async () => {
      try {
        const out = await R.admin.audit({ action: action.value.trim(), limit: 100 });
        replace(table, out.entries.map((e) => h('tr', null,
          h('td', null, formatTime(e.at)), h('td', null, e.action),
          h('td', null, e.actor_id ? store.displayName(e.actor_id) : ''), h('td', null, e.user_id ? store.displayName(e.user_id) : ''))));
      } catch (err) {
        replace(table, h('tr', null, h('td', { colspan: 4, role: 'alert' }, err.message)));
      }
    };
    action.addEventListener('change', load);
    section.append(action, h('table', { class: 'mod-table' },
      h('thead', null, h('tr', null, ['When', 'Action', 'By', 'User'].map((t) => h('th', null, t)))), table));
    await load();
    return section;
  }
}
