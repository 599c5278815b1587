// The clerk portal's service worker: the portal opens offline on "My assignments".
// Pages are fetched from the network first; the last "My assignments" page that
// loaded is kept on the phone and shown when the network is gone. Signing out empties
// it (here, and by the Clear-Site-Data header of the sign-out answer).
// The election-day issue extends this worker (queued check-ins).
"use strict";

const CACHE = "stemma-portal-v1";

self.addEventListener("install", (event) => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) =>
      Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)))
    ).then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "signed-out") {
    event.waitUntil(caches.delete(CACHE));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || request.mode !== "navigate") {
    return;
  }
  event.respondWith(
    fetch(request)
      .then((response) => {
        // Only "My assignments" is kept: other portal pages (profile, team) hold more
        // personal data than a phone needs offline.
        const home = new URL(self.registration.scope).pathname;
        const isHome = new URL(request.url).pathname === home;
        if (isHome && response.ok && response.type === "basic" && !response.redirected) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(request).then(
          (cached) => cached || caches.match(self.registration.scope).then(
            (home) => home || new Response("offline", { status: 503 })
          )
        )
      )
  );
});
