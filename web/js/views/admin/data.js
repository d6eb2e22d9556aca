// The admin page's Data tab: read-only SQL over the node's database (the data console:
// GET /api/v1/admin/db/tables, POST /api/v1/admin/db/query, GET /api/v1/admin/db/export — the same
// functions as `cryb db`). Private columns come back as NULL; the answer names the ones a query touched.

import * as api from '../../api.js';
import * as R from '../../content.js';
import { h, replace } from '../../dom.js';

const PREVIEW_ROWS = 100;
const CELL_CHARS = 300;

function quoted(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A cell as text: NULL marked, a BLOB as SQL writes it (x'00ff'), long values cut (the title has more). */
function cell(value) {
  if (value === null) return h('td', { class: 'db-null' }, 'NULL');
  let text;
  if (typeof value === 'object' && value.$base64) {
    const bytes = atob(value.encoded);
    text = `x'${Array.from(bytes, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('')}'`;
  } else {
    text = String(value);
  }
  const short = text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS)}…` : text;
  return h('td', { title: short === text ? null : text.slice(0, 4000) }, short);
}

/** Fetch an export with the session's token and hand it to the browser as a download. */
async function download(params) {
  const url = R.admin.dbExportUrl(params);
  const get = () => fetch(url, { headers: { 'X-Cryb-Client': 'web', Authorization: `Bearer ${api.token()}` }, credentials: 'same-origin' });
  let resp = await get();
  if (resp.status === 401) {
    await api.refresh();
    resp = await get();
  }
  if (!resp.ok) throw new api.ApiError(resp.status, await resp.json().catch(() => ({})));
  const blob = await resp.blob();
  const name = /filename="([^"]+)"/.exec(resp.headers.get('Content-Disposition') || '')?.[1] || `export.${params.format}`;
  const link = h('a', { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return name;
}

export async function render() {
  const listing = await R.admin.dbTables();
  const sql = h('textarea', {
    id: 'db-sql', class: 'db-sql', rows: 5, spellcheck: 'false', autocomplete: 'off',
    placeholder: 'SELECT … — Ctrl+Enter runs', 'aria-describedby': 'db-sql-hint',
  });
  const status = h('p', { class: 'db-status', role: 'status', 'aria-label': 'Query status' });
  const results = h('div', { class: 'db-results', 'aria-label': 'Query results', role: 'region' });
  const runButton = h('button', { class: 'btn primary small', type: 'button' }, 'Run');
  // What Export writes: the table picked from the list (all of its rows) until the SQL is edited,
  // then the SQL as written.
  let picked = null;

  const run = async () => {
    const text = sql.value.trim();
    if (!text) return;
    runButton.disabled = true;
    replace(status, 'Running…');
    try {
      const out = await R.admin.dbQuery({ sql: text });
      const notes = [`${out.rows.length} row${out.rows.length === 1 ? '' : 's'} in ${out.took_ms} ms`];
      if (out.truncated) notes.push(`showing the first ${out.rows.length}: there are more (export to get them all)`);
      replace(status, notes.join(' · '));
      replace(results,
        out.hidden.length ? h('p', { class: 'muted db-hidden' }, `Private, shown as NULL: ${out.hidden.join(', ')}`) : null,
        out.truncated ? h('p', { class: 'db-truncated', role: 'note' }, `Truncated at ${out.rows.length} rows.`) : null,
        h('div', { class: 'db-scroll' }, h('table', { class: 'mod-table db-table' },
          h('thead', null, h('tr', null, out.columns.map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, out.rows.map((row) => h('tr', null, row.map(cell)))))));
    } catch (err) {
      replace(status, '');
      const text = err.code === 'query_timeout' ? `Stopped: ${err.message}. Narrow it down (a WHERE clause, a LIMIT) and run it again.` : err.message;
      replace(results, h('p', { role: 'alert', class: `db-error db-${err.code}` }, text));
    } finally {
      runButton.disabled = false;
    }
  };

  sql.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    }
  });
  sql.addEventListener('input', () => { picked = null; });
  runButton.addEventListener('click', run);

  const exporter = (format) => h('button', {
    class: 'btn small', type: 'button',
    onclick: async (e) => {
      const params = picked ? { table: picked, format } : { sql: sql.value.trim(), format };
      if (!params.table && !params.sql) return;
      e.target.disabled = true;
      try {
        replace(status, `Downloaded ${await download(params)}`);
      } catch (err) {
        replace(results, h('p', { role: 'alert', class: 'db-error' }, err.message));
      } finally {
        e.target.disabled = false;
      }
    },
  }, `Export ${format.toUpperCase()}`);

  const tables = h('nav', { class: 'db-tables', 'aria-label': 'Tables' },
    h('h3', null, 'Tables'),
    h('ul', null, listing.tables.slice().sort((a, b) => a.name.localeCompare(b.name)).map((t) => h('li', null, h('button', {
      type: 'button', class: 'db-table-link', dataset: { table: t.name },
      title: t.columns.map((c) => `${c.name} ${c.type}${c.private ? ' (private)' : ''}`).join('\n'),
      onclick: () => {
        sql.value = `SELECT * FROM ${quoted(t.name)} LIMIT ${PREVIEW_ROWS}`;
        picked = t.name;
        run();
      },
    }, h('span', { class: 'db-table-name' }, t.name), h('span', { class: 'db-count muted' }, t.rows === null ? '—' : String(t.rows)))))));

  return h('div', { class: 'db-console' },
    tables,
    h('section', { class: 'db-main', 'aria-label': 'SQL' },
      h('label', { for: 'db-sql', class: 'db-label' }, 'SQL query'),
      sql,
      h('p', { id: 'db-sql-hint', class: 'field-hint' }, 'Read-only: one SELECT at a time. Private columns (password hashes, tokens, sealed emails, message text) read as NULL. Every query is audited.'),
      h('div', { class: 'db-actions' }, runButton, exporter('csv'), exporter('json')),
      status,
      results));
}
