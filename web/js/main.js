// Boot and routing: restore the session from the refresh cookie, then show the sign-in screens or
// the app. Client-side routes are served index.html by the node (cryb_node/webui.py).

import * as api from './api.js';
import { h, replace } from './dom.js';
import * as outbox from './outbox.js';
import { applyTheme } from './theme.js';
import { offlineView } from './views/offline.js';
import { Shell } from './views/shell.js';

// The signed-out screens load when needed: a signed-in first load does not carry them.
const auth = () => import('./views/auth.js');
const setup = () => import('./views/setup.js');

applyTheme();
const root = document.getElementById('app');
let shell = null;
let returnTo = null;
let notice = null; // shown once on the sign-in page (e.g. "your account was deleted")

export function navigate(path, { replace: replaceState = false } = {}) {
  if (path !== location.pathname + location.search) {
    history[replaceState ? 'replaceState' : 'pushState']({}, '', path);
  }
  route();
}

function show(view) {
  if (shell) {
    shell.destroy();
    shell = null;
  }
  replace(root, view);
}

function signedIn() {
  const target = returnTo && !returnTo.startsWith('/login') ? returnTo : '/channels/@me';
  returnTo = null;
  navigate(target, { replace: true });
}

function signedOut(message) {
  if (typeof message === 'string') notice = message;
  // Said again with nothing to add (a second tab's or a socket's late word): the sign-in page and
  // any notice on it stay as they are.
  else if (!shell && !api.token()) return;
  outbox.clear();
  if (shell) {
    shell.destroy();
    shell = null;
  }
  // Over, whoever said so first (the gateway, a 401, the page itself): the routes below must not
  // start the app again on a token the node already ended.
  api.setToken(null);
  navigate('/login', { replace: true });
}

/** Show a view from a module loaded on demand, unless the address changed meanwhile. */
function showLater(load, make) {
  const here = location.pathname;
  load().then((mod) => { if (location.pathname === here) show(make(mod)); }).catch((err) => {
    replace(root, h('p', { class: 'boot', role: 'alert' }, `CRYB could not load this page: ${err.message}`));
  });
}

function route() {
  const path = location.pathname;
  const ctx = { navigate, signedIn, returnTo: () => returnTo };
  if (path === '/setup') return showLater(setup, (m) => m.setupView(ctx));
  if (path === '/verify-email') return showLater(auth, (m) => m.verifyEmailView(ctx));
  if (path === '/reset-password') return showLater(auth, (m) => m.resetPasswordView(ctx));
  if (!api.token()) {
    if (path === '/register') return showLater(auth, (m) => m.registerView(ctx));
    if (path !== '/login') returnTo = path + location.search;
    if (path !== '/login') history.replaceState({}, '', '/login');
    const shown = notice;
    notice = null;
    return showLater(auth, (m) => m.loginView({ ...ctx, notice: shown }));
  }
  if (path === '/login' || path === '/register' || path === '/') {
    history.replaceState({}, '', '/channels/@me');
  }
  if (!shell) {
    shell = new Shell({ navigate, signedOut });
    replace(root, shell.el);
    // Then whatever waits in the outbox (written offline, or before a reload) goes out.
    shell.start().then(() => outbox.flush());
  }
  shell.open(location.pathname);
}

window.addEventListener('popstate', route);
api.onToken((t) => {
  if (!t && shell) signedOut();
});

async function boot() {
  try {
    await api.refresh();
  } catch (err) {
    // Offline (the shell came from the service worker): say so and start again once back.
    if (err.status === 0 || !(err instanceof api.ApiError)) return showOffline();
    // Otherwise no (valid) refresh cookie: not signed in.
  }
  route();
}

async function showOffline() {
  // The last opened channel, if this browser has been here before, with a composer that queues.
  const view = await offlineView().catch(() => h('section', { class: 'boot offline', role: 'status' },
    h('h1', null, 'You are offline'), h('p', null, 'CRYB will reconnect as soon as the network is back.')));
  replace(root, view);
  window.addEventListener('online', () => { view.stop?.(); boot(); }, { once: true });
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').then(async () => {
    const reg = await navigator.serviceWorker.ready;
    const loaded = performance.getEntriesByType('resource').map((e) => e.name);
    reg.active?.postMessage({ precache: [...loaded, import.meta.url] });
  }).catch(() => {});
}

boot().catch((err) => {
  replace(root, h('p', { class: 'boot', role: 'alert' }, `CRYB could not start: ${err.message}`));
});
