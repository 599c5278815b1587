// Election-day check-ins from the clerk's phone ("I have arrived", "I am leaving").
//
// A tap makes a new idempotency key and keeps the check-in in IndexedDB before it is
// sent to POST /api/v1/checkins. When the phone is offline (or the server cannot answer)
// it stays there, shown as "Queued – will be sent", and goes again, with the same key and
// the same body, when the phone is back online, when the page loads and every 30 seconds.
// The server answers a repeated key with the first check-in, so sending twice is safe.
// While a check-in is on its way the line says "Sending…"; "you are offline" is said only
// when the phone says so (navigator.onLine); when the server is slow or cannot be
// reached the page says it has no answer yet and keeps trying.
// The tapped button goes (the other one shows), so the focus moves to the card's status
// line, which says "Arrived · Sending…" and then the answer (role=status; a refusal in
// the card's alert line, role=alert, with the focus back on the button shown again).
// Nothing is disabled while a check-in is on its way: a disabled button drops the focus.
// Without this script the buttons post a plain form and the server checks in.
(function () {
  "use strict";

  var DB_NAME = "stemma-checkins";
  var STORE = "queue";
  var RETRY_MS = 30000;
  var SLOW_MS = 8000;      // no answer after this long: say so (still waiting)
  var TIMEOUT_MS = 20000;  // give up this try; the check-in stays queued for the next

  var inFlight = {};       // key -> true while its request is on its way
  var lastProblem = null;  // why the last try did not get an answer: "network", "timeout", "server"
  var slow = false;        // the request on its way has waited longer than SLOW_MS

  var root = null;
  var spoken = {};         // shift id -> the key of the check-in its status line is about
  var memoryQueue = {};  // when IndexedDB is unavailable (private mode): this page only
  var flushing = null;

  function text(name, values) {
    var template = root.getAttribute("data-text-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      template = template.split("{" + key + "}").join(values[key]);
    });
    return template;
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // crypto.randomUUID needs a secure context; build a version 4 UUID by hand.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // The phone's local time with its offset: 2026-09-13T07:28:05+02:00.
  function deviceTime(date) {
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    var offset = -date.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) +
      sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60);
  }

  function clock(iso, timeZone) {
    var options = { hour: "2-digit", minute: "2-digit", hour12: false };
    if (timeZone) { options.timeZone = timeZone; }
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined, options).format(new Date(iso));
    } catch (error) {
      return iso.slice(11, 16);
    }
  }

  // --- the queue in IndexedDB ---------------------------------------------------------

  var dbPromise = null;

  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve) {
      if (!window.indexedDB) { resolve(null); return; }
      var request;
      try {
        request = window.indexedDB.open(DB_NAME, 1);
      } catch (error) {
        resolve(null);
        return;
      }
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { resolve(null); };
    });
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      if (!db) {
        var direct = work(null);
        return direct && direct.result !== undefined ? direct.result : direct;
      }
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var result = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () { resolve(result && result.result !== undefined ? result.result : result); };
        transaction.onerror = function () { reject(transaction.error); };
      });
    });
  }

  function putEntry(entry) {
    return withStore("readwrite", function (store) {
      if (!store) { memoryQueue[entry.key] = entry; return null; }
      return store.put(entry);
    });
  }

  function removeEntry(key) {
    return withStore("readwrite", function (store) {
      if (!store) { delete memoryQueue[key]; return null; }
      return store.delete(key);
    });
  }

  function allEntries() {
    return withStore("readonly", function (store) {
      if (!store) {
        return { result: Object.keys(memoryQueue).map(function (k) { return memoryQueue[k]; }) };
      }
      return store.getAll();
    }).then(function (entries) {
      var mine = String(root.getAttribute("data-person-id"));
      return (entries || []).filter(function (entry) {
        return String(entry.body.person_id) === mine;
      }).sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  // --- the page ------------------------------------------------------------------------

  function card(shiftId) {
    return root.querySelector('[data-checkin-card][data-shift-id="' + shiftId + '"]');
  }

  function showButtons(shiftId, here) {
    var box = card(shiftId);
    if (!box) { return; }
    box.classList.toggle("is-here", here);
    box.querySelectorAll("[data-checkin-form]").forEach(function (form) {
      var isArrive = form.getAttribute("data-kind") === "arrived";
      form.hidden = isArrive ? here : !here;
    });
  }

  function kindLabel(kind) {
    return text(kind === "arrived" ? "arrived" : "left");
  }

  function addLine(shiftId, className, parts) {
    var box = card(shiftId);
    if (!box) { return null; }
    var item = document.createElement("li");
    item.className = className;
    var strong = document.createElement("strong");
    strong.textContent = parts[0];
    item.appendChild(strong);
    item.appendChild(document.createTextNode(" · " + parts[1]));
    box.querySelector("[data-checkin-log]").appendChild(item);
    return item;
  }

  // Say how a check-in tapped on this page went, once, in its card's status line (or
  // its alert line when refused). A later retry of an older check-in says nothing.
  function say(entry, message, refused) {
    var box = card(entry.body.shift_id);
    if (!box || spoken[entry.body.shift_id] !== entry.key) { return null; }
    var status = box.querySelector("[data-checkin-said]");
    var alert = box.querySelector("[data-checkin-alert]");
    if (!status || !alert) { return null; }  // a page kept from before these lines
    var line = kindLabel(entry.body.kind) + " · " + message;
    var target = refused ? alert : status;
    var other = refused ? status : alert;
    if (other.textContent) { other.textContent = ""; }
    if (target.textContent !== line) { target.textContent = line; }
    return target;
  }

  // Where the reader was: still on this card's status or alert line, or nowhere (the
  // element they were on went), so moving the focus takes nobody away from elsewhere.
  function focusWasHere(box) {
    var active = document.activeElement;
    return !active || active === document.body ||
      (box.contains(active) && active.hasAttribute("tabindex") && active.getAttribute("tabindex") === "-1");
  }

  function keepPlace(shiftId, target) {
    var box = card(shiftId);
    if (box && target && focusWasHere(box) && document.activeElement !== target) {
      target.focus();
    }
  }

  function shownButton(shiftId) {
    var box = card(shiftId);
    var form = box && box.querySelector("[data-checkin-form]:not([hidden])");
    return form ? form.querySelector("button") : null;
  }

  function renderQueue() {
    return allEntries().then(function (entries) {
      root.querySelectorAll(".checkin-queued").forEach(function (item) { item.remove(); });
      entries.forEach(function (entry) {
        var tapped = text("tapped", { time: clock(entry.body.device_time, root.getAttribute("data-timezone")) });
        var sending = Boolean(inFlight[entry.key]);
        var state = sending ? text("sending") : text("queued");
        var line = addLine(entry.body.shift_id, "checkin-queued" + (sending ? " is-sending" : ""),
          [kindLabel(entry.body.kind), state + " (" + tapped + ")"]);
        if (line) { line.setAttribute("data-state", sending ? "sending" : "queued"); }
        showButtons(entry.body.shift_id, entry.body.kind === "arrived");
      });
      showStatus(entries);
      return entries;
    });
  }

  // The banner above the cards: offline only when the phone says so; no answer yet when
  // the server is slow or unreachable; nothing while a check-in is simply on its way.
  function showStatus(entries) {
    var banner = root.querySelector("[data-checkin-offline]");
    if (!banner) { return; }
    var state = null;
    if (navigator.onLine === false) {
      state = "offline";
    } else if (entries.length && (slow || (lastProblem && !Object.keys(inFlight).length))) {
      state = "waiting";
    }
    banner.hidden = !state;
    banner.textContent = state ? text(state) : "";
    if (state) { banner.setAttribute("data-state", state); } else { banner.removeAttribute("data-state"); }
  }

  function csrfToken() {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  // A station lead's page also shows the team and what keeps the station from opening:
  // once a check-in is confirmed, those parts are fetched again, so the page does not say
  // "not arrived" of the clerk who just checked in. Only those parts: a report being
  // typed elsewhere on the page stays.
  function refreshAfterCheckIn() {
    if (!document.querySelector("[data-refresh-after-checkin]")) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new window.DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-refresh-after-checkin]").forEach(function (old) {
          var next = old.id ? fresh.getElementById(old.id) : null;
          if (next) { old.replaceWith(document.importNode(next, true)); }
        });
      })
      .catch(function () { /* the next visit shows it */ });
  }

  // Send one check-in. Resolves true when the server decided (confirmed or refused),
  // false when it must stay queued (offline, server trouble, signed out).
  function send(entry) {
    inFlight[entry.key] = true;
    var controller = window.AbortController ? new window.AbortController() : null;
    var slowTimer = window.setTimeout(function () { slow = true; renderQueue(); }, SLOW_MS);
    var timeout = window.setTimeout(function () {
      if (controller) { controller.abort(); }
    }, TIMEOUT_MS);
    renderQueue();
    return fetch(entry.url, {
      method: "POST",
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": entry.key,
        "X-CSRF-Token": csrfToken()
      },
      body: JSON.stringify(entry.body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        lastProblem = null;
        if (response.ok) {
          return removeEntry(entry.key).then(function () {
            addLine(entry.body.shift_id, "checkin-confirmed",
              [kindLabel(answer.kind), text("confirmed", { time: clock(answer.checked_at, root.getAttribute("data-timezone")) })]);
            showButtons(entry.body.shift_id, answer.kind === "arrived");
            keepPlace(entry.body.shift_id, say(entry,
              text("confirmed", { time: clock(answer.checked_at, root.getAttribute("data-timezone")) })));
            refreshAfterCheckIn();
            return true;
          });
        }
        if (response.status >= 500 || response.status === 401 || response.status === 408 || response.status === 429) {
          lastProblem = "server";
          return false;
        }
        // Refused for good (the shift is not today, already checked in...): say why.
        return removeEntry(entry.key).then(function () {
          addLine(entry.body.shift_id, "checkin-refused",
            [kindLabel(entry.body.kind), text("failed", { reason: answer.title || response.statusText })]);
          showButtons(entry.body.shift_id, entry.body.kind !== "arrived");
          var alert = say(entry, text("failed", { reason: answer.title || response.statusText }), true);
          // The button tapped is back: the reader returns to it, the alert says why.
          keepPlace(entry.body.shift_id, shownButton(entry.body.shift_id) || alert);
          return true;
        });
      });
    }, function (error) {
      // No answer: timed out, or a network error (offline, or the server unreachable).
      lastProblem = error && error.name === "AbortError" ? "timeout" : "network";
      return false;
    }).then(function (decided) {
      window.clearTimeout(slowTimer);
      window.clearTimeout(timeout);
      delete inFlight[entry.key];
      slow = false;
      if (!decided) {
        entry.failedOnce = true;
        keepPlace(entry.body.shift_id, say(entry, text("queued")));
        return putEntry(entry).then(function () { return false; });
      }
      return true;
    });
  }

  // Send every queued check-in in the order they were tapped; stop at the first that
  // cannot go (a "left" must not overtake its "arrived").
  // A call while a flush is under way (the phone came back online while the last try
  // was still failing, or another tap) runs one more flush after it, rather than being
  // lost until the next 30 s retry.
  var flushAgain = false;

  function flush() {
    if (flushing) { flushAgain = true; return flushing; }
    flushAgain = false;
    flushing = allEntries().then(function (entries) {
      var chain = Promise.resolve(true);
      entries.forEach(function (entry) {
        chain = chain.then(function (goOn) { return goOn ? send(entry) : false; });
      });
      return chain;
    }).catch(function () { return false; }).then(function () {
      flushing = null;
      var rendered = renderQueue();
      return flushAgain ? rendered.then(flush) : rendered;
    });
    return flushing;
  }

  var sequence = Date.now();

  function tap(event) {
    var form = event.target.closest && event.target.closest("[data-checkin-form]");
    if (!form || !root.contains(form)) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button && button.getAttribute("aria-disabled") === "true") { return; }
    if (button) { button.setAttribute("aria-disabled", "true"); }
    var entry = {
      key: newKey(),
      url: root.getAttribute("data-api-url"),
      seq: ++sequence,
      body: {
        person_id: Number(root.getAttribute("data-person-id")),
        shift_id: Number(form.getAttribute("data-shift-id")),
        kind: form.getAttribute("data-kind"),
        device_time: deviceTime(new Date())
      }
    };
    spoken[entry.body.shift_id] = entry.key;
    // The tapped button is about to go: the reader's place is the line saying what happens.
    var status = say(entry, text("sending"));
    if (status) { status.focus(); }
    function done() {
      if (button) { button.removeAttribute("aria-disabled"); }
    }
    putEntry(entry).then(renderQueue).then(flush).then(done, done);
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.querySelector("[data-checkin]");
    if (!root) { return; }
    root.addEventListener("submit", tap);
    window.addEventListener("online", flush);
    window.addEventListener("offline", renderQueue);
    renderQueue().then(flush);
    window.setInterval(flush, RETRY_MS);
  });
})();
