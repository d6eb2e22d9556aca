// HTTP client for the node's API. The access token lives only in this module's memory; the refresh
// token is an HttpOnly cookie (users plugin, web mode) that no script can read.

const WEB = { 'X-Cryb-Client': 'web' };
let access = null;
let refreshTimer = null;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `request failed (${status})`);
    this.status = status;
    this.code = problem.code || (status === 0 ? 'network' : 'error');
    this.field = problem.field || null;
    this.retryAfter = problem.retry_after || null;
  }
}

/** Called with the new token (or null when signed out). */
export function onToken(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function token() {
  return access;
}

export function setToken(accessToken, expiresIn) {
  access = accessToken;
  clearTimeout(refreshTimer);
  if (accessToken && expiresIn) {
    // Refresh well before expiry so requests and the gateway never hold a stale token.
    refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(5, expiresIn * 0.75) * 1000);
  }
  for (const fn of listeners) fn(accessToken);
}

async function rawRefresh() {
  const resp = await fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: { ...WEB, 'Content-Type': 'application/json' },
    body: '{}',
    credentials: 'same-origin',
  });
  if (!resp.ok) {
    const problem = await resp.json().catch(() => ({}));
    throw new ApiError(resp.status, problem);
  }
  const pair = await resp.json();
  setToken(pair.access_token, pair.expires_in);
  return pair.access_token;
}

/** Swap the refresh cookie for a new access token. Tabs take turns (Web Locks): the node rotates
 *  refresh tokens and treats a reused one as theft, so two tabs must never send the same cookie. */
export function refresh() {
  if (!refreshing) {
    const run = navigator.locks ? navigator.locks.request('cryb-refresh', rawRefresh) : rawRefresh();
    refreshing = run.finally(() => { refreshing = null; });
  }
  return refreshing;
}

// The newest event-log position a write's answer named: sent back on every request, so behind a
// load balancer that is not sticky the edge answering a read waits until it holds our own writes
// (docs/scaling.md). A single-process node never names one.
const POSITION = 'Cryb-Log-Position';
let position = 0;

export async function api(method, path, body, { retry = true, auth = true } = {}) {
  const headers = { ...WEB };
  if (position) headers[POSITION] = String(position);
  if (auth && access) headers.Authorization = `Bearer ${access}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, { detail: 'Cannot reach the server. Check your connection.' });
  }
  const seen = Number(resp.headers.get(POSITION));
  if (seen > position) position = seen;
  if (resp.status === 401 && retry && auth && access) {
    try {
      await refresh();
    } catch (err) {
      setToken(null);
      throw err;
    }
    return api(method, path, body, { retry: false, auth });
  }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path, body) => api('DELETE', path, body);

export async function login(login, password, totp_code) {
  const body = { login, password };
  if (totp_code) body.totp_code = totp_code;
  const pair = await api('POST', '/api/v1/auth/login', body, { auth: false });
  setToken(pair.access_token, pair.expires_in);
}

/** Sign up with {username, email, password, invite?, answer?, pow?, website?}. Answers the new
 *  account (now signed in), or {status: 'pending', ...} when it waits for a node admin's approval. */
export async function register(body) {
  const reg = await api('POST', '/api/v1/auth/register', body, { auth: false });
  if (reg.access_token) setToken(reg.access_token, reg.expires_in);
  return reg;
}

export async function logout() {
  try {
    await api('POST', '/api/v1/auth/logout', undefined, { retry: false });
  } finally {
    setToken(null);
  }
}

export const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const text = s.toString();
  return text ? `?${text}` : '';
};

// First run: create the node admin with the one-time setup token.
export async function setupAdmin(token, username, email, password) {
  const reg = await api('POST', '/api/v1/auth/setup', { token, username, email, password }, { auth: false });
  setToken(reg.access_token, reg.expires_in);
  return reg.user;
}
