"""Slack's text, taken for what it is: one decoder for everything people type, two renderings.

Slack sends text (slash commands, messages, events) with ``&``, ``<`` and ``>`` as ``&amp;``,
``&lt;`` and ``&gt;``; with ``should_escape`` (our manifest) a typed ``@carol`` arrives as
``<@U123|carol>``, ``#incidents`` as ``<#C123|incidents>``, ``@sre-oncall`` as
``<!subteam^S123|@sre-oncall>``, a URL as ``<https://…>`` or ``<https://…|label>`` and ``@here`` as
``<!here>`` (https://api.slack.com/reference/surfaces/formatting,
https://api.slack.com/interactivity/slash-commands "Escaping"). That encoded form is the bot's
*Slack text*: what the parsers split, what the store keeps for free text (status updates, notes,
reasons, summaries, action items), what :func:`mrkdwn` renders for messages and :func:`plain` for
``plain_text`` fields, topics and channel names. Text that Slack never encoded (a modal's
``plain_text_input``) becomes Slack text with :func:`from_input`.

Longer than 400 lines because the decoder, both renderings and the person lookup share one token
model; splitting them would spread one grammar over several files.

Decoding never fails: a ``<`` that opens no token and an ``&`` that starts no entity are kept as
the characters they are, so any string renders safely. A typed ``@name`` that Slack did not encode
is a :class:`NameRef`, resolved to a person with :func:`find_person` (users.list: name, display
name, real name, e-mail).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)

BROADCASTS = ("here", "channel", "everyone", "group")  # "group" is Slack's old synonym of channel

_TOKEN = re.compile(r"<([^<>\n]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:\S+")
# a typed @name: not inside a word or an e-mail address; Slack's name characters
_NAME_REF = re.compile(r"(?<![\w@.&])@([a-zA-Z0-9][a-zA-Z0-9._\-]*)")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def escape(text: str) -> str:
    """Slack's three entities; the only escaping Slack asks for."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


# ---- the typed form --------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """Plain characters, decoded (``R&D``, not ``R&amp;D``)."""

    text: str


@dataclass(frozen=True)
class UserMention:
    user_id: str
    label: str | None = None


@dataclass(frozen=True)
class ChannelMention:
    channel_id: str
    label: str | None = None


@dataclass(frozen=True)
class GroupMention:
    group_id: str
    label: str | None = None  # Slack's label is the handle with its @


@dataclass(frozen=True)
class Link:
    url: str
    label: str | None = None


@dataclass(frozen=True)
class Broadcast:
    """``<!here>``, ``<!channel>``, ``<!everyone>``: never sent back live."""

    kind: str


@dataclass(frozen=True)
class DateToken:
    """``<!date^…|fallback>``: the bot's own date tokens inside stored text."""

    raw: str
    fallback: str


@dataclass(frozen=True)
class NameRef:
    """A typed ``@name`` Slack did not encode: a person to look up."""

    name: str


Segment = Union[Words, UserMention, ChannelMention, GroupMention, Link, Broadcast, DateToken, NameRef]  # noqa: UP007


def _split_label(inner: str) -> tuple[str, str | None]:
    target, bar, label = inner.partition("|")
    return target, (label if bar else None)


def _token(inner: str) -> Segment | None:
    target, label = _split_label(inner)
    label = _unescape(label) if label is not None else None
    if target.startswith("@") and _USER_ID.fullmatch(target[1:]):
        return UserMention(target[1:], label)
    if target.startswith("#") and _CHANNEL_ID.fullmatch(target[1:]):
        return ChannelMention(target[1:], label)
    if target.startswith("!subteam^") and _GROUP_ID.fullmatch(target[9:]):
        return GroupMention(target[9:], label)
    if target.startswith("!date^"):
        return DateToken(inner, label or "")
    if target.startswith("!") and target[1:] in BROADCASTS:
        return Broadcast(target[1:])
    if _SCHEME.fullmatch(target):
        return Link(_unescape(target), label)
    return None


def _words(text: str, *, names: bool) -> Iterator[Segment]:
    plain = _unescape(text)
    if not names:
        if plain:
            yield Words(plain)
        return
    last = 0
    for m in _NAME_REF.finditer(plain):
        name = m.group(1).rstrip(".-_")
        if name.lower() in BROADCASTS:  # a typed @here is not a broadcast without encoding
            continue
        if m.start() > last:
            yield Words(plain[last : m.start()])
        yield NameRef(name)
        last = m.start() + 1 + len(name)
    if last < len(plain):
        yield Words(plain[last:])


def _merge(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for seg in segments:
        if isinstance(seg, Words) and out and isinstance(out[-1], Words):
            out[-1] = Words(out[-1].text + seg.text)
        elif not (isinstance(seg, Words) and not seg.text):
            out.append(seg)
    return tuple(out)


@dataclass(frozen=True)
class SlackText:
    """Text as a sequence of typed segments."""

    segments: tuple[Segment, ...]

    def plain(self) -> str:
        """No markup: for ``plain_text`` fields, topics, channel names and other systems."""
        return "".join(_plain(s) for s in self.segments)

    def mrkdwn(self) -> str:
        """Safe mrkdwn: ``& < >`` escaped exactly once, mentions and links live, broadcasts inert."""
        return "".join(_mrkdwn(s) for s in self.segments)

    def encoded(self) -> str:
        """The Slack text again (names not yet resolved stay typed words)."""
        return self.mrkdwn()

    @property
    def name_refs(self) -> list[str]:
        return list(dict.fromkeys(s.name for s in self.segments if isinstance(s, NameRef)))

    def with_people(self, people: dict[str, str]) -> SlackText:
        """Typed ``@name`` references found in ``people`` (name -> user ID) become mentions."""
        return SlackText(
            tuple(
                UserMention(people[s.name], s.name) if isinstance(s, NameRef) and s.name in people else s
                for s in self.segments
            )
        )


def _plain(seg: Segment) -> str:
    match seg:
        case Words(text):
            return text
        case UserMention(user_id, label):
            return "@" + (label or user_id)
        case ChannelMention(channel_id, label):
            return "#" + (label or channel_id)
        case GroupMention(group_id, label):
            return label if label and label.startswith("@") else "@" + (label or group_id)
        case Link(url, label):
            return label or url
        case Broadcast(kind):
            return "@" + kind
        case DateToken(_, fallback):
            return fallback
        case NameRef(name):
            return "@" + name
    raise TypeError(seg)  # pragma: no cover


def _mrkdwn(seg: Segment) -> str:
    match seg:
        case Words(text):
            return escape(text)
        case UserMention(user_id, _):
            return f"<@{user_id}>"
        case ChannelMention(channel_id, _):
            return f"<#{channel_id}>"
        case GroupMention(group_id, _):
            return f"<!subteam^{group_id}>"
        case Link(url, label):
            shown = f"|{escape(label).replace('|', '¦')}" if label else ""
            return f"<{escape(url).replace('|', '%7C')}{shown}>"
        case Broadcast(kind):
            return "@" + kind  # the word, without the control sequence: nobody is notified
        case DateToken(raw, _):
            return f"<{raw}>"
        case NameRef(name):
            return "@" + escape(name)
    raise TypeError(seg)  # pragma: no cover


def slack_encoding(seg: Segment) -> str:
    """A segment as Slack itself sends it (labels kept, broadcasts live): for tests and fixtures."""
    match seg:
        case UserMention(user_id, label):
            return f"<@{user_id}|{escape(label)}>" if label else f"<@{user_id}>"
        case ChannelMention(channel_id, label):
            return f"<#{channel_id}|{escape(label)}>" if label else f"<#{channel_id}>"
        case GroupMention(group_id, label):
            return f"<!subteam^{group_id}|{escape(label)}>" if label else f"<!subteam^{group_id}>"
        case Broadcast(kind):
            return f"<!{kind}>"
    return _mrkdwn(seg)


def decode(text: str | None, *, names: bool = True) -> SlackText:
    """Slack text (or any text) to its typed form; never fails. ``names``: find typed @names."""
    raw = text or ""
    segments: list[Segment] = []
    last = 0
    for m in _TOKEN.finditer(raw):
        seg = _token(m.group(1))
        if seg is None:
            continue  # not a token: its characters stay words
        if m.start() > last:
            segments.extend(_words(raw[last : m.start()], names=names))
        segments.append(seg)
        last = m.end()
    if last < len(raw):
        segments.extend(_words(raw[last:], names=names))
    return SlackText(_merge(segments))


def plain(text: str | None) -> str:
    """Slack text as plain words (``R&amp;D <@U1|carol>`` -> ``R&D @carol``)."""
    return decode(text, names=False).plain()


def mrkdwn(text: str | None, limit: int | None = None) -> str:
    """Slack text as safe mrkdwn for messages (idempotent: ``mrkdwn(mrkdwn(x)) == mrkdwn(x)``).
    With ``limit``: at most that many characters, cut between tokens and entities (never inside
    one), ending in an ellipsis when cut."""
    decoded = decode(text, names=False)
    whole = decoded.mrkdwn()
    if limit is None or len(whole) <= limit:
        return whole
    room = max(0, limit - 1)
    out: list[str] = []
    used = 0
    for seg in decoded.segments:
        piece = _mrkdwn(seg)
        if used + len(piece) <= room:
            out.append(piece)
            used += len(piece)
            continue
        if isinstance(seg, Words):
            for ch in seg.text:
                esc = escape(ch)
                if used + len(esc) > room:
                    break
                out.append(esc)
                used += len(esc)
        break
    return "".join(out) + "…"


def from_input(text: str | None) -> str:
    """Text Slack did not encode (a modal's plain_text_input) as Slack text: literal ``< & >``."""
    return escape(text or "")


# ---- parsing helpers: words of Slack text, tokens kept whole ---------------------------------

_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}
_WORD = re.compile(r"(?:<[^<>\n]*>|\S)+")


def unquote(text: str) -> str:
    t = text.strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] == _QUOTES[t[0]]:
        return t[1:-1].strip()
    return t


def split(text: str, words: int) -> list[str]:
    """The first ``words`` whitespace-separated words, then the rest (quotes optional, removed). A
    Slack token (``<https://x|a label>``) is never cut in two."""
    out: list[str] = []
    pos = 0
    stripped = text.strip()
    for m in _WORD.finditer(stripped):
        if len(out) == words:
            break
        out.append(m.group(0))
        pos = m.end()
    rest = stripped[pos:].strip()
    if len(out) == words and rest:
        out.append(unquote(rest))
    return out


def user_id_of(word: str) -> str | None:
    """The user a word names: a mention (``<@U1|carol>``) or a bare user ID; None otherwise."""
    w = word.strip()
    if _USER_ID.fullmatch(w):
        return w
    segments = decode(w, names=False).segments
    if len(segments) == 1 and isinstance(segments[0], UserMention):
        return segments[0].user_id
    return None


def name_ref_of(word: str) -> str | None:
    """The typed ``@name`` a word is (not encoded by Slack), to be looked up; None otherwise."""
    segments = decode(word.strip()).segments
    if len(segments) == 1 and isinstance(segments[0], NameRef):
        return segments[0].name
    return None


# ---- people by name ----------------------------------------------------------------------------

CACHE_TTL = 300


def _keys_of(user: dict) -> set[str]:
    profile = user.get("profile") or {}
    keys = {
        user.get("name"),
        profile.get("display_name"),
        profile.get("display_name_normalized"),
        user.get("real_name"),
        profile.get("real_name"),
        profile.get("real_name_normalized"),
        profile.get("email"),
    }
    email = profile.get("email") or ""
    if "@" in email:
        keys.add(email.split("@", 1)[0])
    return {str(k).strip().lower() for k in keys if k}


async def people_by_name(ctx: AppContext) -> dict[str, str]:
    """Every lookup key (name, display name, real name, e-mail and its local part; lowercase) to the
    user ID, from users.list, cached in Redis for a few minutes so replicas share it."""
    key = ctx.keys.custom("cache", "people-by-name")
    cached = await ctx.redis.hgetall(key)  # type: ignore[misc]
    if cached:
        return {str(k): str(v) for k, v in cached.items() if k != "-"}
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    cursor: str | None = None
    while True:
        args: dict[str, object] = {"limit": 200}
        if cursor:
            args["cursor"] = cursor
        resp = await ctx.gateway.call("users.list", **args)
        for user in resp.get("members", []):
            if user.get("deleted") or user.get("is_bot") or not user.get("id"):
                continue
            for k in _keys_of(user):
                if k in found and found[k] != user["id"]:
                    ambiguous.add(k)
                found.setdefault(k, str(user["id"]))
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    for k in ambiguous:  # two people answer to it: a name that does not say whom
        found.pop(k, None)
    await ctx.redis.hset(key, mapping=found or {"-": "-"})  # type: ignore[misc]
    await ctx.redis.expire(key, CACHE_TTL)
    return found


async def find_person(ctx: AppContext, name: str) -> str | None:
    """The user ID of a typed name (``carol``, ``@carol``, ``Carol Chen``, ``carol@example.com``)."""
    wanted = name.strip().lstrip("@").lower()
    if not wanted:
        return None
    return (await people_by_name(ctx)).get(wanted)


async def resolve_names(ctx: AppContext, text: str) -> tuple[str, list[str]]:
    """Slack text with every typed ``@name`` of a known person made a mention; also the names that
    matched nobody (they stay as typed words)."""
    decoded = decode(text)
    refs = decoded.name_refs
    if not refs:
        return text, []
    people = await people_by_name(ctx)
    known = {n: people[n.lower()] for n in refs if n.lower() in people}
    return decoded.with_people(known).mrkdwn(), [n for n in refs if n not in known]
