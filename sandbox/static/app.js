/* The sandbox page: channels, Block Kit messages, threads, ephemerals, modals, live updates (SSE). */
"use strict";

(() => {
  const { esc, mrkdwn, textObject } = window.Mrkdwn;
  const $ = (sel) => document.querySelector(sel);

  const state = {
    ws: null,
    users: {},
    channels: {},
    groups: {},
    me: localStorage.getItem("sandbox.me") || "",
    channel: null,
    side: null, // {kind: "thread", ts} | {kind: "pins"} | {kind: "members"}
    unread: new Set(),
    dismissed: new Set(JSON.parse(sessionStorage.getItem("sandbox.dismissed") || "[]")),
    highlight: null,
    pending: 0,
  };

  // ---- HTTP ------------------------------------------------------------------------------------
  async function getJSON(path, params = {}) {
    const qs = new URLSearchParams(params).toString();
    const resp = await fetch(path + (qs ? "?" + qs : ""), { headers: { Accept: "application/json" } });
    return resp.json();
  }

  async function postJSON(path, body) {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await resp.json(); } catch { data = { ok: false, error: `HTTP ${resp.status}` }; }
    return data;
  }

  function toast(text, kind = "info") {
    const el = document.createElement("div");
    el.className = `toast ${kind}`;
    el.textContent = text;
    el.title = "Click to dismiss";
    el.addEventListener("click", () => el.remove());
    $("#toasts").appendChild(el);
    setTimeout(() => el.classList.add("gone"), 4200);
    setTimeout(() => el.remove(), 4800);
  }

  // ---- context for rendering -------------------------------------------------------------------
  function ctx(extra = {}) {
    const me = state.users[state.me];
    return { users: state.users, channels: state.channels, groups: state.groups, me: state.me, tz: me?.tz, ...extra };
  }

  function userOf(id) {
    return state.users[id] || { id, name: id, real_name: id };
  }

  function colorFor(id) {
    let h = 0;
    for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) % 360;
    return `hsl(${h}, 45%, 42%)`;
  }

  function initials(u) {
    const parts = (u.real_name || u.name || "?").split(/\s+/);
    return ((parts[0]?.[0] || "") + (parts[1]?.[0] || "")).toUpperCase() || "?";
  }

  function timeOf(ts) {
    const tz = state.users[state.me]?.tz;
    return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: tz || undefined })
      .format(new Date(Number(ts) * 1000));
  }

  // ---- workspace and sidebar -------------------------------------------------------------------
  async function loadWorkspace() {
    // private channels and DMs come only for their members, as Slack shows them
    const ws = await getJSON("/sandbox/workspace", state.me ? { user: state.me } : {});
    state.ws = ws;
    state.users = Object.fromEntries(ws.users.map((u) => [u.id, u]));
    state.channels = Object.fromEntries(ws.channels.map((c) => [c.id, c]));
    state.groups = Object.fromEntries(ws.usergroups.map((g) => [g.id, g]));
    if (!state.users[state.me] || state.users[state.me].is_bot) {
      state.me = ws.users.find((u) => !u.is_bot)?.id || "";
    }
    if (!state.channel || !state.channels[state.channel]) {
      state.channel = (ws.channels.find((c) => c.name === "incidents") || ws.channels[0])?.id;
    }
    $("#team-name").textContent = ws.team.name;
    renderSidebar();
  }

  function renderSidebar() {
    const ws = state.ws;
    const switcher = $("#user-switcher");
    switcher.innerHTML = ws.users.filter((u) => !u.is_bot).map((u) =>
      `<option value="${esc(u.id)}"${u.id === state.me ? " selected" : ""}>${esc(u.real_name)} (@${esc(u.name)})</option>`
    ).join("");
    const item = (c) => {
      const member = c.members.includes(state.me);
      const cls = [c.id === state.channel ? "active" : "", state.unread.has(c.id) ? "unread" : "",
        c.is_archived ? "archived" : "", member ? "" : "not-member"].join(" ");
      const icon = c.is_im ? "●" : c.is_private ? "🔒" : "#";
      return `<li><a href="#/${esc(c.id)}" class="${cls}" data-channel="${esc(c.id)}">` +
        `<span class="hash">${icon}</span><span class="label">${esc(c.is_im ? ws.bot.name : c.name)}</span></a></li>`;
    };
    const visible = ws.channels.filter((c) => !c.is_private || c.members.includes(state.me));
    const chans = visible.filter((c) => !c.is_im).sort((a, b) => a.name.localeCompare(b.name));
    $("#channel-list").innerHTML = chans.map(item).join("");
    $("#dm-list").innerHTML = visible.filter((c) => c.is_im).map(item).join("") ||
      `<li class="empty">none yet</li>`;
    const bot = ws.bot_url
      ? `<span class="dot ok"></span> bot: <code>${esc(ws.bot_url)}</code>`
      : `<span class="dot off"></span> no bot connected`;
    $("#bot-status").innerHTML = `<div>${bot}</div><div class="muted">@${esc(ws.bot.name)} · ${esc(ws.team.id)}</div>`;
  }

  // ---- messages --------------------------------------------------------------------------------
  function filesHTML(files) {
    return (files || []).map((f) => {
      if ((f.mimetype || "").startsWith("image/")) {
        return `<figure class="file image"><figcaption>${esc(f.title || f.name)}</figcaption>` +
          `<a href="${esc(f.url_private)}" target="_blank" rel="noopener"><img src="${esc(f.url_private)}" alt="${esc(f.alt_txt || f.title || f.name)}"></a></figure>`;
      }
      return `<a class="file doc" href="${esc(f.url_private_download || f.url_private)}">📄 ${esc(f.title || f.name)} <span class="muted">${esc(f.pretty_type || "")}</span></a>`;
    }).join("");
  }

  function reactionsHTML(m) {
    if (!m.reactions?.length) return "";
    return `<div class="reactions">${m.reactions.map((r) => {
      const mine = r.users.includes(state.me) ? " mine" : "";
      const who = r.users.map((u) => "@" + userOf(u).name).join(", ");
      return `<button class="reaction${mine}" data-react="${esc(r.name)}" title="${esc(who)} reacted with :${esc(r.name)}:">` +
        `${window.Mrkdwn.emojify(`:${r.name}:`)} <span>${r.count}</span></button>`;
    }).join("")}</div>`;
  }

  function messageHTML(m, opts = {}) {
    const eph = opts.ephemeral;
    const author = eph ? userOf(m.sender || state.ws.bot.user_id) : userOf(m.user);
    const slackbot = eph && m.sender === "slackbot";
    const isBot = Boolean(m.bot_id) || author.is_bot || eph;
    const name = slackbot ? "Slackbot" : (author.real_name || author.name);
    if (!eph && m.subtype && ["channel_join", "channel_topic", "channel_purpose"].includes(m.subtype)) {
      return `<div class="msg system" data-ts="${esc(m.ts)}"><span class="time">${timeOf(m.ts)}</span>` +
        `<span>${mrkdwn(m.text, ctx())}</span></div>`;
    }
    const content = m.blocks && m.blocks.length ? window.Blocks.render(m.blocks, ctx()) : mrkdwn(m.text, ctx());
    const edited = m.edited ? ` <span class="muted">(edited)</span>` : "";
    const badge = isBot && !slackbot ? `<span class="badge">APP</span>` : "";
    const pinned = m.pinned_to ? `<div class="pinned-label">📌 Pinned by <b>@${esc(state.ws.bot.name)}</b></div>` : "";
    const ephLabel = eph
      ? `<div class="eph-label">👁 Only visible to you · <a href="#" data-dismiss="${esc(m.id)}">Dismiss</a>${m.is_error ? " · <b>error</b>" : ""}</div>`
      : "";
    let thread = "";
    if (!opts.inThread && !eph && m.reply_count) {
      const faces = (m.reply_users || []).slice(0, 4).map((u) => {
        const ru = userOf(u);
        return `<span class="mini-avatar" style="background:${colorFor(u)}" title="@${esc(ru.name)}">${esc(initials(ru))}</span>`;
      }).join("");
      thread = `<button class="thread-link" data-thread="${esc(m.ts)}">${faces}<b>${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}</b>` +
        `<span class="muted">Last reply ${timeOf(m.latest_reply || m.ts)}</span></button>`;
    }
    const bcast = m.subtype === "thread_broadcast" && !opts.inThread
      ? `<div class="muted small">replied to a thread</div>` : "";
    const hover = eph ? "" : `<div class="hover-actions">
        <button data-react="pushpin" title="React with :pushpin:">📌</button>
        <button data-react="eyes" title="React with :eyes:">👀</button>
        <button data-react="white_check_mark" title="React with :white_check_mark:">✅</button>
        ${opts.inThread ? "" : `<button data-thread="${esc(m.thread_ts || m.ts)}" title="Reply in thread">💬</button>`}
      </div>`;
    const cls = ["msg", eph ? "ephemeral" : "", m.is_error ? "error" : "", m.pinned_to ? "pinned" : "",
      state.highlight === m.ts ? "highlight" : ""].join(" ");
    const avatar = isBot
      ? `<div class="avatar bot">${slackbot ? "💬" : "🤖"}</div>`
      : `<div class="avatar" style="background:${colorFor(author.id)}">${esc(initials(author))}</div>`;
    const ids = eph ? `data-eph-id="${esc(m.id)}" data-ts="${esc(m.ts)}"` : `data-ts="${esc(m.ts)}"`;
    return `<div class="${cls}" ${ids} data-channel="${esc(m.channel || state.channel)}">${avatar}
      <div class="body">${pinned}${ephLabel}
        <div class="meta"><span class="name">${esc(name)}</span>${badge}<span class="time" title="${esc(m.ts)}">${timeOf(m.ts)}</span>${edited}</div>
        ${bcast}<div class="content">${content}</div>${filesHTML(m.files)}${reactionsHTML(m)}${thread}
      </div>${hover}</div>`;
  }

  function merge(messages, ephemerals) {
    const items = messages.map((m) => ({ m, eph: false }))
      .concat(ephemerals.filter((e) => !state.dismissed.has(e.id)).map((m) => ({ m, eph: true })));
    return items.sort((a, b) => (a.m.ts < b.m.ts ? -1 : a.m.ts > b.m.ts ? 1 : 0));
  }

  async function loadChannel({ keepScroll = false } = {}) {
    if (!state.channel) return;
    const pane = $("#messages");
    const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
    const data = await getJSON("/sandbox/channel", { channel: state.channel, user: state.me });
    if (!data.ok) { toast(`Channel: ${data.error}`, "error"); return; }
    const c = data.channel;
    state.channels[c.id] = { ...state.channels[c.id], ...c };
    state.unread.delete(c.id);
    const title = c.is_im ? `● ${esc(state.ws.bot.name)}` : `${c.is_private ? "🔒" : "#"} ${esc(c.name)}`;
    $("#channel-name").innerHTML = `${title}${c.is_archived ? ' <span class="muted">(archived)</span>' : ""}`;
    $("#channel-topic").innerHTML = c.topic?.value ? mrkdwn(c.topic.value, ctx()) : `<span class="muted">${esc(c.purpose?.value || "")}</span>`;
    $("#members-button").textContent = `👥 ${c.members.length}`;
    $("#pins-button").textContent = `📌 ${data.pins.length}`;
    $("#bookmarks").innerHTML = (c.bookmarks || []).map((b) =>
      `<a class="bookmark" href="${esc(b.link)}" target="_blank" rel="noopener">${b.emoji ? window.Mrkdwn.emojify(b.emoji) + " " : "🔗 "}${esc(b.title)}</a>`
    ).join("");
    $("#bookmarks").hidden = !(c.bookmarks || []).length;
    const items = merge(data.messages, data.ephemerals);
    state.pins = data.pins;
    pane.innerHTML = items.length
      ? items.map(({ m, eph }) => messageHTML(m, { ephemeral: eph })).join("")
      : `<div class="empty-channel">This is the very beginning of <b>#${esc(c.name)}</b>. ${esc(c.purpose?.value || "")}</div>`;
    $("#composer-input").placeholder = `Message #${c.name} — type / for commands`;
    if (state.highlight) {
      const el = pane.querySelector(`[data-ts="${CSS.escape(state.highlight)}"]`);
      if (el) el.scrollIntoView({ block: "center" });
    } else if (!keepScroll || atBottom || state.stick) {
      pane.scrollTop = pane.scrollHeight;
      $("#jump-latest").hidden = true;
    } else if (pane.scrollHeight - pane.scrollTop - pane.clientHeight > 80) {
      $("#jump-latest").hidden = false;  // something new below the fold
    }
    state.stick = false;
    renderSidebar();
    if (state.side?.kind === "pins") renderPins();
    if (state.side?.kind === "members") renderMembers();
  }

  // ---- side pane: thread, pins, members --------------------------------------------------------
  function openSide(side) {
    state.side = side;
    $("#side-pane").hidden = false;
    $("#thread-composer").hidden = side.kind !== "thread";
    if (side.kind === "thread") loadThread();
    if (side.kind === "pins") renderPins();
    if (side.kind === "members") renderMembers();
  }

  function closeSide() {
    state.side = null;
    $("#side-pane").hidden = true;
  }

  async function loadThread() {
    const side = state.side;
    if (side?.kind !== "thread") return;
    const data = await getJSON("/sandbox/thread", { channel: state.channel, ts: side.ts, user: state.me });
    if (!data.ok) { closeSide(); return; }
    $("#side-title").innerHTML = `Thread <span class="muted">#${esc(state.channels[state.channel]?.name || "")}</span>`;
    const [parent, ...replies] = data.messages;
    const rest = merge(replies, data.ephemerals);
    const body = $("#side-body");
    body.innerHTML = messageHTML(parent, { inThread: true }) +
      `<div class="replies-divider">${replies.length} ${replies.length === 1 ? "reply" : "replies"}</div>` +
      rest.map(({ m, eph }) => messageHTML(m, { ephemeral: eph, inThread: true })).join("");
    body.scrollTop = body.scrollHeight;
  }

  function renderPins() {
    $("#side-title").textContent = "Pinned";
    const pins = state.pins || [];
    $("#side-body").innerHTML = pins.length
      ? pins.map((m) => `<div class="pin-item" data-goto="${esc(m.ts)}">${messageHTML(m, { inThread: true })}</div>`).join("")
      : `<div class="empty">No pinned messages in this channel yet.</div>`;
  }

  function renderMembers() {
    const c = state.channels[state.channel];
    $("#side-title").textContent = `Members · ${c.members.length}`;
    $("#side-body").innerHTML = `<ul class="members">${c.members.map((id) => {
      const u = userOf(id);
      return `<li><span class="mini-avatar" style="background:${colorFor(id)}">${esc(initials(u))}</span>` +
        `<b>${esc(u.real_name)}</b> <span class="muted">@${esc(u.name)}${u.is_bot ? " · app" : ""} · ${esc(u.tz || "")}</span></li>`;
    }).join("")}</ul>`;
  }

  // ---- modals ----------------------------------------------------------------------------------
  async function loadViews() {
    const data = await getJSON("/sandbox/views", { user: state.me });
    const layer = $("#modal-layer");
    const view = (data.views || []).at(-1);
    if (!view) { layer.hidden = true; layer.innerHTML = ""; return; }
    if (layer.dataset.viewId === view.id && layer.dataset.hash === view.hash + JSON.stringify(view.errors)) return;
    layer.dataset.viewId = view.id;
    layer.dataset.hash = view.hash + JSON.stringify(view.errors);
    const errors = view.errors || {};
    const general = errors[""] ? `<div class="field-error general">${esc(errors[""])}</div>` : "";
    layer.innerHTML = `<div class="modal" role="dialog" aria-modal="true" data-view-id="${esc(view.id)}">
      <header><h2>${esc(view.title?.text || "")}</h2><button class="close" data-modal-close title="Close">✕</button></header>
      <div class="modal-body">${general}${window.Blocks.render(view.blocks, ctx({ errors }))}</div>
      <footer>
        <button class="btn" data-modal-close>${esc(view.close?.text || "Cancel")}</button>
        ${view.submit ? `<button class="btn btn-primary" data-modal-submit>${esc(view.submit.text)}</button>` : ""}
      </footer></div>`;
    layer.hidden = false;
    layer.querySelector("input, textarea, select")?.focus();
  }

  function collectValues(root) {
    const values = {};
    root.querySelectorAll("[data-el]").forEach((node) => {
      const entry = window.Blocks.lookup(node.dataset.el);
      if (!entry || !entry.el.action_id || entry.el.type === "button") return;
      let value;
      if (node.matches("select[multiple]")) value = [...node.selectedOptions].map((o) => o.value);
      else if (node.matches("select, input, textarea")) value = node.value === "" ? null : node.value;
      else if (node.classList.contains("choices")) {
        const checked = [...node.querySelectorAll("input:checked")].map((i) => i.value);
        value = entry.el.type === "radio_buttons" ? (checked[0] ?? null) : checked;
      }
      (values[entry.blockId] ||= {})[entry.el.action_id] = value;
    });
    return values;
  }

  async function submitModal(button) {
    const modal = button.closest(".modal");
    button.disabled = true;
    button.classList.add("busy");
    const res = await postJSON("/sandbox/submit", { user: state.me, view_id: modal.dataset.viewId, values: collectValues(modal) });
    button.disabled = false;
    button.classList.remove("busy");
    if (!res.ok && res.error && res.error !== "missing_required") toast(`Submit: ${res.error}`, "error");
    $("#modal-layer").dataset.hash = "";
    await loadViews();
  }

  async function closeModal(button) {
    const modal = button.closest(".modal");
    await postJSON("/sandbox/close_view", { user: state.me, view_id: modal.dataset.viewId });
    await loadViews();
  }

  // ---- confirm dialogs and actions -------------------------------------------------------------
  function confirmDialog(confirm) {
    return new Promise((resolve) => {
      const layer = $("#confirm-layer");
      const styleCls = confirm.style === "danger" ? "btn-danger" : "btn-primary";
      layer.innerHTML = `<div class="modal confirm" role="alertdialog">
        <header><h2>${esc(confirm.title?.text || "Are you sure?")}</h2></header>
        <div class="modal-body">${textObject(confirm.text, ctx())}</div>
        <footer><button class="btn" data-answer="no">${esc(confirm.deny?.text || "Cancel")}</button>
        <button class="btn ${styleCls}" data-answer="yes">${esc(confirm.confirm?.text || "Yes")}</button></footer></div>`;
      layer.hidden = false;
      layer.onclick = (e) => {
        const answer = e.target.closest("[data-answer]")?.dataset.answer;
        if (!answer && e.target !== layer) return;
        layer.hidden = true;
        layer.innerHTML = "";
        resolve(answer === "yes");
      };
    });
  }

  async function runAction(node, selected) {
    const entry = window.Blocks.lookup(node.dataset.el);
    if (!entry) return;
    const el = entry.el;
    if (el.url) window.open(el.url, "_blank", "noopener");
    if (el.confirm && !(await confirmDialog(el.confirm))) return;
    const viewNode = node.closest("[data-view-id]");
    const msgNode = node.closest("[data-ts]");
    const body = { user: state.me, action_id: el.action_id };
    if (viewNode) body.view_id = viewNode.dataset.viewId;
    else if (msgNode) {
      body.channel = msgNode.dataset.channel;
      body.message_ts = msgNode.dataset.ephId || msgNode.dataset.ts;
    } else return;
    if (selected !== undefined) { body.selected_option = selected; body.value = selected; }
    node.classList.add("busy");
    node.disabled = true;
    const res = await postJSON("/sandbox/click", body);
    node.classList.remove("busy");
    node.disabled = false;
    if (!res.ok) toast(`${el.action_id}: ${res.error}${res.detail ? " — " + res.detail : ""}`, "error");
  }

  // ---- composer --------------------------------------------------------------------------------
  // The bot's own usage lines (its command registry, served by `chatops sandbox` at /sandbox/info);
  // a bare sandbox falls back to the manifest's usage hints.
  function commands() {
    const hints = state.info?.hints;
    if (hints && hints.length) return hints;
    return (state.ws?.slash_commands || []).map((c) => ({ ...c, usage: c.usage_hint ? [`${c.command} ${c.usage_hint}`] : [] }));
  }

  function usageFor(cmd, text) {
    const lines = cmd.usage || [];
    const verb = text.slice(cmd.command.length).trim().split(/\s+/)[0] || "";
    const matching = verb ? lines.filter((l) => l.slice(cmd.command.length).trim().startsWith(verb)) : [];
    return (matching.length ? matching : lines).slice(0, 8);
  }

  async function loadInfo() {
    try {
      const res = await fetch("/sandbox/info", { cache: "no-store" });
      state.info = res.ok ? await res.json() : null;
    } catch (err) {
      state.info = null;
    }
    const info = state.info;
    $("#trial").hidden = !(info && info.webhook_url);
    if (!info || !info.webhook_url) return;
    const policy = info.demo_policy ? "demo policy (--config FILE for your own)" : esc(info.policy);
    $("#trial-info").innerHTML =
      `<div>webhook: <code>${esc(info.webhook_url)}</code></div>` +
      `<div>policy: ${info.demo_policy ? policy : `<code>${policy}</code>`}</div>` +
      `<div>keys: <code>${esc(info.prefix)}:</code></div>`;
  }

  async function fireAlerts() {
    const button = $("#fire-alerts");
    button.disabled = true;
    try {
      const res = await postJSON("/sandbox/demo/alerts", {});
      if (res.ok) toast(`Alertmanager sent ${res.notifications} alert groups to the bot: see #alerts-critical and #payments-alerts`);
      else toast(`Demo alerts: ${res.error}${res.detail ? " — " + res.detail : ""}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  function updateHints() {
    const input = $("#composer-input");
    const text = input.value;
    const hints = $("#command-hints");
    const usage = $("#usage-hint");
    if (text.startsWith("/") && !text.includes(" ")) {
      const matches = commands().filter((c) => c.command.startsWith(text));
      hints.innerHTML = matches.map((c, i) =>
        `<div class="hint-row${i === 0 ? " selected" : ""}" data-command="${esc(c.command)}"><b>${esc(c.command)}</b> ` +
        `<span class="usage">${esc((c.usage || [])[0] || "")}</span><div class="muted">${esc(c.description || "")}</div></div>`
      ).join("");
      hints.hidden = matches.length === 0;
      usage.hidden = true;
      return;
    }
    hints.hidden = true;
    const cmd = commands().find((c) => text.startsWith(c.command + " "));
    usage.hidden = !cmd;
    if (cmd) usage.innerHTML = usageFor(cmd, text).map((l) => `<span class="usage">${esc(l)}</span>`).join("");
  }

  function pickHint(command) {
    const input = $("#composer-input");
    input.value = command + " ";
    input.focus();
    updateHints();
  }

  async function send(text, threadTs) {
    const trimmed = text.trim();
    if (!trimmed) return;
    if (trimmed.startsWith("/") && !threadTs) {
      const space = trimmed.indexOf(" ");
      const command = space < 0 ? trimmed : trimmed.slice(0, space);
      const args = space < 0 ? "" : trimmed.slice(space + 1);
      if (!commands().some((c) => c.command === command)) {
        toast(`${command} is not a valid command. In Slack, messages that start with "/" are commands.`, "error");
        return false;
      }
      state.stick = true;
      setPending(+1, `Running ${command}…`);
      try {
        const res = await postJSON("/sandbox/command", { user: state.me, channel: state.channel, command, text: args });
        if (!res.ok) toast(`${command} failed with the error "${res.error}"`, "error");
      } finally {
        setPending(-1);
      }
      return true;
    }
    if (!threadTs) state.stick = true;
    const res = await postJSON("/sandbox/say", { user: state.me, channel: state.channel, text: trimmed, thread_ts: threadTs || undefined });
    if (!res.ts) toast(`Message not sent: ${res.error}`, "error");
    return true;
  }

  function setPending(delta, label) {
    state.pending = Math.max(0, state.pending + delta);
    const form = $("#composer");
    form.classList.toggle("pending", state.pending > 0);
    if (label) form.dataset.label = label;
  }

  // ---- live updates ----------------------------------------------------------------------------
  const scheduled = new Set();
  function schedule(what) {
    if (scheduled.has(what)) return;
    scheduled.add(what);
    setTimeout(async () => {
      scheduled.delete(what);
      try {
        if (what === "workspace") { await loadWorkspace(); await loadChannel({ keepScroll: true }); }
        if (what === "channel") await loadChannel({ keepScroll: true });
        if (what === "thread") await loadThread();
        if (what === "views") await loadViews();
      } catch (err) {
        console.error(`refresh ${what} failed`, err);
      }
    }, 60);
  }

  function connectEvents() {
    const source = new EventSource("/sandbox/events");
    source.onmessage = (e) => {
      const ev = JSON.parse(e.data);
      switch (ev.type) {
        case "reset": state.dismissed.clear(); schedule("workspace"); schedule("views"); closeSide(); break;
        case "channel_created": case "channel_changed": schedule("workspace"); break;
        case "message": case "message_changed": case "message_deleted": case "pin": case "ephemeral":
          if (ev.channel === state.channel) {
            schedule("channel");
            if (state.side?.kind === "thread") schedule("thread");
          } else if (ev.type === "message" && !ev.thread_ts) {
            state.unread.add(ev.channel);
            renderSidebar();
          }
          break;
        case "view_opened": case "view_updated": case "view_closed":
          if (ev.user === state.me) schedule("views");
          break;
        default: break;
      }
    };
    source.addEventListener("hello", () => {
      $("#app").classList.remove("offline");
      if (state.lost) {
        state.lost = false;
        banner("Reconnected: the sandbox was restarted, the page has reloaded its state.", "ok");
        reloadAll().catch((err) => console.error("reload after reconnect failed", err));
      }
    });
    source.onerror = () => {
      $("#app").classList.add("offline");
      if (!state.lost) banner("The sandbox is not answering (stopped or restarting): reconnecting…");
      state.lost = true;
      if (source.readyState === EventSource.CLOSED) {  // the browser gave up: try again ourselves
        setTimeout(connectEvents, 1500);
      }
    };
  }

  function banner(text, kind = "") {
    const el = $("#banner");
    el.textContent = text;
    el.className = kind;
    el.hidden = false;
    clearTimeout(state.bannerTimer);
    if (kind === "ok") state.bannerTimer = setTimeout(() => { el.hidden = true; }, 5000);
  }

  async function reloadAll() {
    await loadWorkspace();
    await loadInfo();
    await loadChannel({ keepScroll: true });
    if (state.side?.kind === "thread") await loadThread();
    await loadViews();
  }

  // ---- routing and events ----------------------------------------------------------------------
  function route() {
    const m = location.hash.match(/^#\/([A-Z0-9]+)(?:\/p(\d{16}))?/);
    if (!m) return false;
    if (state.channels[m[1]]) {
      if (state.channel !== m[1]) closeSide();
      state.channel = m[1];
    }
    state.highlight = m[2] ? `${m[2].slice(0, 10)}.${m[2].slice(10)}` : null;
    return true;
  }

  function bind() {
    window.addEventListener("hashchange", () => { if (route()) loadChannel(); });
    $("#user-switcher").addEventListener("change", async (e) => {
      state.me = e.target.value;
      localStorage.setItem("sandbox.me", state.me);
      toast(`Now acting as @${userOf(state.me).name}`);
      await loadWorkspace(); // another person: other private channels
      await loadChannel();
      if (state.side?.kind === "thread") await loadThread();
      $("#modal-layer").dataset.viewId = "";
      await loadViews();
    });
    $("#composer").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#composer-input");
      const text = input.value;
      input.value = "";
      updateHints();
      const sent = await send(text);
      if (sent === false) input.value = text;
    });
    $("#composer-input").addEventListener("input", updateHints);
    $("#fire-alerts").addEventListener("click", fireAlerts);
    $("#jump-latest").addEventListener("click", () => {
      const pane = $("#messages");
      pane.scrollTop = pane.scrollHeight;
      $("#jump-latest").hidden = true;
    });
    $("#messages").addEventListener("scroll", () => {
      const pane = $("#messages");
      if (pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80) $("#jump-latest").hidden = true;
    });
    $("#composer-input").addEventListener("keydown", (e) => {
      const hints = $("#command-hints");
      if (!hints.hidden && (e.key === "Tab" || e.key === "Enter")) {
        const sel = hints.querySelector(".selected");
        if (sel) { e.preventDefault(); pickHint(sel.dataset.command); return; }
      }
      if (!hints.hidden && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
        e.preventDefault();
        const rows = [...hints.querySelectorAll(".hint-row")];
        const i = rows.findIndex((r) => r.classList.contains("selected"));
        const next = (i + (e.key === "ArrowDown" ? 1 : rows.length - 1)) % rows.length;
        rows.forEach((r, j) => r.classList.toggle("selected", j === next));
        return;
      }
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("#composer").requestSubmit(); }
    });
    $("#command-hints").addEventListener("click", (e) => {
      const row = e.target.closest("[data-command]");
      if (row) pickHint(row.dataset.command);
    });
    $("#thread-composer").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#thread-input");
      const text = input.value;
      input.value = "";
      if (state.side?.kind === "thread") await send(text, state.side.ts);
    });
    $("#thread-input").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("#thread-composer").requestSubmit(); }
    });
    $("#side-close").addEventListener("click", closeSide);
    $("#pins-button").addEventListener("click", () => openSide({ kind: "pins" }));
    $("#members-button").addEventListener("click", () => openSide({ kind: "members" }));

    document.addEventListener("click", async (e) => {
      const t = e.target;
      const dismiss = t.closest("[data-dismiss]");
      if (dismiss) {
        e.preventDefault();
        state.dismissed.add(dismiss.dataset.dismiss);
        sessionStorage.setItem("sandbox.dismissed", JSON.stringify([...state.dismissed]));
        loadChannel({ keepScroll: true });
        if (state.side?.kind === "thread") loadThread();
        return;
      }
      const threadBtn = t.closest("[data-thread]");
      if (threadBtn) { openSide({ kind: "thread", ts: threadBtn.dataset.thread }); return; }
      const react = t.closest("[data-react]");
      if (react) {
        const msg = react.closest("[data-ts]");
        const res = await postJSON("/sandbox/react", { user: state.me, channel: msg.dataset.channel, ts: msg.dataset.ts, name: react.dataset.react });
        if (!res.ok && res.error !== "already_reacted") toast(`Reaction: ${res.error}`, "error");
        if (res.error === "already_reacted") toast(`You already reacted with :${react.dataset.react}:`);
        return;
      }
      const goto = t.closest("[data-goto]");
      if (goto && !t.closest("button, a, select")) { location.hash = `#/${state.channel}/p${goto.dataset.goto.replace(".", "")}`; return; }
      if (t.closest("[data-modal-submit]")) { submitModal(t.closest("[data-modal-submit]")); return; }
      if (t.closest("[data-modal-close]")) { closeModal(t.closest("[data-modal-close]")); return; }
      const button = t.closest("button[data-el]");
      if (button) runAction(button);
    });
    document.addEventListener("change", (e) => {
      const sel = e.target.closest("select[data-el]");
      if (!sel || sel.multiple) return;
      const entry = window.Blocks.lookup(sel.dataset.el);
      // Selects inside modal input blocks are read on submit; elsewhere they act at once, like Slack.
      if (sel.closest(".b-input")) return;
      if (entry) runAction(sel, sel.value);
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !$("#confirm-layer").hidden) $("#confirm-layer").click();
    });
  }

  async function main() {
    bind();
    await loadWorkspace();
    await loadInfo();
    route();
    await loadChannel();
    await loadViews();
    connectEvents();
    $("#composer-input").focus();
  }

  main().catch((err) => {
    console.error(err);
    toast(`The page could not load the workspace: ${err}`, "error");
  });
})();
