// Live workspace: follows the realtime bus and refreshes what changed, without reloading the page.
// Reconnects with the last event id it saw, so nothing is missed while the connection was down.
(function () {
  "use strict";
  var lastId = null;
  var seen = new Set();
  var timeline = document.getElementById("timeline");
  var ticketId = timeline ? Number(timeline.dataset.ticketId) : null;
  var composer = document.getElementById("body");
  var countsTimer = null;

  // A reply being written survives a reload (per ticket, in this browser only).
  if (composer && ticketId) {
    var key = "okno-draft-" + ticketId;
    if (!composer.value && localStorage.getItem(key)) composer.value = localStorage.getItem(key);
    composer.addEventListener("input", function () { localStorage.setItem(key, composer.value); });
    composer.form.addEventListener("submit", function () { localStorage.removeItem(key); });
  }

  function refreshTimeline() {
    fetch("/tickets/" + ticketId + "/timeline", { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) timeline.innerHTML = html; });
  }

  function refreshCounts() {
    clearTimeout(countsTimer);
    countsTimer = setTimeout(function () {
      fetch("/inbox/counts", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          Object.keys(data.counts).forEach(function (view) {
            var cell = document.querySelector('[data-view-count="' + view + '"]');
            if (!cell) return;
            var n = data.counts[view];
            cell.textContent = n > data.cap ? data.cap.toLocaleString() + "+" : n.toLocaleString();
          });
        });
    }, 500);
  }

  function onEvent(event) {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    lastId = Math.max(lastId || 0, event.id);
    if (ticketId && event.ticket_id === ticketId) refreshTimeline();
    refreshCounts();
  }

  function connect(delay) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/live" + (lastId ? "?after_id=" + lastId : "");
    var socket = new WebSocket(url);
    socket.onopen = function () { document.documentElement.dataset.live = "on"; delay = 1000; };
    socket.onmessage = function (message) { onEvent(JSON.parse(message.data)); };
    socket.onclose = function () {
      document.documentElement.dataset.live = "off";
      setTimeout(function () { connect(Math.min(delay * 2, 30000)); }, delay);
    };
  }
  connect(1000);
})();
