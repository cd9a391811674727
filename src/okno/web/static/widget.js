// Okno chat widget: <script src="https://help.example/widget.js" data-widget="KEY" async></script>
// Plain JavaScript, no build step. Everything it draws lives in a Shadow DOM, so the site's styles
// and the widget's never touch. The visitor is a random token kept in this site's localStorage (the
// help desk's cookies are never used); the conversation runs over a WebSocket to the help desk, and
// resumes from the last event it saw after a dropped connection. A site that knows its visitor adds
// data-user-email, data-user-name and data-user-signature (HMAC-SHA256 of the email with the
// widget's secret, computed on the site's server).
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-widget]");
  if (!script || !script.dataset.widget || window.__oknoChatWidget) return;
  window.__oknoChatWidget = true;

  var KEY = script.dataset.widget;
  var BASE = script.src.replace(/\/widget\.js(\?.*)?$/, "");
  var STORE = "okno-chat:" + KEY;
  var identity = script.dataset.userEmail && script.dataset.userSignature ? {
    email: script.dataset.userEmail, name: script.dataset.userName || "", signature: script.dataset.userSignature
  } : null;

  var TEXTS = {
    en: {
      open: "Chat with us", close: "Close the chat", title: "Chat", online: "We are online", offline: "We are offline",
      greeting: "Hello! How can we help you?", topic: "What is it about?", name: "Your name (optional)",
      email: "Your email (optional)", emailRequired: "Your email", message: "Your message", start: "Start the chat",
      send: "Send", placeholder: "Write a message…", composer: "Message", offlineNote: "Nobody can answer live right now. Leave your email and your message, and we will answer by email.",
      leave: "Send message", thanks: "Thank you! We will answer by email at {email}.", you: "You", agent: "Support",
      typing: "{name} is typing…", someoneTyping: "Someone is typing…", sending: "Sending…", sent: "Sent", read: "Read",
      closed: "This conversation was closed.", newChat: "Start a new conversation", transcript: "Email me the transcript",
      transcriptSent: "The transcript is on its way to {email}.", transcriptEmail: "Email for the transcript",
      confirm: "Confirm my email to see earlier conversations", confirmEmail: "Your email", sendCode: "Send me a code",
      code: "The code from the email", confirmCode: "Confirm", codeSent: "If the address is right, a code is on its way to {email}.",
      confirmed: "Your email {email} is confirmed.", cancel: "Cancel", earlier: "Earlier conversation #{number}",
      failed: "Something went wrong; please try again.", reconnecting: "Reconnecting…", unread: "{count} new",
      email_required: "Nobody can answer live now: leave your email and we will answer there.",
      bad_email: "Enter a valid email address.", rate_limited: "Too many messages at once; wait a moment, please.",
      too_long: "The message is too long.", empty: "Write a message first.",
      wrong_code: "The code is wrong or has expired; ask for a new one."
    },
    ru: {
      open: "Написать нам", close: "Закрыть чат", title: "Чат", online: "Мы на связи", offline: "Сейчас никого нет",
      greeting: "Здравствуйте! Чем можем помочь?", topic: "По какому вопросу?", name: "Ваше имя (необязательно)",
      email: "Ваш email (необязательно)", emailRequired: "Ваш email", message: "Ваше сообщение", start: "Начать чат",
      send: "Отправить", placeholder: "Напишите сообщение…", composer: "Сообщение", offlineNote: "Сейчас никто не может ответить в чате. Оставьте email и сообщение — мы ответим на почту.",
      leave: "Отправить сообщение", thanks: "Спасибо! Мы ответим на {email}.", you: "Вы", agent: "Поддержка",
      typing: "{name} печатает…", someoneTyping: "Вам пишут…", sending: "Отправляется…", sent: "Отправлено", read: "Прочитано",
      closed: "Разговор завершён.", newChat: "Начать новый разговор", transcript: "Прислать переписку на почту",
      transcriptSent: "Переписка отправлена на {email}.", transcriptEmail: "Email для переписки",
      confirm: "Подтвердить email и увидеть прошлые разговоры", confirmEmail: "Ваш email", sendCode: "Прислать код",
      code: "Код из письма", confirmCode: "Подтвердить", codeSent: "Если адрес верный, код уже отправлен на {email}.",
      confirmed: "Ваш email {email} подтверждён.", cancel: "Отмена", earlier: "Прошлый разговор №{number}",
      failed: "Что-то пошло не так, попробуйте ещё раз.", reconnecting: "Переподключаемся…", unread: "Новых: {count}",
      email_required: "Сейчас никто не может ответить в чате: оставьте email, и мы ответим на почту.",
      bad_email: "Введите правильный адрес электронной почты.", rate_limited: "Слишком много сообщений сразу, подождите немного.",
      too_long: "Сообщение слишком длинное.", empty: "Сначала напишите сообщение.",
      wrong_code: "Код неверный или устарел; запросите новый."
    }
  };
  var T = TEXTS.en, LANG = "en";
  function t(name, values) {
    var text = T[name] || TEXTS.en[name] || name;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function save(state) {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode: this page only */ }
  }
  var stored = load();

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.append(child); });
    return node;
  }

  function api(method, path, body) {
    // A GET with no headers of its own needs no CORS preflight (the configuration); POSTs carry JSON and the token.
    var headers = {};
    if (body) headers["Content-Type"] = "application/json";
    if (body && stored.token) headers.Authorization = "Bearer " + stored.token;
    return fetch(BASE + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit", mode: "cors" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!r.ok) { var error = (data && data.error) || {}; error.status = r.status; throw error; }
          return data;
        });
      });
  }

  // --- state ---------------------------------------------------------------------------------
  var config = null, visitor = null, socket = null, lastEventId = null, retryDelay = 1000, opened = false;
  var unsent = [];  // frames the visitor sent while the connection was opening
  var conversations = {};   // id -> {id, number, closed, offline, messages: {id -> message}, order: [ids]}
  var activeId = null, pending = {}, refCounter = 0, unread = 0, typingTimer = null, lastTypingSent = 0;
  var root, shadow, launcher, panel, statusLine, log, typingLine, composer, composerBox, prechat, footer, badge, notice;

  // --- the look ------------------------------------------------------------------------------
  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }",
    ".launcher { position: fixed; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer;",
    "  color: #fff; background: var(--okno-color); box-shadow: 0 4px 14px rgba(0,0,0,.25); z-index: 2147483646; display: flex; align-items: center; justify-content: center; }",
    ".launcher:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }",
    ".right { right: 20px; } .left { left: 20px; }",
    ".badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; border-radius: 10px; background: #c62828; color: #fff;",
    "  font-size: 12px; line-height: 20px; text-align: center; padding: 0 5px; }",
    ".panel { position: fixed; bottom: 88px; width: 360px; max-width: calc(100vw - 24px); height: 540px; max-height: calc(100vh - 110px);",
    "  display: flex; flex-direction: column; background: #fff; color: #1c1c1c; border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.25);",
    "  z-index: 2147483647; overflow: hidden; font-size: 14px; }",
    "[hidden] { display: none !important; }",
    "header { background: var(--okno-color); color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }",
    "header h2 { font-size: 16px; margin: 0; flex: 1; } header p { margin: 2px 0 0; font-size: 12px; opacity: .9; }",
    "header button { background: transparent; border: 0; color: #fff; font-size: 22px; cursor: pointer; }",
    ".body { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }",
    ".log { display: flex; flex-direction: column; gap: 6px; margin: 0; padding: 0; list-style: none; }",
    ".msg { max-width: 82%; padding: 8px 11px; border-radius: 12px; line-height: 1.4; word-wrap: break-word; white-space: pre-wrap; }",
    ".msg p { margin: 0 0 6px; } .msg p:last-child { margin: 0; } .msg a { color: inherit; }",
    ".visitor { align-self: flex-end; background: var(--okno-color); color: #fff; border-bottom-right-radius: 3px; }",
    ".agent { align-self: flex-start; background: #f0f1f4; border-bottom-left-radius: 3px; white-space: normal; }",
    ".meta { display: block; font-size: 11px; opacity: .75; margin-top: 3px; text-align: right; }",
    ".who { display: block; font-size: 11px; font-weight: 600; margin-bottom: 2px; }",
    ".separator { align-self: center; font-size: 12px; color: #666; margin: 6px 0; }",
    ".typing { min-height: 18px; font-size: 12px; color: #555; padding: 0 12px; }",
    ".notice { background: #fff7e0; border: 1px solid #f0d890; color: #5c4700; padding: 8px 10px; border-radius: 8px; font-size: 13px; }",
    ".error { color: #b42318; font-size: 13px; margin: 2px 0; }",
    "form { display: flex; flex-direction: column; gap: 8px; } label { font-size: 13px; font-weight: 600; display: flex; flex-direction: column; gap: 4px; }",
    ".greeting { margin: 0; font-size: 15px; }",
    "input, textarea, select { font: inherit; font-weight: 400; padding: 8px; border: 1px solid #c5c8d0; border-radius: 8px; color: #1c1c1c; background: #fff; }",
    "fieldset { border: 0; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 4px; } legend { font-size: 13px; font-weight: 600; margin-bottom: 4px; }",
    ".topic { font-weight: 400; flex-direction: row; align-items: center; gap: 6px; }",
    "button.primary { background: var(--okno-color); color: #fff; border: 0; border-radius: 8px; padding: 9px 12px; font: inherit; font-weight: 600; cursor: pointer; }",
    "button.link { background: none; border: 0; color: #2f5bd3; text-decoration: underline; cursor: pointer; font: inherit; font-size: 13px; padding: 2px 0; text-align: left; }",
    ".composer { border-top: 1px solid #e3e5ea; padding: 8px; display: flex; gap: 6px; align-items: flex-end; }",
    ".composer textarea { flex: 1; resize: none; height: 40px; max-height: 120px; }",
    ".footer { padding: 4px 12px 8px; display: flex; flex-direction: column; gap: 2px; }",
    ".visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }"
  ].join("\n");

  // A speech bubble drawn in SVG: emoji and icon fonts are not on every system.
  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "26"); svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z");
    svg.append(path);
    return svg;
  }

  function build() {
    root = el("div", { "data-okno-chat": KEY });
    shadow = root.attachShadow({ mode: "open" });
    var side = config.position === "left" ? "left" : "right";
    shadow.append(el("style", { text: CSS }));
    root.style.setProperty("--okno-color", config.color);
    badge = el("span", { "class": "badge", hidden: true, "aria-hidden": "true" });
    launcher = el("button", {
      type: "button", "class": "launcher " + side, "aria-label": t("open"), "aria-expanded": "false",
      "aria-controls": "okno-chat-panel", onclick: function () { toggle(!opened); }
    }, [icon(), badge]);
    statusLine = el("p", {});
    var header = el("header", {}, [
      el("div", { style: "flex:1" }, [el("h2", { id: "okno-chat-title", text: config.name || t("title") }), statusLine]),
      el("button", { type: "button", "aria-label": t("close"), onclick: function () { toggle(false); } }, [el("span", { "aria-hidden": "true", text: "×" })])
    ]);
    log = el("ol", { "class": "log", role: "log", "aria-live": "polite", "aria-label": t("title") });
    notice = el("div", { role: "status", "aria-live": "polite" });
    prechat = el("div", {});
    var body = el("div", { "class": "body" }, [notice, log, prechat]);
    typingLine = el("div", { "class": "typing", "aria-live": "polite" });
    composer = el("textarea", { "aria-label": t("composer"), placeholder: t("placeholder"), rows: "1", maxlength: "5000" });
    composer.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendMessage(); }
    });
    composer.addEventListener("input", function () {
      if (!activeId || Date.now() - lastTypingSent < 2500) return;
      lastTypingSent = Date.now();
      socketSend({ type: "typing", conversation_id: activeId });
    });
    composerBox = el("div", { "class": "composer", hidden: true }, [
      composer, el("button", { type: "button", "class": "primary", onclick: sendMessage, text: t("send") })
    ]);
    footer = el("div", { "class": "footer" });
    panel = el("section", {
      id: "okno-chat-panel", "class": "panel " + side, role: "dialog", "aria-labelledby": "okno-chat-title", hidden: true
    }, [header, body, typingLine, composerBox, footer]);
    panel.addEventListener("keydown", function (event) { if (event.key === "Escape") toggle(false); });
    shadow.append(launcher, panel);
    document.body.append(root);
  }

  function toggle(open) {
    opened = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      unread = 0; showBadge();
      refreshConfig();
      ensureVisitor().then(function () { connect(); render(); focusFirst(); });
    } else {
      launcher.focus();
    }
  }

  function focusFirst() {
    var target = !composerBox.hidden ? composer : prechat.querySelector("input, textarea, select, button");
    if (target) target.focus();
  }

  function showBadge() {
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
    launcher.setAttribute("aria-label", unread ? t("open") + " (" + t("unread", { count: unread }) + ")" : t("open"));
  }

  function refreshConfig() {
    return api("GET", "/widget/" + encodeURIComponent(KEY) + "/config").then(function (fresh) {
      config = fresh; renderStatus();
      if (!activeId) render();
    }).catch(function () {});
  }

  function renderStatus() {
    statusLine.textContent = config.online ? t("online") : t("offline");
  }

  // --- the visitor ---------------------------------------------------------------------------
  function ensureVisitor() {
    if (stored.token) {
      if (identity && stored.identity !== identity.email) {
        return api("POST", "/widget/" + KEY + "/visitors/me/identity", identity).then(function (data) {
          stored.identity = identity.email; save(stored); visitor = data.visitor; reconnect();
        }).catch(function (error) {
          if (error.status === 401) { stored = {}; save(stored); return ensureVisitor(); }
          console.warn("Okno chat: the site's identity was refused", error.message);
        });
      }
      return Promise.resolve();
    }
    var body = identity ? { name: identity.name, identity: identity } : {};
    return api("POST", "/widget/" + KEY + "/visitors", body).then(function (data) {
      stored = { token: data.token, identity: identity ? identity.email : null };
      save(stored); visitor = data.visitor;
    }).catch(function (error) {
      if (error.code === "bad_signature" && identity) {
        console.warn("Okno chat: the site's signature of its visitor does not match; chatting anonymously");
        identity = null; return ensureVisitor();
      }
      throw error;
    });
  }

  // --- the live connection -------------------------------------------------------------------
  function connect() {
    if (!stored.token || (socket && socket.readyState <= 1)) return;
    var url = BASE.replace(/^http/, "ws") + "/widget/" + encodeURIComponent(KEY) + "/ws?token=" + encodeURIComponent(stored.token);
    if (lastEventId !== null) url += "&after=" + lastEventId;
    socket = new WebSocket(url);
    socket.onopen = function () {
      retryDelay = 1000;
      if (root) root.dataset.live = "on";
      unsent.splice(0).forEach(function (frame) { socket.send(JSON.stringify(frame)); });
    };
    socket.onmessage = function (message) { onFrame(JSON.parse(message.data)); };
    socket.onclose = function () {
      if (root) root.dataset.live = "off";
      socket = null;
      // Resumes from the last event seen: what arrived meanwhile comes from the help desk's log.
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  function reconnect() {
    lastEventId = null;  // a fresh history: the visitor may see more now
    if (socket) { var old = socket; socket = null; old.onclose = null; old.close(); }
    conversations = {}; activeId = null; log.replaceChildren();
    connect();
  }

  // Sends now; what the visitor wrote (a frame with a ref) waits for the connection when it is still opening.
  function socketSend(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    if (!frame.ref) return false;
    // Pressed again while waiting: the conversation starts once, with what the form holds now.
    if (frame.type === "start") {
      unsent = unsent.filter(function (queued) {
        if (queued.type !== "start") return true;
        delete pending[queued.ref];
        return false;
      });
    }
    unsent.push(frame);
    connect();
    return true;
  }

  function onFrame(frame) {
    if (typeof frame.event_id === "number") lastEventId = Math.max(lastEventId || 0, frame.event_id);
    var handlers = {
      history: function () {
        lastEventId = frame.cursor; visitor = frame.visitor; conversations = {}; log.replaceChildren();
        frame.conversations.forEach(function (c) {
          var conversation = remember(c.id, c);
          c.messages.forEach(function (m) { conversation.messages[m.id] = m; conversation.order.push(m.id); });
        });
        pickActive();
        // Replies that came while the visitor was away wait on the button.
        var active = activeId ? conversations[activeId] : null;
        unread = !active || opened ? 0 : active.order.filter(function (id) {
          var m = active.messages[id]; return m.from === "agent" && !m.read;
        }).length;
        showBadge(); render();
      },
      started: function () {
        visitor = frame.visitor || visitor;
        var conversation = remember(frame.conversation_id, { offline: frame.offline });
        activeId = conversation.id;
        settle(frame.ref, frame.conversation_id, frame.message_id);
        if (frame.offline) notice.replaceChildren(el("p", { "class": "notice", text: t("thanks", { email: visitor.email || "" }) }));
        render();
      },
      sent: function () {
        if (frame.follows_conversation_id) { remember(frame.conversation_id, {}); activeId = frame.conversation_id; }
        settle(frame.ref, frame.conversation_id, frame.message_id);
        render();
      },
      message: function () {
        var conversation = remember(frame.conversation_id, {});
        var m = frame.message;
        if (!conversation.messages[m.id]) { conversation.order.push(m.id); }
        conversation.messages[m.id] = m;
        Object.keys(pending).forEach(function (ref) { if (pending[ref].id === m.id) delete pending[ref]; });
        if (m.from === "agent") {
          typingLine.textContent = "";
          if (!opened || document.visibilityState !== "visible") { unread += 1; showBadge(); }
        }
        if (!activeId) activeId = conversation.id;
        render();
      },
      typing: function () {
        if (frame.conversation_id !== activeId) return;
        typingLine.textContent = frame.name ? t("typing", { name: frame.name }) : t("someoneTyping");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 6000);
      },
      read: function () {
        var conversation = conversations[frame.conversation_id];
        if (!conversation) return;
        frame.message_ids.forEach(function (id) { if (conversation.messages[id]) conversation.messages[id].read = true; });
        render();
      },
      closed: function () {
        remember(frame.conversation_id, {}).closed = true; render();
      },
      reopened: function () {
        remember(frame.conversation_id, {}).closed = false; render();
      },
      error: function () { showError(frame); }
    };
    (handlers[frame.type] || function () {})();
  }

  function remember(id, fields) {
    var conversation = conversations[id] || { id: id, number: null, closed: false, offline: false, messages: {}, order: [] };
    Object.keys(fields).forEach(function (k) { if (k !== "messages" && k !== "id") conversation[k] = fields[k]; });
    conversations[id] = conversation;
    return conversation;
  }

  function pickActive() {
    var ids = Object.keys(conversations).map(Number).sort(function (a, b) { return a - b; });
    var open = ids.filter(function (id) { return !conversations[id].closed; });
    activeId = open.length ? open[open.length - 1] : (ids.length ? ids[ids.length - 1] : null);
  }

  function settle(ref, conversationId, messageId) {
    if (!ref || !pending[ref]) return;
    var conversation = conversations[conversationId];
    if (conversation && conversation.messages[messageId]) delete pending[ref];
    else { pending[ref].id = messageId; pending[ref].conversation = conversationId; pending[ref].state = "sent"; }
  }

  // --- drawing -------------------------------------------------------------------------------
  function bubble(m, conversation) {
    var node = el("li", { "class": "msg " + (m.from === "visitor" ? "visitor" : "agent"), "data-message-id": m.id });
    if (m.from === "agent") {
      node.append(el("span", { "class": "who", text: m.name || t("agent") }));
      var content = el("div", {});
      content.innerHTML = m.html;  // sanitised by the help desk with an allow-list before it was stored
      content.querySelectorAll("a").forEach(function (a) { a.target = "_blank"; a.rel = "noopener noreferrer nofollow"; });
      node.append(content);
    } else {
      node.append(el("span", { "class": "visually-hidden", text: t("you") + ": " }), document.createTextNode(m.text));
      var state = m.read ? "read" : "sent";
      node.append(el("span", { "class": "meta", "data-state": state, "aria-label": t(state), text: (m.read ? "✓✓ " : "✓ ") + t(state) }));
    }
    return node;
  }

  function render() {
    if (!panel || !config) return;
    renderStatus();
    var ids = Object.keys(conversations).map(Number).sort(function (a, b) { return a - b; });
    var items = [];
    ids.forEach(function (id) {
      var conversation = conversations[id];
      if (id !== activeId && conversation.order.length) items.push(el("li", { "class": "separator", text: t("earlier", { number: conversation.number || id }) }));
      conversation.order.forEach(function (messageId) { items.push(bubble(conversation.messages[messageId], conversation)); });
      if (id === activeId) {
        Object.keys(pending).forEach(function (ref) {
          var p = pending[ref];
          if ((p.conversation || activeId) === id && !conversation.messages[p.id]) {
            items.push(el("li", { "class": "msg visitor", "data-pending": ref }, [
              document.createTextNode(p.text), el("span", { "class": "meta", text: t(p.state === "sent" ? "sent" : "sending") })
            ]));
          }
        });
      }
    });
    // Earlier conversations above, the active one last.
    log.replaceChildren.apply(log, items);
    var active = activeId ? conversations[activeId] : null;
    var chatting = active && !active.closed;
    composerBox.hidden = !chatting;
    renderPrechat(!active);
    renderFooter(active);
    var scroller = log.parentNode;
    scroller.scrollTop = scroller.scrollHeight;
    if (opened && document.visibilityState === "visible" && active) markRead(active);
  }

  function markRead(conversation) {
    var agentIds = conversation.order.filter(function (id) { return conversation.messages[id].from === "agent"; });
    if (!agentIds.length) return;
    var last = agentIds[agentIds.length - 1];
    if (conversation.readSent >= last) return;
    if (socketSend({ type: "read", conversation_id: conversation.id, message_id: last })) conversation.readSent = last;
  }

  function field(label, input, errorFor) {
    return el("label", {}, [el("span", { text: label }), input, el("span", { "class": "error", role: "alert", "data-error-for": errorFor })]);
  }

  function renderPrechat(show) {
    if (!show) { prechat.replaceChildren(); return; }
    if (prechat.firstChild) return;  // keep what the visitor typed
    var online = config.online;
    var form = el("form", { novalidate: true });
    var offlineNote = el("p", { "class": "notice", text: t("offlineNote") });
    form.append(el("p", { "class": "greeting", text: config.greeting || t("greeting") }), offlineNote);
    var topicBox = null;
    if (config.topics.length) {
      topicBox = el("fieldset", {}, [el("legend", { text: t("topic") })]);
      config.topics.forEach(function (topic, index) {
        topicBox.append(el("label", { "class": "topic" }, [
          el("input", { type: "radio", name: "topic", value: String(topic.id), checked: index === 0 }), document.createTextNode(topic.label)
        ]));
      });
      form.append(topicBox);
      online = config.topics[0].online;
    }
    var name = el("input", { type: "text", name: "name", autocomplete: "name", maxlength: "200", value: (visitor && visitor.name) || "" });
    var email = el("input", { type: "email", name: "email", autocomplete: "email", maxlength: "320", value: (visitor && visitor.email) || "" });
    var message = el("textarea", { name: "body", rows: "3", maxlength: "5000", required: true });
    var emailLabel = el("span", {});
    var button = el("button", { type: "submit", "class": "primary" });
    function update() {
      var chosen = form.querySelector("input[name=topic]:checked");
      var topic = chosen ? config.topics.filter(function (x) { return String(x.id) === chosen.value; })[0] : null;
      var live = topic ? topic.online : config.online;
      offlineNote.hidden = live;
      emailLabel.textContent = live ? t("email") : t("emailRequired");
      email.required = !live;
      button.textContent = live ? t("start") : t("leave");
    }
    form.addEventListener("change", update);
    if (config.ask_name || !online) form.append(field(t("name"), name, "name"));
    if (config.ask_email || !online || !config.online) {
      var label = el("label", {}, [emailLabel, email, el("span", { "class": "error", role: "alert", "data-error-for": "email" })]);
      if (!(visitor && visitor.email_confirmed)) form.append(label);
    }
    form.append(field(t("message"), message, "body"), el("p", { "class": "error", role: "alert", "data-error-for": "" }), button);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors();
      var chosen = form.querySelector("input[name=topic]:checked");
      var ref = "r" + (++refCounter);
      var frame = { type: "start", body: message.value, name: name.value, ref: ref };
      if (chosen) frame.topic_id = Number(chosen.value);
      if (email.value.trim() && !(visitor && visitor.email_confirmed)) frame.email = email.value.trim();
      pending[ref] = { text: message.value, state: "sending", start: true };
      if (!socketSend(frame)) { delete pending[ref]; showError({ message: t("failed") }); return; }
      button.disabled = true;
      setTimeout(function () { button.disabled = false; }, 3000);
    });
    prechat.replaceChildren(form);
    update();
  }

  function renderFooter(active) {
    footer.replaceChildren();
    if (!visitor) return;
    if (active && active.closed) {
      footer.append(el("p", { text: t("closed") }),
        el("button", { type: "button", "class": "link", text: t("newChat"), onclick: function () { activeId = null; notice.replaceChildren(); render(); focusFirst(); } }));
    }
    if (active) footer.append(el("button", { type: "button", "class": "link", text: t("transcript"), onclick: function () { askTranscript(active.id); } }));
    if (!visitor.email_confirmed) footer.append(el("button", { type: "button", "class": "link", text: t("confirm"), onclick: askConfirmation }));
  }

  function sendMessage() {
    var text = composer.value.trim();
    if (!text || !activeId) return;
    var ref = "m" + (++refCounter);
    pending[ref] = { text: text, state: "sending", conversation: activeId };
    if (!socketSend({ type: "message", conversation_id: activeId, body: text, ref: ref })) {
      delete pending[ref]; showError({ message: t("failed") }); return;
    }
    composer.value = "";
    render();
    composer.focus();
  }

  function clearErrors() {
    shadow.querySelectorAll("[data-error-for]").forEach(function (node) { node.textContent = ""; });
  }

  // The help desk's own words for what the visitor can fix, in the widget's language.
  function explain(error) {
    if (error.code === "invalid" && error.field === "email") return t("bad_email");
    return TEXTS.en[error.code] ? t(error.code) : (error.message || t("failed"));
  }

  function showError(error) {
    error = { ref: error.ref, field: error.field, code: error.code, message: explain(error) };
    if (error.ref && pending[error.ref]) {
      var p = pending[error.ref]; delete pending[error.ref];
      if (!p.start) composer.value = p.text;
    }
    var target = shadow.querySelector('[data-error-for="' + (error.field || "") + '"]') || shadow.querySelector('[data-error-for=""]');
    if (target) target.textContent = error.message || t("failed");
    else notice.replaceChildren(el("p", { "class": "error", role: "alert", text: error.message || t("failed") }));
    render();
  }

  // --- transcript and confirmation -----------------------------------------------------------
  function inlineForm(labelText, input, buttonText, onSubmit) {
    var error = el("p", { "class": "error", role: "alert" });
    var form = el("form", { novalidate: true }, [field(labelText, input, "inline"), error,
      el("div", {}, [el("button", { type: "submit", "class": "primary", text: buttonText }), document.createTextNode(" "),
        el("button", { type: "button", "class": "link", text: t("cancel"), onclick: function () { notice.replaceChildren(); } })])]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      onSubmit().catch(function (e) { error.textContent = explain(e); });
    });
    notice.replaceChildren(form);
    input.focus();
  }

  function askTranscript(conversationId) {
    function send(email) {
      return api("POST", "/widget/" + KEY + "/conversations/" + conversationId + "/transcript", { email: email || null, locale: LANG })
        .then(function (data) { notice.replaceChildren(el("p", { "class": "notice", text: t("transcriptSent", { email: data.email }) })); });
    }
    if (visitor && visitor.email) { send(null).catch(function (e) { showError(e); }); return; }
    var input = el("input", { type: "email", autocomplete: "email", required: true });
    inlineForm(t("transcriptEmail"), input, t("send"), function () { return send(input.value.trim()); });
  }

  function askConfirmation() {
    var input = el("input", { type: "email", autocomplete: "email", required: true, value: (visitor && visitor.email) || "" });
    inlineForm(t("confirmEmail"), input, t("sendCode"), function () {
      var email = input.value.trim();
      return api("POST", "/widget/" + KEY + "/visitors/me/email-code", { email: email, locale: LANG }).then(function () {
        var code = el("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "10", required: true });
        inlineForm(t("code"), code, t("confirmCode"), function () {
          return api("POST", "/widget/" + KEY + "/visitors/me/email-code/confirm", { code: code.value.trim() }).then(function (data) {
            visitor = data.visitor;
            notice.replaceChildren(el("p", { "class": "notice", text: t("confirmed", { email: visitor.email }) }));
            reconnect();  // earlier conversations come with the fresh history
          });
        });
        notice.prepend(el("p", { "class": "notice", text: t("codeSent", { email: email }) }));
      });
    });
  }

  // --- start ---------------------------------------------------------------------------------
  function start() {
    api("GET", "/widget/" + encodeURIComponent(KEY) + "/config").then(function (data) {
      config = data;
      var wanted = config.language !== "auto" ? config.language : (navigator.language || "en").slice(0, 2).toLowerCase();
      LANG = TEXTS[wanted] ? wanted : "en";
      T = TEXTS[LANG];
      build();
      // A returning visitor: their conversation (and anything new in it) is there before they open it.
      if (stored.token) ensureVisitor().then(connect);
      document.addEventListener("visibilitychange", function () { if (opened) render(); });
    }).catch(function (error) {
      console.warn("Okno chat: the widget is not available on this site", error && error.message);
    });
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
