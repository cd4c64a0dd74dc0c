/* The App Home tab and the app's shortcuts, as in Slack: a "Home" entry in the sidebar opens the
   app's Home (app_home_opened is delivered, the published home view is shown and kept current), a
   ⚡ button lists the global shortcuts, and each message's hover menu gets ⋮ with the message
   shortcuts. Separate from app.js: it reads the acting user from the page and talks to
   /sandbox/home*, /sandbox/shortcut(s) only. */
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);
  const esc = (s) => window.Mrkdwn.esc(String(s ?? ""));
  const home = { open: false, shortcuts: [], ws: null };

  async function getJSON(path, params = {}) {
    const qs = new URLSearchParams(params).toString();
    const resp = await fetch(path + (qs ? "?" + qs : ""), { headers: { Accept: "application/json" } });
    return resp.json();
  }

  async function postJSON(path, body) {
    const resp = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    try { return await resp.json(); } catch { return { ok: false, error: `HTTP ${resp.status}` }; }
  }

  const me = () => $("#user-switcher")?.value || "";

  function note(text, kind = "info") {
    const box = $("#toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = `toast ${kind}`;
    el.textContent = text;
    el.addEventListener("click", () => el.remove());
    box.appendChild(el);
    setTimeout(() => el.remove(), 4800);
  }

  function renderCtx() {
    const ws = home.ws || { users: [], channels: [], usergroups: [] };
    const users = Object.fromEntries(ws.users.map((u) => [u.id, u]));
    return {
      users,
      channels: Object.fromEntries(ws.channels.map((c) => [c.id, c])),
      groups: Object.fromEntries(ws.usergroups.map((g) => [g.id, g])),
      me: me(),
      tz: users[me()]?.tz,
    };
  }

  // ---- the Home tab ----------------------------------------------------------------------------
  function pane() {
    let el = $("#home-pane");
    if (!el) {
      el = document.createElement("section");
      el.id = "home-pane";
      el.hidden = true;
      el.setAttribute("aria-label", "App Home");
      $("#main").appendChild(el);
      el.addEventListener("click", onHomeClick);
    }
    return el;
  }

  async function render() {
    if (!home.open) return;
    const data = await getJSON("/sandbox/home", { user: me() });
    const view = data.ok ? data.view : null;
    const body = view
      ? window.Blocks.render(view.blocks || [], renderCtx())
      : `<div class="home-empty">The app has not published a Home for you yet…</div>`;
    pane().innerHTML = `<header class="home-head"><h1>🏠 Home</h1><button class="close" data-home-close title="Close">✕</button></header>` +
      `<div class="home-body" data-home-view="${esc(view?.id || "")}">${body}</div>`;
  }

  async function openHome() {
    home.open = true;
    home.ws = await getJSON("/sandbox/workspace");
    pane().hidden = false;
    $("#home-link")?.classList.add("active");
    await render();
    const res = await postJSON("/sandbox/home/open", { user: me(), tab: "home" });
    if (!res.ok) note(`Home: ${res.error}`, "error");
  }

  function closeHome() {
    home.open = false;
    pane().hidden = true;
    $("#home-link")?.classList.remove("active");
  }

  async function onHomeClick(e) {
    if (e.target.closest("[data-home-close]")) { closeHome(); return; }
    const node = e.target.closest("button[data-el]");
    if (!node) return;
    e.stopPropagation();  // a Home click is not a message's (app.js handles those)
    const entry = window.Blocks.lookup(node.dataset.el);
    if (!entry?.el?.action_id) return;
    node.disabled = true;
    const res = await postJSON("/sandbox/home/click", { user: me(), action_id: entry.el.action_id, value: entry.el.value });
    node.disabled = false;
    if (!res.ok) note(`${entry.el.action_id}: ${res.error}`, "error");
  }

  // ---- shortcuts -------------------------------------------------------------------------------
  function menu(anchor, items, pick) {
    document.querySelector(".shortcut-menu")?.remove();
    if (!items.length) { note("The app declares no shortcuts of this kind in its manifest."); return; }
    const el = document.createElement("div");
    el.className = "shortcut-menu";
    el.innerHTML = items.map((s, i) =>
      `<button type="button" data-i="${i}"><b>${esc(s.name)}</b><span>${esc(s.description)}</span></button>`).join("");
    const r = anchor.getBoundingClientRect();
    el.style.top = `${Math.min(r.bottom + 4, window.innerHeight - 160)}px`;
    el.style.left = `${Math.max(8, Math.min(r.left, window.innerWidth - 300))}px`;
    el.addEventListener("click", (e) => {
      const b = e.target.closest("[data-i]");
      if (!b) return;
      el.remove();
      pick(items[Number(b.dataset.i)]);
    });
    document.body.appendChild(el);
    setTimeout(() => document.addEventListener("click", () => el.remove(), { once: true }), 0);
  }

  async function useShortcut(s, channel, ts) {
    const body = { user: me(), callback_id: s.callback_id };
    if (channel && ts) Object.assign(body, { channel, message_ts: ts });
    const res = await postJSON("/sandbox/shortcut", body);
    if (!res.ok) note(`${s.name}: ${res.error}`, "error");
  }

  function addMessageMenus(root) {
    root.querySelectorAll(".msg[data-ts]:not(.ephemeral) .hover-actions").forEach((bar) => {
      if (bar.querySelector(".msg-shortcuts")) return;
      const b = document.createElement("button");
      b.className = "msg-shortcuts";
      b.title = "More actions (message shortcuts)";
      b.textContent = "⋮";
      bar.appendChild(b);
    });
  }

  function onMessageMenu(e) {
    const b = e.target.closest(".msg-shortcuts");
    if (!b) return;
    e.stopPropagation();
    const msg = b.closest(".msg[data-ts]");
    const items = home.shortcuts.filter((s) => s.type === "message");
    menu(b, items, (s) => useShortcut(s, msg.dataset.channel, msg.dataset.ts));
  }

  // ---- wiring ----------------------------------------------------------------------------------
  function style() {
    const css = document.createElement("style");
    css.textContent = `
      #main { position: relative; }
      #home-pane { position: absolute; inset: 0; background: #fff; overflow-y: auto; z-index: 5; }
      #home-pane[hidden] { display: none; }
      .home-head { display: flex; justify-content: space-between; align-items: center; padding: 10px 20px; border-bottom: 1px solid #ddd; }
      .home-head h1 { font-size: 18px; margin: 0; }
      .home-body { padding: 12px 20px 40px; max-width: 900px; }
      .home-empty { color: #616061; padding: 24px 0; }
      #home-link, #shortcuts-link { display: block; width: 100%; text-align: left; padding: 4px 16px; border: 0; background: transparent; color: inherit; cursor: pointer; font: inherit; }
      #home-link.active { background: #1164a3; color: #fff; }
      .shortcut-menu { position: fixed; z-index: 50; background: #fff; border: 1px solid #ccc; border-radius: 6px; box-shadow: 0 4px 12px rgba(0,0,0,.2); min-width: 260px; padding: 4px 0; }
      .shortcut-menu button { display: block; width: 100%; text-align: left; border: 0; background: transparent; padding: 6px 12px; cursor: pointer; }
      .shortcut-menu button:hover { background: #1164a3; color: #fff; }
      .shortcut-menu span { display: block; font-size: 12px; opacity: .8; }`;
    document.head.appendChild(css);
  }

  function sidebarEntries() {
    const nav = $("#sidebar nav");
    if (!nav || $("#home-link")) return;
    const wrap = document.createElement("div");
    wrap.innerHTML = `<button type="button" id="home-link" title="The app's Home tab">🏠 Home</button>` +
      `<button type="button" id="shortcuts-link" title="Global shortcuts">⚡ Shortcuts</button>`;
    nav.prepend(wrap);
    $("#home-link").addEventListener("click", () => (home.open ? closeHome() : openHome()));
    $("#shortcuts-link").addEventListener("click", (e) => {
      e.stopPropagation();
      menu(e.currentTarget, home.shortcuts.filter((s) => s.type === "global"), (s) => useShortcut(s));
    });
  }

  function listen() {
    const source = new EventSource("/sandbox/events");
    source.onmessage = (e) => {
      const ev = JSON.parse(e.data);
      if (ev.type === "home_published" && ev.user === me()) render();
    };
    $("#user-switcher")?.addEventListener("change", () => { if (home.open) openHome(); });
    document.addEventListener("click", onMessageMenu, true);
    window.addEventListener("hashchange", closeHome);
    document.addEventListener("click", (e) => { if (e.target.closest("#channel-list a, #dm-list a")) closeHome(); });
    const observer = new MutationObserver(() => { addMessageMenus(document); });
    ["#messages", "#side-body"].forEach((sel) => { if ($(sel)) observer.observe($(sel), { childList: true, subtree: true }); });
    addMessageMenus(document);
  }

  async function main() {
    style();
    sidebarEntries();
    pane();
    listen();
    const data = await getJSON("/sandbox/shortcuts");
    home.shortcuts = data.ok ? data.shortcuts : [];
  }

  main().catch((err) => console.error("home.js", err));
})();
