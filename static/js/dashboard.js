// The coordinators' live dashboard: keeps its socket's cursor, reconnects after the
// server dropped a socket that fell behind, reloads on a snapshot or when the server
// withdrew the socket's rights, and says whether the page is live. The fragments themselves are swapped by htmx's ws extension.
(function () {
  "use strict";

  function cursor() {
    var marker = document.getElementById("ops-cursor");
    return marker ? marker.getAttribute("data-last-event-id") : null;
  }

  function setCursor(id) {
    var marker = document.getElementById("ops-cursor");
    if (marker && Number(id) > Number(marker.getAttribute("data-last-event-id") || 0)) {
      marker.setAttribute("data-last-event-id", String(id));
    }
  }

  // Every (re)connection asks for what came after the last event this page applied,
  // not after the one it was first rendered with.
  function install() {
    if (!window.htmx) { return; }
    window.htmx.createWebSocket = function (url) {
      var last = cursor();
      if (last !== null) {
        url = url.replace(/([?&]last_event_id=)\d*/, "$1" + encodeURIComponent(last));
      }
      var socket = new WebSocket(url, []);
      if (window.htmx.config.wsBinaryType) { socket.binaryType = window.htmx.config.wsBinaryType; }
      return socket;
    };
  }
  install();

  // A live fragment carries the rows of the stations that changed, wherever they are;
  // this page shows one page of the filtered stations. Rows it does not show are left
  // out before htmx swaps them by id (a row without its place is an htmx error).
  if (window.htmx) {
    window.htmx.defineExtension("ops-shown-only", {
      transformResponse: function (text, xhr) {
        if (xhr !== null || typeof text !== "string" || text.charAt(0) === "{") { return text; }
        var template = document.createElement("template");
        template.innerHTML = text;
        Array.prototype.slice.call(template.content.children).forEach(function (element) {
          if (element.id && !document.getElementById(element.id)) { element.remove(); }
        });
        return template.innerHTML;
      }
    });
  }

  var connected = false;
  function status(live) {
    connected = live;
    var label = document.getElementById("ops-connection");
    if (!label) { return; }
    var shown = paused() ? "data-paused" : (live ? "data-online" : "data-offline");
    label.textContent = label.getAttribute(shown);
    label.classList.toggle("is-live", live);
    label.classList.toggle("is-paused", paused());
  }

  // Pausing (WCAG 2.2.2): while paused no live row is applied and the page is not
  // redrawn; resuming redraws it from the server, which brings everything missed.
  // Remembered for this tab's session.
  var PAUSED_KEY = "ops-paused";
  function paused() {
    try { return window.sessionStorage.getItem(PAUSED_KEY) === "1"; } catch (error) { return false; }
  }
  function showPause() {
    var button = document.getElementById("ops-pause");
    if (!button) { return; }
    button.hidden = false;
    button.textContent = button.getAttribute(paused() ? "data-resume" : "data-pause");
    status(connected);
  }
  function setPaused(value) {
    try {
      if (value) { window.sessionStorage.setItem(PAUSED_KEY, "1"); } else { window.sessionStorage.removeItem(PAUSED_KEY); }
    } catch (error) { /* private mode: pausing still holds for this page */ }
    showPause();
    if (!value) { refresh(); }
  }
  document.addEventListener("DOMContentLoaded", showPause);
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("#ops-pause");
    if (button) { setPaused(!paused()); }
  });

  // The minute's redraw (and a snapshot's) waits while paused, and while someone is in the
  // filters (their typing would be redrawn under them); it comes when they leave.
  var held = false;
  function inFilters() {
    var filters = document.getElementById("ops-filters");
    return !!(filters && document.activeElement && filters.contains(document.activeElement));
  }
  function refresh() {
    var live = document.getElementById("ops-live");
    held = false;
    if (live && window.htmx) { window.htmx.trigger(live, "ops-snapshot"); }
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var live = document.getElementById("ops-live");
    if (live && event.detail && event.detail.elt === live && (paused() || inFilters())) {
      held = true;
      event.preventDefault();
    }
  });
  document.addEventListener("focusout", function (event) {
    var filters = document.getElementById("ops-filters");
    var next = event.relatedTarget;
    if (held && !paused() && filters && filters.contains(event.target) && !(next && filters.contains(next))) {
      window.setTimeout(function () { if (held && !inFilters() && !paused()) { refresh(); } }, 0);
    }
  });

  // 1012 (service restart): the server is stopping or replacing a process; the ws
  // extension reconnects by itself after a short random pause (to another process,
  // with the last event id, replaying what came meanwhile). A routine restart is not
  // the user's concern: the page says "Reconnecting…" only if it takes a while.
  var RESTART_GRACE_MS = 5000;
  var restartTimer = null;
  document.addEventListener("htmx:wsOpen", function () {
    window.clearTimeout(restartTimer);
    restartTimer = null;
    status(true);
  });
  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail && event.detail.event && event.detail.event.code;
    window.clearTimeout(restartTimer);
    restartTimer = null;
    if (code === 1012) {
      restartTimer = window.setTimeout(function () { status(false); }, RESTART_GRACE_MS);
      return;
    }
    status(false);
    // 4008: the server dropped this socket for falling behind; the extension only
    // retries on network-level codes, so come back here (after a short pause).
    var wrapper = event.detail && event.detail.socketWrapper;
    if (code === 4008 && wrapper) {
      window.setTimeout(function () { wrapper.reconnect(); }, 500 + Math.random() * 1500);
    }
    // 4401: the session is gone (signed out, expired, deactivated); 4403: this user
    // may no longer see the room. Never reconnect with a dead session: load the page
    // once, which asks to sign in or says no. Once a minute at most, so that a page
    // the server still shows cannot reload in a loop.
    if (code === 4401 || code === 4403) {
      var last = Number(window.sessionStorage.getItem("ops-revoked-reload") || 0);
      if (Date.now() - last > 60000) {
        window.sessionStorage.setItem("ops-revoked-reload", String(Date.now()));
        window.location.reload();
      }
    }
  });

  // The station drawer: who opened it (a station's link, found again by its address:
  // the live rows may have been redrawn since), and its close button gives focus back.
  var opener = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail && event.detail.requestConfig;
    if (config && config.verb === "get" && /\/stations\/\d+$/.test(config.path)) {
      opener = { element: config.elt, path: config.path };
    }
  });
  function focusOpener() {
    var found = null;
    if (opener) {
      found = opener.element && opener.element.isConnected ? opener.element : null;
      Array.prototype.forEach.call(document.querySelectorAll("#ops-live a[hx-get]"), function (link) {
        if (!found && link.getAttribute("hx-get") === opener.path) { found = link; }
      });
    }
    if (!found) {
      // The station is no longer shown (filtered out, another page): the page's heading.
      found = document.querySelector("h1");
      if (found && !found.hasAttribute("tabindex")) { found.setAttribute("tabindex", "-1"); }
    }
    if (found) { found.focus(); }
  }
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-close-panel]");
    var panel = document.getElementById("ops-panel");
    if (!button || !panel) { return; }
    panel.className = "ops-panel";
    panel.innerHTML = "";
    panel.setAttribute("hidden", "");
    focusOpener();
  });

  document.addEventListener("keydown", function (event) {
    var panel = document.getElementById("ops-panel");
    if (event.key === "Escape" && panel && !panel.hasAttribute("hidden")) {
      var close = panel.querySelector("[data-close-panel]");
      if (close) { close.click(); }
    }
  });

  // A station's drawer just opened: move focus into it for keyboards and screen readers.
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail && event.detail.requestConfig;
    var title = document.getElementById("ops-panel-title");
    if (config && config.verb === "get" && /\/stations\/\d+$/.test(config.path) && title) {
      title.focus();
    }
  });

  // JSON messages are the server's notices and events without a fragment.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var text = event.detail && event.detail.message;
    if (typeof text === "string" && text.charAt(0) !== "{" && paused()) {
      // Paused: the rows wait; resuming redraws the page with them.
      event.preventDefault();
      return;
    }
    if (typeof text !== "string" || text.charAt(0) !== "{") { return; }
    var message;
    try { message = JSON.parse(text); } catch (error) { return; }
    if (message.type === "ws.snapshot") {
      // Too much was missed to replay: draw the whole state again from the server.
      setCursor(message.last_event_id);
      var live = document.getElementById("ops-live");
      if (live && window.htmx) { window.htmx.trigger(live, "ops-snapshot"); }
    } else if (message.id) {
      setCursor(message.id);
    }
    event.preventDefault();
  });
})();
