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
    var typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
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

// Admin pages: copy a shown-once link (the invitation) with one click; confirm what cannot be undone.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      if (!field) return;
      field.select();
      var done = function () { button.textContent = button.dataset.copied; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
  // Irreversible admin actions ask once before they go.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
