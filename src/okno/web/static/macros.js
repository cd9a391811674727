// Macro picker on the ticket page: `m` focuses it, typing filters (the server renders each macro for
// this ticket), arrows move, Enter chooses. Choosing puts the text into the composer and sets reply or
// note; the macro's actions go with the message (hidden macro_id), so sending applies both at once and
// nothing changes on the ticket until then.
(function () {
  "use strict";
  var picker = document.getElementById("macro-picker");

  // Buttons that ask first (deleting a macro).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // The macro editor: a preview with sample values as the text is typed, and placeholders inserted
  // at the cursor. The server checks the same rules again on saving.
  var sample = document.getElementById("macro-sample");
  if (sample) {
    var source = document.getElementById("body");
    var values = JSON.parse(sample.dataset.values);
    var sampleText = document.getElementById("macro-sample-text");
    var sampleWarning = document.getElementById("macro-sample-warning");
    var renderSample = function () {
      var unknown = [];
      sampleText.textContent = source.value.replace(/\{\{([\s\S]*?)\}\}/g, function (whole, name) {
        name = name.trim();
        if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
        if (unknown.indexOf(whole) < 0) unknown.push(whole);
        return whole;
      });
      sampleWarning.hidden = !unknown.length;
      sampleWarning.textContent = unknown.length ? sample.dataset.textUnknown + " " + unknown.join(", ") : "";
    };
    source.addEventListener("input", renderSample);
    renderSample();
    document.querySelectorAll("[data-insert]").forEach(function (button) {
      button.addEventListener("click", function () {
        var code = button.getAttribute("data-insert");
        var start = source.selectionStart, end = source.selectionEnd;
        source.setRangeText(code, start, end, "end");
        source.focus();
        renderSample();
      });
    });
  }

  if (!picker) return;
  var box = document.getElementById("macro-search");
  var list = document.getElementById("macro-options");
  var chosen = document.getElementById("macro-chosen");
  var chosenText = document.getElementById("macro-chosen-text");
  var warning = document.getElementById("macro-warning");
  var hidden = document.getElementById("macro-id");
  var body = document.getElementById("body");
  var statusSelect = document.getElementById("status");
  var ticketId = picker.dataset.ticketId;
  var items = [];
  var active = -1;
  var timer = null;
  var latest = 0;
  var statusBefore = null;  // the composer's status before a macro chose one
  // The chosen macro stays with the draft it went into: a reload, or a send refused because a
  // colleague replied meanwhile, keeps both. Once the composer is empty (sent), it is forgotten.
  var storeKey = "okno-macro-" + ticketId;
  document.addEventListener("DOMContentLoaded", function () {
    var stored = null;
    try { stored = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { stored = null; }
    if (stored && body && body.value.trim()) showChosen(stored.id, stored.title, stored.summary);
    else localStorage.removeItem(storeKey);
  });

  function open(isOpen) {
    list.hidden = !isOpen;
    box.setAttribute("aria-expanded", String(isOpen));
    if (!isOpen) box.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.setAttribute("aria-selected", String(i === active));
    });
    if (active >= 0 && list.children[active]) {
      box.setAttribute("aria-activedescendant", list.children[active].id);
      list.children[active].scrollIntoView({ block: "nearest" });
    }
  }

  function show(found) {
    items = found;
    list.textContent = "";
    if (!found.length) {
      var empty = document.createElement("li");
      empty.className = "macro-empty muted";
      empty.textContent = picker.dataset.textEmpty;
      list.appendChild(empty);
      active = -1;
      open(true);
      return;
    }
    found.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = "macro-option-" + item.id;
      li.setAttribute("role", "option");
      li.dataset.index = String(i);
      var title = document.createElement("strong");
      title.textContent = item.title;
      var kind = document.createElement("span");
      kind.className = "badge" + (item.kind === "note" ? " note" : "");
      kind.textContent = item.kind === "note" ? picker.dataset.textNote : picker.dataset.textReply;
      var preview = document.createElement("span");
      preview.className = "macro-preview muted";
      var flat = item.text.replace(/\s+/g, " ").trim();
      preview.textContent = flat.length > 180 ? flat.slice(0, 180) + "…" : flat;
      if (!item.text.trim()) kind.textContent = picker.dataset.textAtOnce;
      li.append(title, " ", kind, preview);
      if (item.missing.length) {
        var missing = document.createElement("span");
        missing.className = "macro-warning";
        missing.textContent = missingText(item);
        li.appendChild(missing);
      }
      if (item.actions.length) {
        var acts = document.createElement("span");
        acts.className = "chips";
        item.actions.forEach(function (phrase) {
          var chip = document.createElement("span");
          chip.className = "chip";
          chip.textContent = phrase;
          acts.appendChild(chip);
        });
        li.appendChild(acts);
      }
      li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
      list.appendChild(li);
    });
    open(true);
    highlight(0);
  }

  function showChosen(id, title, summary) {
    hidden.value = String(id);
    var name = document.createElement("strong");
    name.textContent = title;
    chosenText.textContent = "";
    chosenText.append(name, summary);
    chosen.hidden = false;
  }

  function missingText(item) {
    return picker.dataset.textMissing + " " + item.missing.map(function (n) { return "{{" + n + "}}"; }).join(", ");
  }

  function search() {
    var asked = ++latest;
    var url = "/macros/search?ticket_id=" + encodeURIComponent(ticketId) + "&q=" + encodeURIComponent(box.value);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && asked === latest && document.activeElement === box) show(data.items); });
  }

  function choose(index) {
    var item = items[index];
    if (!item || !body) return;
    if (!item.text.trim()) {
      // Only actions, nothing to write: applied at once, as a change made from the properties pane is.
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/tickets/" + encodeURIComponent(ticketId) + "/macros/" + encodeURIComponent(item.id);
      var token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = document.querySelector('meta[name="csrf-token"]').content;
      form.appendChild(token);
      document.body.appendChild(form);
      form.submit();
      return;
    }
    var radio = document.getElementById(item.kind === "note" ? "kind-note" : "kind-reply");
    if (radio) radio.checked = true;
    if (item.text) {
      body.value = body.value.trim() ? body.value.replace(/\s+$/, "") + "\n\n" + item.text : item.text;
      body.dispatchEvent(new Event("input", { bubbles: true }));  // the draft is saved as typed text is
    }
    if (statusSelect && statusBefore !== null) statusSelect.value = statusBefore;
    statusBefore = null;
    if (statusSelect && item.status && item.kind === "reply") {
      statusBefore = statusSelect.value;
      statusSelect.value = item.status;
    }
    var summary = item.actions.length ? " · " + picker.dataset.textOnSend + " " + item.actions.join(", ") : "";
    showChosen(item.id, item.title, summary);
    localStorage.setItem(storeKey, JSON.stringify({ id: item.id, title: item.title, summary: summary }));
    warning.hidden = !item.missing.length;
    warning.textContent = item.missing.length ? missingText(item) : "";
    box.value = "";
    open(false);
    body.focus();
    body.setSelectionRange(body.value.length, body.value.length);
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 120);
  });
  box.addEventListener("focus", search);
  box.addEventListener("blur", function () { open(false); });
  box.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) { search(); return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      if (items.length) highlight((active + step + items.length) % items.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0) choose(active);
    } else if (event.key === "Escape") {
      open(false);
      box.blur();
    }
  });

  document.getElementById("macro-clear").addEventListener("click", function () {
    hidden.value = "";
    localStorage.removeItem(storeKey);
    // The status the macro chose goes back to what the agent had.
    if (statusSelect && statusBefore !== null) statusSelect.value = statusBefore;
    statusBefore = null;
    chosen.hidden = true;
    warning.hidden = true;
  });

  // `m` anywhere outside a field focuses the picker (the other keys live in workspace.js).
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "m" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if (document.querySelector("dialog[open]")) return;
    event.preventDefault();
    box.focus();
  });
})();
