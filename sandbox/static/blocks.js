/* Block Kit → HTML. Interactive elements get data-el="<n>" pointing into Blocks.registry. */
"use strict";

const Blocks = (() => {
  const { esc, mrkdwn, textObject } = window.Mrkdwn;
  let registry = new Map();
  let counter = 0;

  function reset() { registry = new Map(); counter = 0; }
  function register(el, blockId) {
    const id = String(++counter);
    registry.set(id, { el, blockId });
    return id;
  }

  function option(opt, selected) {
    const text = opt.text?.text ?? opt.value;
    return `<option value="${esc(opt.value)}"${selected ? " selected" : ""}>${esc(text)}</option>`;
  }

  function allOptions(el) {
    const opts = [...(el.options || [])];
    for (const g of el.option_groups || []) opts.push(...(g.options || []));
    return opts;
  }

  function element(el, blockId, ctx, inInput = false) {
    if (!el) return "";
    const id = register(el, blockId);
    const aid = esc(el.action_id || "");
    switch (el.type) {
      case "button": {
        const style = el.style ? ` btn-${esc(el.style)}` : "";
        const label = mrkdwn(el.text?.text ?? "", ctx, { plain: true });
        return `<button type="button" class="btn${style}" data-el="${id}" data-action-id="${aid}">${label}</button>`;
      }
      case "static_select":
      case "external_select":
      case "overflow": {
        const placeholder = el.type === "overflow" ? "⋯" : (el.placeholder?.text ?? "Select an item");
        const initial = el.initial_option?.value;
        const opts = allOptions(el).map((o) => option(o, o.value === initial)).join("");
        const cls = el.type === "overflow" ? "select overflow" : "select";
        return `<select class="${cls}" data-el="${id}" data-action-id="${aid}">` +
          `<option value="" disabled${initial ? "" : " selected"}>${esc(placeholder)}</option>${opts}</select>`;
      }
      case "users_select":
      case "conversations_select":
      case "channels_select": {
        const isUser = el.type === "users_select";
        const items = isUser
          ? Object.values(ctx.users).filter((u) => !u.is_bot).map((u) => [u.id, `@${u.name} · ${u.real_name}`])
          : Object.values(ctx.channels).filter((c) => !c.is_im).map((c) => [c.id, `#${c.name}`]);
        const initial = el.initial_user || el.initial_conversation || el.initial_channel;
        const opts = items.map(([v, t]) => `<option value="${esc(v)}"${v === initial ? " selected" : ""}>${esc(t)}</option>`).join("");
        const ph = el.placeholder?.text ?? (isUser ? "Select a person" : "Select a channel");
        return `<select class="select" data-el="${id}" data-action-id="${aid}">` +
          `<option value="" disabled${initial ? "" : " selected"}>${esc(ph)}</option>${opts}</select>`;
      }
      case "plain_text_input":
      case "email_text_input":
      case "url_text_input":
      case "number_input": {
        const ph = el.placeholder?.text ? ` placeholder="${esc(el.placeholder.text)}"` : "";
        const val = esc(el.initial_value ?? "");
        if (el.multiline) {
          return `<textarea class="input" rows="4" data-el="${id}" data-action-id="${aid}"${ph}>${val}</textarea>`;
        }
        const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[el.type] || "text";
        return `<input class="input" type="${type}" value="${val}" data-el="${id}" data-action-id="${aid}"${ph}>`;
      }
      case "datepicker":
        return `<input class="input" type="date" value="${esc(el.initial_date ?? "")}" data-el="${id}" data-action-id="${aid}">`;
      case "timepicker":
        return `<input class="input" type="time" value="${esc(el.initial_time ?? "")}" data-el="${id}" data-action-id="${aid}">`;
      case "checkboxes":
      case "radio_buttons": {
        const type = el.type === "checkboxes" ? "checkbox" : "radio";
        const initial = new Set([...(el.initial_options || []), ...(el.initial_option ? [el.initial_option] : [])].map((o) => o.value));
        const name = `g${id}`;
        return `<div class="choices" data-el="${id}" data-action-id="${aid}">` + (el.options || []).map((o) =>
          `<label><input type="${type}" name="${name}" value="${esc(o.value)}"${initial.has(o.value) ? " checked" : ""}> ${textObject(o.text, ctx)}</label>`
        ).join("") + "</div>";
      }
      case "image":
        return `<img class="el-image" src="${esc(el.image_url || "")}" alt="${esc(el.alt_text || "")}">`;
      case "multi_static_select":
      case "multi_users_select": {
        const opts = el.type === "multi_users_select"
          ? Object.values(ctx.users).filter((u) => !u.is_bot).map((u) => ({ value: u.id, text: { text: "@" + u.name } }))
          : allOptions(el);
        return `<select multiple class="select multi" data-el="${id}" data-action-id="${aid}">${opts.map((o) => option(o, false)).join("")}</select>`;
      }
      default:
        return `<span class="unsupported">[${esc(el.type)}]</span>`;
    }
  }

  function block(b, ctx) {
    const bid = b.block_id || "";
    const attrs = `data-block-id="${esc(bid)}"`;
    switch (b.type) {
      case "header":
        return `<div class="b-header" ${attrs}>${mrkdwn(b.text?.text ?? "", ctx, { plain: true })}</div>`;
      case "section": {
        const text = b.text ? `<div class="b-text">${textObject(b.text, ctx)}</div>` : "";
        const fields = b.fields
          ? `<div class="b-fields">${b.fields.map((f) => `<div class="b-field">${textObject(f, ctx)}</div>`).join("")}</div>`
          : "";
        const acc = b.accessory
          ? `<div class="b-accessory">${b.accessory.type === "image"
            ? `<img class="acc-image" src="${esc(b.accessory.image_url)}" alt="${esc(b.accessory.alt_text || "")}">`
            : element(b.accessory, bid, ctx)}</div>`
          : "";
        return `<div class="b-section" ${attrs}><div class="b-main">${text}${fields}</div>${acc}</div>`;
      }
      case "divider":
        return `<hr class="b-divider" ${attrs}>`;
      case "image": {
        const title = b.title ? `<div class="b-image-title">${esc(b.title.text)}</div>` : "";
        return `<figure class="b-image" ${attrs}>${title}<img src="${esc(b.image_url || "")}" alt="${esc(b.alt_text || "")}"></figure>`;
      }
      case "context":
        return `<div class="b-context" ${attrs}>${(b.elements || []).map((e) => e.type === "image"
          ? `<img class="ctx-image" src="${esc(e.image_url)}" alt="${esc(e.alt_text || "")}">`
          : `<span>${textObject(e, ctx)}</span>`).join("")}</div>`;
      case "actions":
        return `<div class="b-actions" ${attrs}>${(b.elements || []).map((e) => element(e, bid, ctx)).join("")}</div>`;
      case "input": {
        const optional = b.optional ? ` <span class="optional">(optional)</span>` : "";
        const hint = b.hint ? `<div class="hint">${esc(b.hint.text)}</div>` : "";
        const err = ctx.errors && ctx.errors[bid] ? `<div class="field-error">${esc(ctx.errors[bid])}</div>` : "";
        return `<div class="b-input${err ? " has-error" : ""}" ${attrs}><label class="label">${esc(b.label?.text ?? "")}${optional}</label>` +
          `${element(b.element, bid, ctx, true)}${hint}${err}</div>`;
      }
      case "markdown":
        return `<div class="b-text" ${attrs}>${mrkdwn(b.text ?? "", ctx)}</div>`;
      case "rich_text":
        return `<div class="b-text" ${attrs}>${richText(b, ctx)}</div>`;
      default:
        return `<div class="unsupported" ${attrs}>[unsupported block: ${esc(b.type)}]</div>`;
    }
  }

  function richText(b, ctx) {
    const inline = (els) => (els || []).map((e) => {
      if (e.type === "text") {
        let t = esc(e.text).replace(/\n/g, "<br>");
        if (e.style?.bold) t = `<b>${t}</b>`;
        if (e.style?.italic) t = `<i>${t}</i>`;
        if (e.style?.code) t = `<code>${t}</code>`;
        return t;
      }
      if (e.type === "link") return `<a href="${esc(e.url)}" target="_blank" rel="noopener">${esc(e.text || e.url)}</a>`;
      if (e.type === "user") return mrkdwn(`<@${e.user_id}>`, ctx);
      if (e.type === "channel") return mrkdwn(`<#${e.channel_id}>`, ctx);
      if (e.type === "emoji") return window.Mrkdwn.emojify(`:${e.name}:`);
      return "";
    }).join("");
    return (b.elements || []).map((s) => {
      if (s.type === "rich_text_preformatted") return `<pre>${inline(s.elements)}</pre>`;
      if (s.type === "rich_text_quote") return `<blockquote>${inline(s.elements)}</blockquote>`;
      if (s.type === "rich_text_list") return `<ul>${(s.elements || []).map((i) => `<li>${inline(i.elements)}</li>`).join("")}</ul>`;
      return inline(s.elements);
    }).join("");
  }

  function render(blocks, ctx) {
    return (blocks || []).map((b) => block(b, ctx)).join("");
  }

  return { render, reset, lookup: (id) => registry.get(id), allOptions };
})();

window.Blocks = Blocks;
