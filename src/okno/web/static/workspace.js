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

  // Counts are cached on the server for a few seconds: after a change, ask soon and once more when
  // the cached figures have expired, so the sidebar settles on the true numbers.
  var trailingTimer = null;
  function fetchCounts() {
    return fetch("/inbox/counts", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return null;
        var locale = document.documentElement.lang || undefined;
        Object.keys(data.counts).forEach(function (view) {
          var cell = document.querySelector('[data-view-count="' + view + '"]');
          if (!cell) return;
          var n = data.counts[view];
          cell.textContent = n > data.cap ? data.cap.toLocaleString(locale) + "+" : n.toLocaleString(locale);
        });
        return data;
      });
  }

  function refreshCounts() {
    clearTimeout(countsTimer);
    clearTimeout(trailingTimer);
    countsTimer = setTimeout(function () {
      fetchCounts().then(function (data) {
        var maxAge = data && data.max_age ? data.max_age : 5;
        trailingTimer = setTimeout(fetchCounts, maxAge * 1000 + 250);
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

// Keyboard-first: j/k move in lists, Enter opens, r reply, n note, a assign to me, s solve, / search, ? help.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  var selected = -1;

  function select(index) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
    rows[selected].scrollIntoView({ block: "nearest" });
    rows[selected].setAttribute("aria-selected", "true");
  }

  // Bulk selection: a checkbox per row, "select all on this page", x for the highlighted row.
  var pageBox = document.getElementById("select-page");
  var rowBoxes = Array.prototype.slice.call(document.querySelectorAll('input[name="ticket_id"]'));
  var countLabel = document.querySelector(".selected-count");

  function showSelection() {
    var n = rowBoxes.filter(function (box) { return box.checked; }).length;
    rowBoxes.forEach(function (box) { box.closest("tr").classList.toggle("checked", box.checked); });
    if (pageBox) {
      pageBox.checked = n > 0 && n === rowBoxes.length;
      pageBox.indeterminate = n > 0 && n < rowBoxes.length;
    }
    if (countLabel) {
      countLabel.textContent = n ? countLabel.dataset.some.replace("#", n.toLocaleString(document.documentElement.lang || undefined)) : countLabel.dataset.none;
    }
    document.querySelectorAll("[data-needs-selection]").forEach(function (button) { button.disabled = n === 0; });
  }

  function toggleRow(row) {
    var box = row.querySelector('input[name="ticket_id"]');
    if (box) { box.checked = !box.checked; showSelection(); }
  }

  rowBoxes.forEach(function (box) { box.addEventListener("change", showSelection); });
  if (pageBox) {
    pageBox.addEventListener("change", function () {
      rowBoxes.forEach(function (box) { box.checked = pageBox.checked; });
      showSelection();
    });
  }
  if (rowBoxes.length) showSelection();

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  function focusComposer(kind) {
    var radio = document.getElementById(kind === "note" ? "kind-note" : "kind-reply");
    var body = document.getElementById("body");
    if (radio) radio.checked = true;
    if (body) body.focus();
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (form) form.submit();
  }

  document.querySelectorAll("select[data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () { field.form.submit(); });
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target.closest && target.closest("input, textarea, select, [contenteditable]") &&
      target.type !== "checkbox" && target.type !== "radio";  // a ticked box keeps the keys working
    if (target.id === "body" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      target.form.requestSubmit();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape" && target.blur) target.blur();
      return;
    }
    var actions = {
      "x": function () { if (selected >= 0) toggleRow(rows[selected]); },
      "j": function () { select(selected + 1); },
      "k": function () { select(selected - 1); },
      "Enter": function () { if (selected >= 0) location.href = rows[selected].dataset.href; },
      "r": function () { focusComposer("reply"); },
      "n": function () { focusComposer("note"); },
      "a": function () { submit("assign-to-me"); },
      "s": function () { submit("solve"); },
      "/": function () { var box = document.getElementById("search"); if (box) box.focus(); },
      "?": function () { var help = document.getElementById("shortcuts"); if (help) help.showModal(); }
    };
    var action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
})();

// Presence: a heartbeat every half minute while a page is open, saying whether anyone is at the keyboard.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  var awayAfter = document.querySelector('meta[name="away-after"]');
  if (!token) return;
  var idleAfterMs = Number(awayAfter ? awayAfter.content : 600) * 1000;
  var lastActivity = Date.now();
  ["keydown", "mousemove", "mousedown", "touchstart", "scroll"].forEach(function (name) {
    window.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });

  function beat() {
    var body = new URLSearchParams({ idle: String(Date.now() - lastActivity > idleAfterMs) });
    fetch("/presence/heartbeat", {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": token.content }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) return;
      var select = document.getElementById("presence");
      var dot = document.querySelector(".presence-form .dot");
      if (select) select.value = data.status;
      if (dot) dot.className = "dot dot-" + data.status;
    });
  }
  beat();
  setInterval(beat, 30000);
})();

// Remote images in customer messages load only when the agent asks (they can track who read what, and when).
document.addEventListener("click", function (event) {
  "use strict";
  var button = event.target.closest && event.target.closest("[data-load-images]");
  if (!button) return;
  var message = button.closest(".message");
  message.querySelectorAll("img[data-remote-src]").forEach(function (img) {
    img.src = img.getAttribute("data-remote-src");
    img.removeAttribute("data-remote-src");
  });
  button.parentNode.remove();
});
