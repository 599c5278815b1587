// Small behaviours that need script; everything works without it as well.
// No inline script anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  // Forms with data-confirm ask before they submit (revoking a token, deleting).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Move focus to the error summary so screen readers announce what went wrong.
  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", focusErrors);

  // The clerk portal registers its service worker (installable, opens offline).
  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var worker = body && body.getAttribute("data-service-worker");
    if (worker && "serviceWorker" in navigator) {
      navigator.serviceWorker.register(worker, {
        scope: body.getAttribute("data-service-worker-scope")
      }).catch(function () { /* the portal works without it */ });
    }
  });

  // The portal menu scrolls sideways on a phone: bring the current page into view.
  document.addEventListener("DOMContentLoaded", function () {
    var nav = document.querySelector(".portal-nav");
    var current = nav && nav.querySelector('[aria-current="page"]');
    if (current && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
    }
  });

  // Signing out empties the pages the service worker kept on this phone.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.action && /\/logout$/.test(form.action) && navigator.serviceWorker &&
        navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage("signed-out");
    }
  }, true);
  // "All days" in an election's day boxes ticks every day; unticking a day unticks it.
  // Without script the box alone means every day (the server reads it so).
  function dayBoxes(group) {
    return Array.prototype.slice.call(group.querySelectorAll('input[type="checkbox"]:not([value="all"])'));
  }
  function syncAllDays(group) {
    var all = group.querySelector('input[value="all"]');
    var days = dayBoxes(group);
    if (all && days.length) {
      all.checked = days.every(function (box) { return box.checked; });
    }
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    var group = box && box.closest && box.closest(".day-choices");
    if (!group) { return; }
    if (box.value === "all") {
      dayBoxes(group).forEach(function (day) { day.checked = box.checked; });
    } else {
      syncAllDays(group);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".day-choices").forEach(function (group) {
      var all = group.querySelector('input[value="all"]');
      if (all && all.checked) {
        dayBoxes(group).forEach(function (day) { day.checked = true; });
      }
      syncAllDays(group);
    });
  });
  document.addEventListener("htmx:afterSwap", focusErrors);

  // The portal's sticky header: the page keeps whatever gets focus or is linked to below
  // it (scroll-padding-top in stemma.css reads --portal-bar), however many rows it takes.
  document.addEventListener("DOMContentLoaded", function () {
    var bar = document.querySelector(".portal-header");
    if (!bar || !window.ResizeObserver) { return; }
    new window.ResizeObserver(function () {
      document.documentElement.style.setProperty("--portal-bar", (bar.offsetHeight + 8) + "px");
    }).observe(bar);
    // A text field's caret is brought into view without the padding: make up the rest.
    document.addEventListener("focusin", function (event) {
      window.requestAnimationFrame(function () {
        var target = event.target;
        if (target !== document.activeElement || bar.contains(target)) { return; }
        var under = bar.getBoundingClientRect().bottom + 8 - target.getBoundingClientRect().top;
        if (under > 0 && target.offsetHeight < window.innerHeight - bar.offsetHeight) {
          window.scrollBy(0, -under);
        }
      });
    });
  });

  // Switching the language returns to the page as it is now: a filter that HTMX
  // answered has pushed a new address (a query) since the form was drawn with the old
  // one. The server keeps only a path on this site (safe_next).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var next = form && form.action && /\/lang$/.test(form.action) &&
      form.querySelector('input[name="next"]');
    if (next) {
      next.value = window.location.pathname + window.location.search;
    }
  }, true);
  // A message template's field list: a button puts its field at the cursor of the text
  // it names (and the preview follows, as after typing). Without script the field's
  // code stands beside it to copy.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-insert]");
    var field = button && document.getElementById(button.getAttribute("data-insert-into"));
    if (!field) { return; }
    var text = button.getAttribute("data-insert");
    var start = field.selectionStart || 0;
    var end = field.selectionEnd || 0;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
  // A search field inside a form (the hand-out form's stations) searches on Enter
  // instead of sending the form: the form's own Enter belongs to the scanner's tag.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.matches || !field.matches("input[data-search-only]")) {
      return;
    }
    event.preventDefault();
    field.dispatchEvent(new Event("search", { bubbles: true }));
  });
})();
