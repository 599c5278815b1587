// The clerk's election-day page, live: the socket of the page's stations (htmx's ws
// extension swaps the station's parts by id), its cursor kept so that a reconnection
// replays only what this page has not applied, a reconnection after the server dropped
// a socket that fell behind, and a small line that says whether the page is live.
(function () {
  "use strict";

  function cursor() {
    var marker = document.getElementById("day-cursor");
    return marker ? marker.getAttribute("data-last-event-id") : null;
  }

  function setCursor(id) {
    var marker = document.getElementById("day-cursor");
    if (marker && Number(id) > Number(marker.getAttribute("data-last-event-id") || 0)) {
      marker.setAttribute("data-last-event-id", String(id));
    }
  }

  if (!window.htmx) { return; }

  // Every (re)connection asks for what came after the last event this page applied.
  window.htmx.createWebSocket = function (url) {
    var last = cursor();
    if (last !== null) {
      url = url.replace(/([?&]last_event_id=)\d*/, "$1" + encodeURIComponent(last));
    }
    var socket = new WebSocket(url, []);
    if (window.htmx.config.wsBinaryType) { socket.binaryType = window.htmx.config.wsBinaryType; }
    return socket;
  };

  // A fragment carries every part of its station; this page shows some of them (a
  // chair's page the turnout, a clerk's not). Parts without a place are left out before
  // htmx swaps by id, and the fragment's cursor only ever moves the page's forward.
  window.htmx.defineExtension("station-shown-only", {
    transformResponse: function (text, xhr) {
      if (xhr !== null || typeof text !== "string" || text.charAt(0) === "{") { return text; }
      var template = document.createElement("template");
      template.innerHTML = text;
      Array.prototype.slice.call(template.content.children).forEach(function (element) {
        if (element.hasAttribute("data-live-cursor")) {
          setCursor(element.getAttribute("data-last-event-id"));
          element.remove();
        } else if (element.id && !document.getElementById(element.id)) {
          element.remove();
        }
      });
      return template.innerHTML;
    }
  });

  function status(live) {
    var label = document.getElementById("day-connection");
    if (!label) { return; }
    label.textContent = label.getAttribute(live ? "data-online" : "data-offline");
    label.classList.toggle("is-live", live);
    label.classList.toggle("is-offline", !live);
  }

  // Too much was missed to replay: the station's parts are fetched again from the page.
  function redraw() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new window.DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-refresh-after-checkin], .station-state-line, table.turnout").forEach(function (old) {
          var next = old.id ? fresh.getElementById(old.id) : null;
          if (next) { old.replaceWith(document.importNode(next, true)); }
        });
      })
      .catch(function () { /* the next event or visit shows it */ });
  }

  document.addEventListener("htmx:wsOpen", function () { status(true); });
  document.addEventListener("htmx:wsClose", function (event) {
    status(false);
    var code = event.detail && event.detail.event && event.detail.event.code;
    var wrapper = event.detail && event.detail.socketWrapper;
    // 4008: dropped for falling behind (the extension retries only on network codes).
    if (code === 4008 && wrapper) {
      window.setTimeout(function () { wrapper.reconnect(); }, 500 + Math.random() * 1500);
    }
    // 4401 / 4403: signed out or no longer on the station: load the page once, which
    // asks to sign in or shows what is left (at most once a minute).
    if (code === 4401 || code === 4403) {
      var last = Number(window.sessionStorage.getItem("day-revoked-reload") || 0);
      if (Date.now() - last > 60000) {
        window.sessionStorage.setItem("day-revoked-reload", String(Date.now()));
        window.location.reload();
      }
    }
  });
  // Back online (a phone's network blink): try at once rather than after the back-off.
  window.addEventListener("online", function () {
    var holder = document.getElementById("day-socket");
    var data = holder && holder["htmx-internal-data"];
    var socket = data && data.webSocket;
    if (socket && socket.socket && socket.socket.readyState > 1) { socket.reconnect(); }
  });
  window.addEventListener("offline", function () { status(false); });

  // JSON messages are the server's notices and events without a fragment.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var text = event.detail && event.detail.message;
    if (typeof text !== "string" || text.charAt(0) !== "{") { return; }
    var message;
    try { message = JSON.parse(text); } catch (error) { return; }
    if (message.type === "ws.snapshot") {
      setCursor(message.last_event_id);
      redraw();
    } else if (message.id) {
      setCursor(message.id);
    }
    event.preventDefault();
  });
})();
