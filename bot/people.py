"""People by any name: the one resolver every command that takes a person uses.

A person may be given as Slack encodes them (``<@U123|carol>``, a bare user ID), as a typed
``@carol`` Slack did not encode, as a name (``carol``, ``Carol Chen``: name, display name or real
name) or as an e-mail; a user group as ``<!subteam^S1|@sre-oncall>`` or a typed ``@sre-oncall``
where groups make sense. Names are looked up with :func:`bot.text.find_person` (users.list, cached),
groups through :func:`bot.directory.resolve_principals`. A word that names nobody is kept in
``unknown`` as typed, so the answer can name it: nothing is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot import text as stext
from bot.context import AppContext
from bot.directory import resolve_principals

_SEPARATORS = re.compile(r"\s*(?:,|;|\band\b|&)\s*", re.IGNORECASE)
_LONGEST_NAME = 4  # words: "Mary Ann van Berg"


@dataclass
class People:
    """What a piece of text named: users (IDs, in order, once each), the groups given (handles,
    their members already in ``users`` when groups were allowed), and words that named nobody."""

    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    groups_refused: list[str] = field(default_factory=list)  # groups where one person is wanted

    def add_user(self, user: str) -> None:
        if user not in self.users:
            self.users.append(user)

    def problem(self) -> str | None:
        """One sentence naming what could not be used, or None."""
        parts: list[str] = []
        if self.unknown:
            listed = ", ".join(f"`{stext.escape(n)}`" for n in self.unknown[:10])
            parts.append(f"Nobody in this workspace is called {listed}.")
        if self.groups_refused:
            listed = ", ".join(f"`@{stext.escape(g)}`" for g in self.groups_refused[:10])
            parts.append(f"{listed} is a group: name one person (a mention, @name, name or e-mail).")
        return " ".join(parts) or None


async def _group(ctx: AppContext, handle_or_id: str) -> list[str]:
    """Members of a user group by handle or ID ([] when there is no such group or it is empty)."""
    members, _ = await resolve_principals(ctx, [f"@{handle_or_id.lstrip('@')}"])
    return members


async def _name(ctx: AppContext, words: list[str], out: People) -> None:
    """Plain words: the longest run that is somebody's name wins; a word that starts none is unknown."""
    i = 0
    while i < len(words):
        for n in range(min(_LONGEST_NAME, len(words) - i), 0, -1):
            candidate = " ".join(words[i : i + n])
            user = await stext.find_person(ctx, stext.unquote(candidate))
            if user is not None:
                out.add_user(user)
                i += n
                break
        else:
            out.unknown.append(stext.unquote(words[i]))
            i += 1


async def find_people(ctx: AppContext, text: str, *, groups: bool = False) -> People:
    """Everyone ``text`` names (Slack text as a command received it). With ``groups``, user groups
    count and their members are added; otherwise a group is refused (``groups_refused``)."""
    out = People()
    raw = stext.unquote(text.strip())
    if not raw:
        return out
    if user_id := stext.user_id_of(raw):  # a mention Slack encoded, or a bare user ID
        out.add_user(user_id)
        return out
    # the whole text as one name first ("Carol Chen", "carol@example.com", "@carol")
    whole = stext.decode(raw)
    if all(isinstance(s, stext.Words | stext.NameRef) for s in whole.segments):
        user = await stext.find_person(ctx, whole.plain())
        if user is not None:
            out.add_user(user)
            return out
    for seg in whole.segments:
        match seg:
            case stext.UserMention(user_id, _):
                out.add_user(user_id)
            case stext.GroupMention(group_id, label):
                handle = (label or group_id).lstrip("@")
                if not groups:
                    out.groups_refused.append(handle)
                    continue
                _add_group(out, handle, await _group(ctx, group_id))
            case stext.NameRef(name):
                user = await stext.find_person(ctx, name)
                if user is not None:
                    out.add_user(user)
                    continue
                members = await _group(ctx, name)
                if members and not groups:
                    out.groups_refused.append(name)
                else:
                    _add_group(out, name, members)
            case stext.Words(words):
                for piece in _SEPARATORS.split(words):
                    if piece.strip():
                        await _name(ctx, piece.split(), out)
            case _:
                out.unknown.append(stext.plain(stext.slack_encoding(seg)))
    return out


def _add_group(out: People, handle: str, members: list[str]) -> None:
    """A group's members join the people; a group with none (or no such group) is unknown."""
    if members:
        out.groups.append(handle)
        for user in members:
            out.add_user(user)
    else:
        out.unknown.append(f"@{handle}")


async def find_person(ctx: AppContext, text: str) -> tuple[str | None, People]:
    """The one person ``text`` names, or None with the reason in the returned People (unknown,
    a group, or more than one person)."""
    found = await find_people(ctx, text)
    if len(found.users) == 1 and not found.unknown and not found.groups_refused:
        return found.users[0], found
    return None, found


def looks_like_person(word: str) -> bool:
    """Whether a word is written as a person (a mention, a typed @name, a group, an e-mail)."""
    w = word.strip()
    return (
        stext.user_id_of(w) is not None
        or stext.name_ref_of(w) is not None
        or w.startswith("<!subteam^")
        or ("@" in w and "." in w.split("@")[-1])
    )
