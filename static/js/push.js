// "Turn on notifications": subscribe this browser to web pushes and tell the server.
// The card (templates/partials/push_card.html) carries the VAPID public key, the
// addresses to post to, and the service worker with its scope. No inline script: the
// Content-Security-Policy forbids it.
(function () {
  "use strict";

  function base64UrlToBytes(text) {
    var padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch (error) {
      return "";
    }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) { throw new Error("the server answered " + response.status); }
      return response;
    });
  }

  function setUp(card) {
    var onWrap = card.querySelector("[data-push-on]");
    var offWrap = card.querySelector("[data-push-off]");
    var on = onWrap.querySelector("button");
    var off = offWrap.querySelector("button");

    // The button pressed may go (on gives way to off): then the reader's place is the
    // note that says the new state (tabindex=-1), not the page's body.
    function show(state) {
      var pressed = document.activeElement === on || document.activeElement === off ? document.activeElement : null;
      var said = null;
      card.querySelectorAll("[data-push-state]").forEach(function (note) {
        note.hidden = note.getAttribute("data-push-state") !== state;
        if (!note.hidden) { said = note; }
      });
      onWrap.hidden = !(state === "off" || state === "error");
      offWrap.hidden = state !== "on";
      if (pressed && pressed.closest("[hidden]") && said) { said.focus(); }
    }

    // Busy, not disabled: a disabled button drops the focus to the page's body.
    function busy(button, yes) {
      if (yes) { button.setAttribute("aria-disabled", "true"); } else { button.removeAttribute("aria-disabled"); }
    }
    function isBusy(button) { return button.getAttribute("aria-disabled") === "true"; }

    if (!("serviceWorker" in navigator) || !("PushManager" in window) ||
        !("Notification" in window)) {
      return; // the "cannot" note stays
    }
    if (Notification.permission === "denied") { show("denied"); return; }
    // This browser can: the "cannot" note goes at once, not when the worker answered.
    show("checking");

    var ready = navigator.serviceWorker.register(card.getAttribute("data-push-worker"), {
      scope: card.getAttribute("data-push-scope")
    });

    ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (subscription && Notification.permission === "granted") {
        // Tell the server again: it forgets subscriptions a push service reported gone,
        // and another user may have subscribed this browser meanwhile.
        return post(card.getAttribute("data-push-subscribe"), subscription.toJSON())
          .then(function () { show("on"); });
      }
      show("off");
    }).catch(function () { show("off"); });

    on.addEventListener("click", function () {
      if (isBusy(on)) { return; }
      busy(on, true);
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") {
          show(permission === "denied" ? "denied" : "off");
          return null;
        }
        return ready.then(function (registration) {
          return registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: base64UrlToBytes(card.getAttribute("data-push-key"))
          });
        }).then(function (subscription) {
          return post(card.getAttribute("data-push-subscribe"), subscription.toJSON());
        }).then(function () { show("on"); });
      }).catch(function () { show("error"); }).then(function () { busy(on, false); });
    });

    off.addEventListener("click", function () {
      if (isBusy(off)) { return; }
      busy(off, true);
      ready.then(function (registration) {
        return registration.pushManager.getSubscription();
      }).then(function (subscription) {
        if (!subscription) { return null; }
        var endpoint = subscription.endpoint;
        return subscription.unsubscribe().then(function () {
          return post(card.getAttribute("data-push-unsubscribe"), { endpoint: endpoint });
        });
      }).then(function () { show("off"); }, function () { show("error"); })
        .then(function () { busy(off, false); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-push-card]").forEach(setUp);
  });
})();
