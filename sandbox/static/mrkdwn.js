/* Slack mrkdwn → HTML: escaping first, tokens (<@U…>, <#C…>, <url|text>, <!date^…>) as placeholders. */
"use strict";

const EMOJI = {
  pushpin: "📌", eyes: "👀", white_check_mark: "✅", heavy_check_mark: "✔️", "+1": "👍", thumbsup: "👍",
  fire: "🔥", rotating_light: "🚨", warning: "⚠️", red_circle: "🔴", large_green_circle: "🟢",
  large_yellow_circle: "🟡", large_orange_circle: "🟠", large_blue_circle: "🔵", white_circle: "⚪",
  hourglass: "⌛", hourglass_flowing_sand: "⏳", tada: "🎉", sos: "🆘", mag: "🔍", bell: "🔔",
  chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉", x: "❌", memo: "📝",
  speech_balloon: "💬", robot_face: "🤖", rocket: "🚀", construction: "🚧", arrow_up: "⬆️",
  arrow_down: "⬇️", stopwatch: "⏱️", pager: "📟", link: "🔗", clipboard: "📋",
  busts_in_silhouette: "👥", bust_in_silhouette: "👤", information_source: "ℹ️", no_entry: "⛔",
  skull: "💀", book: "📖", books: "📚", wrench: "🔧", hammer_and_wrench: "🛠️", gear: "⚙️",
  satellite: "📡", mega: "📣", loudspeaker: "📢", calendar: "📅", clock1: "🕐", lock: "🔒",
  unlock: "🔓", package: "📦", ambulance: "🚑", fire_engine: "🚒", checkered_flag: "🏁",
  arrows_counterclockwise: "🔄", repeat: "🔁", zap: "⚡", bulb: "💡", question: "❓",
  exclamation: "❗", heavy_plus_sign: "➕", heavy_minus_sign: "➖", point_right: "👉", wave: "👋",
  raised_hands: "🙌", pray: "🙏", muscle: "💪", thinking_face: "🤔", sweat_smile: "😅",
  slightly_smiling_face: "🙂", scroll: "📜", label: "🏷️", triangular_flag_on_post: "🚩",
  large_red_square: "🟥", large_green_square: "🟩", large_yellow_square: "🟨", black_circle: "⚫",
  bar_chart: "📊", spiral_note_pad: "🗒️", page_facing_up: "📄", pushpin_round: "📍", round_pushpin: "📍",
};

function esc(s) {
  return String(s ?? "")
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function unescapeSlack(s) {
  return String(s ?? "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emojify(text) {
  return text.replace(/:([a-z0-9_+\-]+):/g, (m, name) => EMOJI[name] ?? m);
}

function safeUrl(url) {
  const u = String(url).trim();
  if (/^(https?:|mailto:|\/|#)/i.test(u)) return u;
  return "#";
}

const DateFmt = {
  parts(epoch, tz) {
    const d = new Date(epoch * 1000);
    const opt = (o) => new Intl.DateTimeFormat("en-US", { timeZone: tz || undefined, ...o }).format(d);
    return { d, opt };
  },
  dayDiff(epoch, tz) {
    const key = (date) => new Intl.DateTimeFormat("en-CA", { timeZone: tz || undefined }).format(date);
    const a = new Date(key(new Date(epoch * 1000)) + "T00:00:00Z");
    const b = new Date(key(new Date()) + "T00:00:00Z");
    return Math.round((a - b) / 86400000);
  },
  format(epoch, fmt, tz) {
    const { opt } = DateFmt.parts(epoch, tz);
    const pretty = (fallback) => {
      const diff = DateFmt.dayDiff(epoch, tz);
      return diff === 0 ? "today" : diff === -1 ? "yesterday" : diff === 1 ? "tomorrow" : fallback;
    };
    const date = opt({ month: "long", day: "numeric", year: "numeric" });
    const dateShort = opt({ month: "short", day: "numeric", year: "numeric" });
    const dateLong = opt({ weekday: "long", month: "long", day: "numeric", year: "numeric" });
    const time = opt({ hour: "2-digit", minute: "2-digit", hour12: false });
    const timeSecs = opt({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    const dateNum = new Intl.DateTimeFormat("en-CA", { timeZone: tz || undefined }).format(new Date(epoch * 1000));
    const ago = () => {
      const s = Math.round(Date.now() / 1000 - epoch);
      const abs = Math.abs(s);
      const unit = abs < 60 ? [abs, "second"] : abs < 3600 ? [Math.round(abs / 60), "minute"]
        : abs < 86400 ? [Math.round(abs / 3600), "hour"] : [Math.round(abs / 86400), "day"];
      const text = `${unit[0]} ${unit[1]}${unit[0] === 1 ? "" : "s"}`;
      return s >= 0 ? `${text} ago` : `in ${text}`;
    };
    return fmt
      .replace(/\{date_num\}/g, dateNum)
      .replace(/\{date_short_pretty\}/g, pretty(dateShort))
      .replace(/\{date_long_pretty\}/g, pretty(dateLong))
      .replace(/\{date_pretty\}/g, pretty(date))
      .replace(/\{date_short\}/g, dateShort)
      .replace(/\{date_long\}/g, dateLong)
      .replace(/\{date\}/g, date)
      .replace(/\{time_secs\}/g, timeSecs)
      .replace(/\{time\}/g, time)
      .replace(/\{ago\}/g, ago());
  },
};

/* ctx: { users: {id: user}, channels: {id: channel}, groups: {id: group}, tz } */
function renderToken(inner, ctx) {
  const [target, label] = (() => {
    const i = inner.indexOf("|");
    return i < 0 ? [inner, null] : [inner.slice(0, i), inner.slice(i + 1)];
  })();
  if (target.startsWith("@")) {
    const u = ctx.users[target.slice(1)];
    const name = u ? u.name : (label || target.slice(1));
    return `<span class="mention${u && ctx.me === u.id ? " me" : ""}">@${esc(name)}</span>`;
  }
  if (target.startsWith("#")) {
    const c = ctx.channels[target.slice(1)];
    const name = c ? c.name : (label || target.slice(1));
    return `<a class="mention channel" href="#/${esc(target.slice(1))}">#${esc(name)}</a>`;
  }
  if (target.startsWith("!subteam^")) {
    const g = ctx.groups[target.slice(9)];
    return `<span class="mention">${esc(g ? "@" + g.handle : (label || "@group"))}</span>`;
  }
  if (target.startsWith("!date^")) {
    const [, epoch, fmt, link] = target.split("^");
    const text = DateFmt.format(Number(epoch), fmt || "{date} {time}", ctx.tz);
    const title = new Date(Number(epoch) * 1000).toISOString();
    const span = `<time title="${esc(title)}">${esc(text)}</time>`;
    return link ? `<a href="${esc(safeUrl(link))}" target="_blank" rel="noopener">${span}</a>` : span;
  }
  if (target === "!here" || target === "!channel" || target === "!everyone") {
    return `<span class="mention broadcast">@${target.slice(1)}</span>`;
  }
  const url = unescapeSlack(target);
  return `<a href="${esc(safeUrl(url))}" target="_blank" rel="noopener">${esc(unescapeSlack(label ?? url))}</a>`;
}

function mrkdwn(text, ctx, { plain = false } = {}) {
  if (plain) return emojify(esc(unescapeSlack(text))).replace(/\n/g, "<br>");
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let s = String(text ?? "");
  s = s.replace(/```([\s\S]*?)```/g, (m, code) => hold(`<pre>${esc(unescapeSlack(code.replace(/^\n/, "")))}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (m, code) => hold(`<code>${esc(unescapeSlack(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (m, inner) => hold(renderToken(inner, ctx)));
  s = esc(unescapeSlack(s));
  s = s.replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?!\w)/g, "$1<b>$2</b>");
  s = s.replace(/(^|[^\w])_(?!\s)([^_\n]+?)_(?!\w)/g, "$1<i>$2</i>");
  s = s.replace(/(^|[^\w~])~(?!\s)([^~\n]+?)~(?!\w)/g, "$1<s>$2</s>");
  s = s.replace(/(^|\n)&gt; ?([^\n]*)/g, "$1<blockquote>$2</blockquote>");
  s = emojify(s).replace(/\n/g, "<br>").replace(/<\/blockquote><br>/g, "</blockquote>");
  return s.replace(/\u0000(\d+)\u0000/g, (m, i) => held[Number(i)]);
}

function textObject(obj, ctx) {
  if (!obj) return "";
  return obj.type === "mrkdwn" ? mrkdwn(obj.text, ctx) : mrkdwn(obj.text, ctx, { plain: true });
}

window.Mrkdwn = { esc, mrkdwn, textObject, emojify, EMOJI, DateFmt };
