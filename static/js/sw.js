// The clerk portal's service worker: the portal opens offline on "My assignments".
// Pages are fetched from the network first; the last "My assignments" page that
// loaded is kept on the phone and shown when the network is gone. Signing out empties
// it (here, and by the Clear-Site-Data header of the sign-out answer).
// The election-day issue extends this worker (queued check-ins).
// It also shows web pushes (station leads in the portal; coordinators get the same
// worker under the back office's path, where it keeps no pages: see PORTAL below).
"use strict";

const CACHE = "stemma-portal-v1";
// Only the portal's worker keeps pages offline.
const PORTAL = /\/portal\/$/.test(new URL(self.registration.scope).pathname);

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
    // A phone handed to someone else must not show the last user's pushes.
    event.waitUntil(Promise.all([
      caches.delete(CACHE),
      self.registration.pushManager.getSubscription().then(
        (subscription) => subscription && subscription.unsubscribe()
      ),
    ]));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (!PORTAL || request.method !== "GET" || request.mode !== "navigate") {
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

// A push: {title, body, url, tag}, encrypted to this browser by the server.
self.addEventListener("push", (event) => {
  let data = {};
  if (event.data) {
    try {
      data = event.data.json();
    } catch (error) {
      data = { body: event.data.text() };
    }
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Stemma", {
      body: data.body || "",
      tag: data.tag || undefined,
      renotify: Boolean(data.tag),
      icon: "/static/icons/stemma-192.png",
      badge: "/static/icons/stemma-192.png",
      data: { url: data.url || self.registration.scope },
    })
  );
});

// A tap opens the page the push is about (on this site only), or brings it forward.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  let target = new URL((event.notification.data && event.notification.data.url) ||
    self.registration.scope, self.registration.scope);
  if (target.origin !== self.location.origin) {
    target = new URL(self.registration.scope);
  }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (client.url === target.href && "focus" in client) {
          return client.focus();
        }
      }
      return self.clients.openWindow(target.href);
    })
  );
});
