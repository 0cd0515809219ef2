{% autoescape off %}/* The field app's service worker: the app works with no network.
 *
 * - the shell page, the scripts and styles: cached at install, served from the cache
 *   when the network fails (network first for the page, so a new release shows up);
 * - the assignment bundle: network first, the last copy when offline;
 * - map tiles: each tile seen is kept, and served from the cache afterwards.
 * Writes (POST) are never cached: the page queues them in IndexedDB and retries.
 */
const CONFIG = {{ config_json }};
const SHELL_CACHE = "field-shell-" + CONFIG.version;
const TILE_CACHE = "field-tiles";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(CONFIG.precache)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("field-shell-") && name !== SHELL_CACHE)
          .map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    // A redirect (to the login page) or an error is passed on, never cached.
    if (response.ok && response.type === "basic") {
      await cache.put(cacheKey, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey);
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok || response.type === "opaque") {
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin === self.location.origin) {
    if (request.mode === "navigate" && url.pathname === CONFIG.shell) {
      // The page's address may carry a #route or ?query: one shell for all of them.
      event.respondWith(networkFirst(request, CONFIG.shell));
    } else if (url.pathname === CONFIG.bundle) {
      event.respondWith(networkFirst(request, CONFIG.bundle));
    } else if (CONFIG.precache.includes(url.pathname)) {
      event.respondWith(cacheFirst(request, SHELL_CACHE));
    }
    return;
  }
  if (CONFIG.tile_origin && url.origin === CONFIG.tile_origin) {
    event.respondWith(cacheFirst(request, TILE_CACHE));
  }
});
{% endautoescape %}
