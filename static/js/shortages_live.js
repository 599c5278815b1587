// The shortages page live: its socket gets the coordinators' dashboard fragments for the
// election; none is swapped here. When one tells of a shortage (reported, sent,
// delivered), or the server says too much was missed, the list is fetched again.
(function () {
  "use strict";

  var SHORTAGE = /station\.shortage_/;

  function refresh() {
    var list = document.getElementById("shortage-list");
    if (list && window.htmx) { window.htmx.trigger(list, "shortages-changed"); }
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var socket = document.getElementById("shortages-socket");
    if (!socket || !socket.contains(event.target)) { return; }
    var text = event.detail && event.detail.message;
    event.preventDefault();
    if (typeof text !== "string") { return; }
    if (text.charAt(0) === "{") {
      var message;
      try { message = JSON.parse(text); } catch (error) { return; }
      if (message.type === "ws.snapshot" || SHORTAGE.test(String(message.type || ""))) {
        refresh();
      }
      return;
    }
    var types = /data-event-types="([^"]*)"/.exec(text);
    if (types && SHORTAGE.test(types[1])) { refresh(); }
  });

  // Back after a lost connection: what happened meanwhile is not replayed as events
  // here, so draw the list as it is now.
  var opened = false;
  document.addEventListener("htmx:wsOpen", function (event) {
    var socket = document.getElementById("shortages-socket");
    if (!socket || !socket.contains(event.target)) { return; }
    if (opened) { refresh(); }
    opened = true;
  });
})();
