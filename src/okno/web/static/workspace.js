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
  var socket = null;
  var me = Number((document.querySelector('meta[name="user-id"]') || {}).content || 0);

  // A reply being written survives a reload (per ticket, in this browser only).
  if (composer && ticketId) {
    var key = "okno-draft-" + ticketId;
    if (!composer.value && localStorage.getItem(key)) composer.value = localStorage.getItem(key);
    composer.addEventListener("input", function () { localStorage.setItem(key, composer.value); });
    composer.form.addEventListener("submit", function () { localStorage.removeItem(key); });
  }

  // The parts of a ticket page marked data-live follow its events: each is filled from a fresh copy of
  // the page, except one the agent is working in (focus inside, or a field changed and not yet sent),
  // which keeps what the agent did and catches up once they leave it. A refused form's input, shown
  // with its error, waits for the agent too.
  function edited(part) {
    var focused = document.activeElement;
    if (part.contains(focused) && focused.matches("input, select, textarea")) return true;
    if (part.querySelector('[aria-invalid="true"]')) return true;
    return Array.prototype.some.call(part.querySelectorAll("input, select, textarea"), function (field) {
      if (field.type === "hidden") return false;
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.tagName === "SELECT") {
        // With no option marked selected, a select starts on its first.
        var initial = Array.prototype.findIndex.call(field.options, function (o) { return o.defaultSelected; });
        return field.selectedIndex !== Math.max(initial, 0);
      }
      return field.value !== field.defaultValue;
    });
  }

  var behind = new Set();  // parts that skipped a refresh while the agent was working in them
  var refreshTimer = null;
  function refreshTicket() {
    // One change often comes as several events (a reply that also solves): one fetch for them all.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(fetchTicket, 100);
  }
  function fetchTicket() {
    fetch("/tickets/" + ticketId, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (part) {
          var copy = fresh.getElementById(part.id);
          if (!copy) return;
          if (edited(part)) { behind.add(part); return; }
          behind.delete(part);
          part.innerHTML = copy.innerHTML;
        });
        sayRead();
      });
  }
  document.addEventListener("focusout", function () {
    // Leaving one field for another in the same part is not leaving the part: look once focus has moved.
    setTimeout(function () {
      var waiting = Array.from(behind).some(function (part) { return !edited(part); });
      if (waiting) refreshTicket();
    }, 0);
  });

  // On a chat ticket the visitor sees when an agent has read their messages: the page says how far it
  // has shown them, while the agent can see it (a tab in the background reads nothing).
  var readUpTo = 0;
  function sayRead() {
    if (!timeline || timeline.dataset.reads !== "on" || document.visibilityState !== "visible") return;
    var inbound = timeline.querySelectorAll(".message-inbound[data-message-id]");
    if (!inbound.length) return;
    var last = Number(inbound[inbound.length - 1].dataset.messageId);
    if (last > readUpTo && send("read", { message_id: last })) readUpTo = last;
  }
  document.addEventListener("visibilitychange", sayRead);

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

  // The bell: a note naming this user (or an SLA warning sent to them) arrives on their stream like
  // any event they may see.
  var myId = me || null;

  function refreshBell() {
    fetch("/notifications/unread", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        var bell = document.getElementById("bell");
        if (!data || !bell) return;
        var count = bell.querySelector("[data-bell-count]");
        bell.dataset.unread = String(data.unread);
        bell.classList.toggle("has-unread", data.unread > 0);
        count.textContent = data.unread > data.cap ? data.cap + "+" : String(data.unread);
        count.hidden = data.unread === 0;
        if (location.pathname === "/notifications") refreshNotificationList();
      });
  }

  // On the notifications page itself, the list follows too.
  function refreshNotificationList() {
    fetch("/notifications", { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
        var main = document.getElementById("main");
        if (fresh && main) main.innerHTML = fresh.innerHTML;
      });
  }

  function mentionsMe(event) {
    var data = event.data || {};
    var ids = [].concat(data.mentioned_user_ids || [], data.notified_user_ids || []);
    return myId !== null && ids.indexOf(myId) !== -1;
  }

  // Collision warnings: who else has this ticket open, and who is writing on it right now.
  var VIEWING_REPEAT_MS = 15000, VIEWER_FORGET_MS = 40000, TYPING_SHOW_MS = 6000, TYPING_EVERY_MS = 2500;
  var indicator = document.getElementById("collision");
  var others = {};  // user id -> {name, seenAt, typingAt, composing}
  var lastTypingSent = 0;

  function send(type, extra) {
    if (!socket || socket.readyState !== WebSocket.OPEN || !ticketId) return false;
    var message = { type: type, ticket_id: ticketId };
    Object.keys(extra || {}).forEach(function (k) { message[k] = extra[k]; });
    socket.send(JSON.stringify(message));
    return true;
  }

  // A chat visitor typing (their widget says so); shown like a colleague typing, for a few seconds.
  var customerTyping = null;  // {name, at}

  function renderCollision() {
    if (!indicator) return;
    var now = Date.now(), viewers = [], typing = [];
    Object.keys(others).forEach(function (id) {
      var other = others[id];
      if (now - other.seenAt > VIEWER_FORGET_MS) { delete others[id]; return; }
      if (now - other.typingAt < TYPING_SHOW_MS) typing.push(other); else viewers.push(other.name);
    });
    var parts = typing.map(function (other) {
      var text = other.composing === "note" ? indicator.dataset.typingNote : indicator.dataset.typingReply;
      return text.replace("{name}", other.name);
    });
    if (customerTyping && now - customerTyping.at < TYPING_SHOW_MS) {
      parts.unshift(customerTyping.name ? indicator.dataset.customerTyping.replace("{name}", customerTyping.name)
        : indicator.dataset.someoneTyping);
      typing.push(customerTyping);
    }
    if (viewers.length) parts.push(indicator.dataset.viewing.replace("{names}", viewers.join(", ")));
    indicator.textContent = parts.join(" · ");
    indicator.hidden = parts.length === 0;
    indicator.classList.toggle("typing", typing.length > 0);
  }

  function onSignal(signal) {
    if (signal.kind === "presence_changed") {
      document.querySelectorAll('[data-user-id="' + signal.data.user_id + '"] .dot').forEach(function (dot) {
        dot.className = "dot dot-" + signal.data.status;
        dot.closest("[data-presence]").dataset.presence = signal.data.status;
      });
      return;
    }
    if (signal.ticket_id !== ticketId) return;
    if (signal.kind === "customer_typing") {
      customerTyping = { name: signal.data.name || "", at: Date.now() };
      renderCollision();
      setTimeout(renderCollision, TYPING_SHOW_MS + 100);
      return;
    }
    if (signal.kind === "messages_read") {
      if (signal.data.by === "customer") refreshTicket();  // the replies' read marks
      return;
    }
    if (signal.kind === "agent_typing" || signal.data.user_id === me) return;
    var id = String(signal.data.user_id);
    if (signal.kind === "stopped_viewing") {
      delete others[id];
    } else {
      var known = others[id];
      var other = known || { name: signal.data.name, typingAt: 0 };
      other.seenAt = Date.now();
      if (signal.kind === "typing") { other.typingAt = Date.now(); other.composing = signal.data.composing; }
      others[id] = other;
      if (!known) send("viewing");  // a newcomer learns at once that this page is open too
    }
    renderCollision();
  }

  if (indicator) {
    setInterval(function () { send("viewing"); renderCollision(); }, VIEWING_REPEAT_MS);
    window.addEventListener("pagehide", function () { send("stopped_viewing"); });
  }
  if (composer && ticketId) {
    composer.addEventListener("input", function () {
      if (Date.now() - lastTypingSent < TYPING_EVERY_MS) return;
      lastTypingSent = Date.now();
      var note = document.getElementById("kind-note");
      send("typing", { composing: note && note.checked ? "note" : "reply" });
    });
  }

  function onEvent(event) {
    if (event.id === 0) { onSignal(event); return; }
    if (seen.has(event.id)) return;
    seen.add(event.id);
    lastId = Math.max(lastId || 0, event.id);
    document.dispatchEvent(new CustomEvent("okno:event", { detail: event }));
    if (ticketId && event.ticket_id === ticketId) refreshTicket();
    if (mentionsMe(event)) refreshBell();
    refreshCounts();
  }

  function connect(delay) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/live" + (lastId ? "?after_id=" + lastId : "");
    socket = new WebSocket(url);
    socket.onopen = function () {
      document.documentElement.dataset.live = "on";
      // After a reconnect the log replays what was missed; the bell is simply asked again.
      if (delay > 1000) refreshBell();
      delay = 1000;
      send("viewing");
      // Read marks are passing signals, never replayed: on a chat ticket, fetch the ones that came
      // between rendering the page and this connection.
      if (timeline && timeline.dataset.reads === "on") refreshTicket(); else sayRead();
    };
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
    if (radio && !radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change"));
    }
    if (body) body.focus();
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (form) form.submit();
  }

  // Delegated: live refreshes replace the properties card and its selects with it.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
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
      "t": function () { var tag = document.getElementById("tag-add"); if (tag) tag.focus(); },
      "M": function () { var merge = document.getElementById("merge-link"); if (merge) merge.click(); },
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

// Open conversations: the tickets an agent works on stay at hand as tabs under the top bar (in this
// browser), and a tab lights up when something new arrives on its ticket while the agent is elsewhere.
(function () {
  "use strict";
  var strip = document.getElementById("open-tickets");
  if (!strip) return;
  var KEY = "okno-open-tickets", MAX = 8;
  var NEWS = ["message_received", "reply_sent", "note_added"];
  var here = document.querySelector("[data-ticket-tab]");
  var currentId = here ? Number(here.dataset.ticketId) : null;
  var me = Number((document.querySelector('meta[name="user-id"]') || {}).content || 0);

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || []; } catch (e) { return []; }
  }
  function save(list) { localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX))); }

  function render() {
    var list = load();
    strip.replaceChildren();
    list.forEach(function (ticket) {
      var tab = document.createElement("span");
      tab.className = "ticket-tab" + (ticket.id === currentId ? " current" : "") + (ticket.unread ? " unread" : "");
      var link = document.createElement("a");
      link.href = "/tickets/" + ticket.id;
      link.textContent = "#" + ticket.number + " " + ticket.subject;
      link.title = link.textContent;
      if (ticket.id === currentId) link.setAttribute("aria-current", "page");
      var close = document.createElement("button");
      close.type = "button";
      close.className = "link";
      close.textContent = "×";
      close.setAttribute("aria-label", strip.dataset.closeLabel + " #" + ticket.number);
      close.addEventListener("click", function () {
        save(load().filter(function (t) { return t.id !== ticket.id; }));
        render();
      });
      tab.append(link, close);
      strip.append(tab);
    });
    strip.hidden = list.length === 0;
  }

  if (here) {
    var list = load().filter(function (t) { return t.id !== currentId; });
    list.unshift({ id: currentId, number: Number(here.dataset.ticketNumber), subject: here.dataset.ticketSubject, unread: false });
    save(list);
  }
  render();
  window.addEventListener("storage", function (event) { if (event.key === KEY) render(); });
  document.addEventListener("okno:event", function (event) {
    var e = event.detail;
    if (e.ticket_id === currentId || NEWS.indexOf(e.kind) < 0 || (e.actor_type === "user" && e.actor_id === me)) return;
    var list = load(), changed = false;
    list.forEach(function (t) { if (t.id === e.ticket_id && !t.unread) { t.unread = true; changed = true; } });
    if (changed) { save(list); render(); }
  });
})();

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

// @mentions in internal notes: type @ and a few letters, pick a colleague with the arrows and Enter (or a click).
// The pick is kept as a user id next to the text; a mention deleted from the text is dropped on sending.
(function () {
  "use strict";
  var body = document.getElementById("body");
  var list = document.getElementById("mention-list");
  var holder = document.getElementById("mentions");
  if (!body || !list || !holder) return;
  var noteRadio = document.getElementById("kind-note");
  var replyPlaceholder = body.placeholder;
  var items = [];
  var active = -1;
  var query = null;
  var timer = null;

  function isNote() { return noteRadio && noteRadio.checked; }

  document.querySelectorAll('input[name="kind"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      body.placeholder = isNote() ? body.dataset.notePlaceholder : replyPlaceholder;
      if (!isNote()) close();
    });
  });
  if (isNote()) body.placeholder = body.dataset.notePlaceholder;

  function close() {
    list.hidden = true;
    list.innerHTML = "";
    items = [];
    active = -1;
    query = null;
    body.setAttribute("aria-expanded", "false");
    body.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    items.forEach(function (item, i) {
      var option = document.getElementById("mention-option-" + i);
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) body.setAttribute("aria-activedescendant", "mention-option-" + index);
  }

  function show(found) {
    items = found;
    list.innerHTML = "";
    if (!found.length) { close(); return; }
    found.forEach(function (person, i) {
      var option = document.createElement("li");
      option.id = "mention-option-" + i;
      option.setAttribute("role", "option");
      option.textContent = person.name;
      option.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
      list.appendChild(option);
    });
    list.hidden = false;
    body.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  function currentToken() {
    var before = body.value.slice(0, body.selectionStart);
    var match = /(^|\s)@([^\s@]{0,30})$/.exec(before);
    return match ? { text: match[2], start: before.length - match[2].length - 1 } : null;
  }

  function pick(index) {
    var person = items[index];
    var token = currentToken();
    if (!person || !token) { close(); return; }
    var mention = "@" + person.name + " ";
    var caret = body.selectionStart;
    body.value = body.value.slice(0, token.start) + mention + body.value.slice(caret);
    var at = token.start + mention.length;
    body.setSelectionRange(at, at);
    keep(person);
    remember();
    body.dispatchEvent(new Event("input"));
    close();
  }

  function keep(person) {
    if (holder.querySelector('input[value="' + person.id + '"]')) return;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "mentioned_user_ids";
    input.value = String(person.id);
    input.dataset.name = person.name;
    holder.appendChild(input);
  }

  // Picks survive a reload with the draft they belong to.
  var storeKey = "okno-mentions-" + (document.getElementById("timeline") || { dataset: {} }).dataset.ticketId;
  function remember() {
    var picked = Array.prototype.map.call(holder.querySelectorAll("input"), function (input) {
      return { id: Number(input.value), name: input.dataset.name };
    });
    localStorage.setItem(storeKey, JSON.stringify(picked));
  }
  try {
    JSON.parse(localStorage.getItem(storeKey) || "[]").forEach(function (person) {
      if (body.value.indexOf("@" + person.name) !== -1) keep(person);
    });
  } catch (ignored) { localStorage.removeItem(storeKey); }

  body.addEventListener("input", function () {
    var token = isNote() ? currentToken() : null;
    if (!token) { close(); return; }
    if (token.text === query) return;
    query = token.text;
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(body.dataset.mentionUrl + "?q=" + encodeURIComponent(token.text), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) { if (query === token.text) show(data.items); });
    }, 120);
  });

  body.addEventListener("keydown", function (event) {
    if (list.hidden || !items.length) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + items.length) % items.length); }
    else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") {
      event.preventDefault();
      event.stopPropagation();
      pick(active);
    } else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); close(); }
  });
  body.addEventListener("blur", function () { setTimeout(close, 150); });

  body.form.addEventListener("submit", function () {
    holder.querySelectorAll("input").forEach(function (input) {
      if (!isNote() || body.value.indexOf("@" + input.dataset.name) === -1) input.remove();
    });
    localStorage.removeItem(storeKey);
  });
})();

// Attachments: each file is uploaded as soon as it is chosen; the message carries their ids.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  var picker = document.getElementById("attach-files");
  var uploads = document.getElementById("uploads");
  var token = document.querySelector('meta[name="csrf-token"]');
  if (!form || !picker || !uploads || !token) return;
  var limit = Number(form.dataset.uploadLimit);
  var pending = 0;
  var send = form.querySelector('button[type="submit"]');

  function row(file) {
    var item = document.createElement("li");
    item.dataset.upload = "";
    var name = document.createElement("span");
    name.textContent = file.name;
    var state = document.createElement("span");
    state.className = "muted";
    item.appendChild(name);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(state);
    uploads.appendChild(item);
    return { item: item, state: state };
  }

  function removable(item, label) {
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.dataset.removeUpload = "";
    remove.setAttribute("aria-label", label);
    remove.textContent = "×";
    item.appendChild(document.createTextNode(" "));
    item.appendChild(remove);
  }

  function failed(line, message) {
    line.item.classList.add("upload-error");
    line.state.className = "error";
    line.state.setAttribute("role", "alert");
    line.state.textContent = message;
    removable(line.item, "×");
  }

  function settle() {
    pending -= 1;
    if (send) send.disabled = pending > 0;
  }

  picker.addEventListener("change", function () {
    Array.prototype.forEach.call(picker.files, function (file) {
      var line = row(file);
      if (file.size > limit) {
        failed(line, uploads.dataset.tooLarge.replace("%(name)s", file.name).replace("%(limit)s", form.dataset.uploadLimitLabel));
        return;
      }
      line.state.textContent = uploads.dataset.uploading;
      pending += 1;
      if (send) send.disabled = true;
      var data = new FormData();
      data.append("file", file);
      fetch("/attachments", { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": token.content } })
        .then(function (r) { return r.json().then(function (json) { return { ok: r.ok, json: json }; }, function () { return { ok: false, json: null }; }); })
        .then(function (answer) {
          settle();
          if (!answer.ok) {
            failed(line, answer.json && answer.json.error ? answer.json.error.message : uploads.dataset.failed);
            return;
          }
          var id = document.createElement("input");
          id.type = "hidden";
          id.name = "attachment_ids";
          id.value = answer.json.id;
          line.item.insertBefore(id, line.item.firstChild);
          line.state.textContent = answer.json.size_label;
          removable(line.item, uploads.dataset.removeLabel.replace("%(name)s", file.name));
        }, function () { settle(); failed(line, uploads.dataset.failed); });
    });
    picker.value = "";
  });

  uploads.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-upload]");
    if (button) button.closest("[data-upload]").remove();
  });
})();
