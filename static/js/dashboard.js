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

  function status(live) {
    var label = document.getElementById("ops-connection");
    if (!label) { return; }
    label.textContent = label.getAttribute(live ? "data-online" : "data-offline");
    label.classList.toggle("is-live", live);
  }

  document.addEventListener("htmx:wsOpen", function () { status(true); });
  document.addEventListener("htmx:wsClose", function (event) {
    status(false);
    // 4008: the server dropped this socket for falling behind; the extension only
    // retries on network-level codes, so come back here (after a short pause).
    var code = event.detail && event.detail.event && event.detail.event.code;
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

  // The station drawer's close button.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-close-panel]");
    var panel = document.getElementById("ops-panel");
    if (!button || !panel) { return; }
    panel.className = "ops-panel";
    panel.innerHTML = "";
    panel.setAttribute("hidden", "");
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
