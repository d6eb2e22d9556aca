// The app shell's service worker: the page, styles and modules are kept in a cache so the UI opens
// with no network (it then shows its offline state and reconnects by itself). App files are
// served under /assets/<content hash>/ and never change at a URL, so they are cache-first; the page
// is network-first (a new release wins when online); the API, the gateway and media are never cached
// here. Web Push notifications are shown from here too.

// The node rewrites this line to the release's /assets/<hash>/ prefix when it serves the worker
// (cryb_node/static.py), so each release is a new worker, which drops the files of the one before.
const ASSETS = '/web/';
const CACHE = 'cryb-shell-v1';
const SHELL = ['/', `${ASSETS}app.css`, `${ASSETS}js/main.js`, `${ASSETS}icon.svg`];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    const cache = await caches.open(CACHE);
    for (const req of await cache.keys()) {
      const path = new URL(req.url).pathname;
      if (path.startsWith('/assets/') && !path.startsWith(ASSETS)) await cache.delete(req);
    }
    await self.clients.claim();
  })());
});

// The page lists the modules it loaded (they were fetched before this worker controlled it).
self.addEventListener('message', (event) => {
  const urls = (event.data && event.data.precache) || [];
  const own = urls.filter((u) => {
    const url = new URL(u, self.location.origin);
    return url.origin === self.location.origin && url.pathname.startsWith(ASSETS);
  });
  event.waitUntil(caches.open(CACHE).then((c) => Promise.all(own.map((u) => c.add(u).catch(() => {})))));
});

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const resp = await fetch(request);
    if (resp.ok) await cache.put(key || request, resp.clone());
    return resp;
  } catch (err) {
    const hit = await cache.match(key || request, { ignoreSearch: true });
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate') {
    // Every client-side route is the same index.html.
    event.respondWith(networkFirst(req, '/'));
    return;
  }
  if (url.pathname.startsWith(ASSETS)) {
    event.respondWith(caches.match(req).then((hit) => hit || networkFirst(req)));
    return;
  }
  if (url.pathname.startsWith('/web/')) event.respondWith(networkFirst(req));
});

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || 'CRYB', { body: data.body || '', data: { url: data.url || '/notifications' }, icon: '/web/icon.svg' }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data?.url || '/notifications'));
});
