// Where focus goes when htmx swaps content, and what a screen reader hears of it
// (WCAG 2.4.3 focus order, 4.1.3 status messages), on every page:
// - swapped content names its own focus with `autofocus` (htmx focuses it once settled);
// - what a swap brings in a `[data-announce]` element is read out by one polite live
//   region that is on the page from the start (a region that arrives with its text is
//   often not read);
// - when a swap takes away the focused control and nothing in the new content took
//   focus, the same control in the new content gets it back (by its id, else by its
//   place among the focusable elements of its nearest element with an id);
// - a panel (`[data-panel]`, a target of htmx) remembers the control that filled it:
//   `[data-cancel-panel]` inside it empties it and gives focus back to that control.
(function () {
  "use strict";

  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  var announcer = null;
  function ensureAnnouncer() {
    announcer = document.getElementById("stemma-announcer");
    if (!announcer && document.body) {
      announcer = document.createElement("div");
      announcer.id = "stemma-announcer";
      announcer.className = "visually-hidden";
      announcer.setAttribute("role", "status");
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
  }
  document.addEventListener("DOMContentLoaded", ensureAnnouncer);

  function announce(text) {
    ensureAnnouncer();
    if (!announcer || !text) { return; }
    // Emptied first, so that the same words twice are read twice.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 100);
  }
  window.stemmaAnnounce = announce;

  document.addEventListener("htmx:load", function (event) {
    var element = event.target;
    if (!element || element === document.body || !element.querySelectorAll) { return; }
    var found = element.matches("[data-announce]") ? [element] : [];
    found = found.concat(Array.prototype.slice.call(element.querySelectorAll("[data-announce]")));
    var text = found.map(function (item) { return item.textContent.trim(); }).join(" ");
    if (text) { announce(text); }
  });

  // Focus kept across a swap.
  var kept = null;
  function remember(target) {
    var active = document.activeElement;
    if (kept || !target || !active || active === document.body || !target.contains(active)) {
      return;
    }
    var owner = active.parentElement && active.parentElement.closest("[id]");
    kept = {
      element: active,
      id: active.id || null,
      owner: owner ? owner.id : null,
      index: owner ? Array.prototype.indexOf.call(owner.querySelectorAll(FOCUSABLE), active) : -1
    };
  }
  function restore() {
    var was = kept;
    kept = null;
    if (!was || was.element.isConnected) { return; }
    var active = document.activeElement;
    if (active && active !== document.body) { return; }
    var found = was.id ? document.getElementById(was.id) : null;
    var owner = !found && was.owner ? document.getElementById(was.owner) : null;
    if (owner && was.index >= 0) { found = owner.querySelectorAll(FOCUSABLE)[was.index] || null; }
    if (found) { found.focus({ preventScroll: true }); }
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail && event.detail.shouldSwap) { remember(event.detail.target); }
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    remember(event.detail && event.detail.target);
  });
  document.addEventListener("htmx:afterSettle", restore);
  document.addEventListener("htmx:wsAfterMessage", restore);

  // Panels: who opened them, and cancelling gives focus back there.
  var openers = {};
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail && event.detail.target;
    var active = document.activeElement;
    if (target && target.id && target.hasAttribute("data-panel") && active && active !== document.body) {
      openers[target.id] = active;
    }
  });
  function focusOpener(panel) {
    var opener = openers[panel.id];
    if (opener && opener.isConnected) { opener.focus(); return; }
    // The opener is gone: the heading of the section the panel belongs to.
    var section = panel.closest("section[aria-labelledby]");
    var heading = section && document.getElementById(section.getAttribute("aria-labelledby"));
    if (heading) {
      if (!heading.hasAttribute("tabindex")) { heading.setAttribute("tabindex", "-1"); }
      heading.focus();
    }
  }
  document.addEventListener("click", function (event) {
    var cancel = event.target && event.target.closest && event.target.closest("[data-cancel-panel]");
    var panel = cancel && cancel.closest("[data-panel]");
    if (!panel) { return; }
    event.preventDefault();
    panel.innerHTML = "";
    focusOpener(panel);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !document.activeElement) { return; }
    var active = document.activeElement;
    // Escape in a search field with text empties the field first (the browser's own).
    if (active.matches && active.matches("input[type=search]") && active.value) { return; }
    var panel = active.closest && active.closest("[data-panel]");
    if (panel && panel.firstElementChild) {
      event.preventDefault();
      panel.innerHTML = "";
      focusOpener(panel);
    }
  });
})();
