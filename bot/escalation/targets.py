"""From a word in ``/escalate`` (``2``, ``tech-lead``, ``secondary``) to the people, channels and
pagers to reach, with on-call rotations resolved to whoever holds them at that moment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.config.escalation import EscalationPolicy, EscalationTarget, PagerRoute, slug
from bot.config.oncall import upcoming_shifts, who_is_on_call

_LEVEL = re.compile(r"^(?:l|lvl|level)?-?(\d)$")
_LEVEL_TARGET = re.compile(r"^(?:l|lvl|level)?-?(\d)[./:-]([a-z0-9_-]+)$")


@dataclass(frozen=True)
class Selection:
    """What was asked for: a level (all its targets or one), or people named by a role alias."""

    label: str
    level: int | None = None
    target: str | None = None
    users: tuple[str, ...] = ()
    usergroups: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable, short identifier (button values, job ids)."""
        if self.level is None:
            return f"role:{slug(self.label)}"
        return f"{self.level}.{self.target}" if self.target else str(self.level)


def select(policy: EscalationPolicy, word: str) -> Selection | None:
    """The selection a word names, or None: levels (``2``, ``L2``, ``level-2``), ``1.secondary``,
    role aliases, level aliases and names, and target names that only one level uses."""
    w = slug(word.strip().lstrip("@"))
    if not w:
        return None
    if m := _LEVEL.match(w):
        return level_selection(policy, int(m.group(1)), None)
    if m := _LEVEL_TARGET.match(w):
        return level_selection(policy, int(m.group(1)), m.group(2))
    if w in policy.roles:
        alias = policy.roles[w]
        if alias.level is not None:
            found = level_selection(policy, alias.level, alias.target)
            # "tech-lead, level 2 (Team lead)": never "tech-lead (level 2 (Team lead))"
            return Selection(f"{w}, {found.label}", found.level, found.target) if found else None
        return Selection(w, users=tuple(alias.users), usergroups=tuple(alias.usergroups))
    for lv in policy.levels:
        if w in lv.aliases or w == slug(lv.name):
            return level_selection(policy, lv.level, None)
    owners = [(lv.level, t.name) for lv in policy.levels for t in lv.targets if t.name == w]
    if len(owners) == 1:
        return level_selection(policy, *owners[0])
    return None


def level_selection(policy: EscalationPolicy, number: int, target: str | None) -> Selection | None:
    lv = policy.level(number)
    if lv is None:
        return None
    if target is not None:
        t = lv.target(target)
        if t is None:
            return None
        if len(lv.targets) == 1:
            return Selection(f"level {lv.level} ({lv.name})", lv.level, None)
        return Selection(f"level {lv.level} {t.name} ({lv.name})", lv.level, t.name)
    return Selection(f"level {lv.level} ({lv.name})", lv.level, None)


def targets_of(policy: EscalationPolicy, selection: Selection) -> list[EscalationTarget]:
    if selection.level is None:
        return [
            EscalationTarget(
                name=slug(selection.label) or "role",
                users=list(selection.users),
                usergroups=list(selection.usergroups),
            )
        ]
    lv = policy.level(selection.level)
    if lv is None:
        return []
    if selection.target:
        return [t for t in lv.targets if t.name == selection.target]
    return list(lv.targets)


@dataclass
class Reach:
    """Who and what a selection reaches at one moment (before user groups are expanded)."""

    users: list[str] = field(default_factory=list)
    usergroups: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    pagers: list[PagerRoute] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # one per target, for people to read
    problems: list[str] = field(default_factory=list)

    def add_user(self, user: str) -> None:
        if user not in self.users:
            self.users.append(user)


def reach(policy: EscalationPolicy, selection: Selection, at: datetime) -> Reach:
    """Resolve rotations at ``at``; pure (user groups are left as handles)."""
    out = Reach()
    for target in targets_of(policy, selection):
        parts: list[str] = []
        for user in target.users:
            out.add_user(user)
            parts.append(f"<@{user}>")
        for handle in target.usergroups:
            if handle not in out.usergroups:
                out.usergroups.append(handle)
            parts.append(f"@{handle}")
        if target.rotation:
            rotation = policy.rotation(target.rotation)
            if rotation is None:
                out.problems.append(
                    f"{target.name}: rotation `{target.rotation}` is not defined in the policy"
                )
                parts.append(f"rotation {target.rotation} (not defined)")
            else:
                person = who_is_on_call(rotation, at)
                if person is None:
                    out.problems.append(f"{target.name}: nobody is on call in rotation `{rotation.name}` yet")
                    parts.append(f"rotation {rotation.name} (nobody on call)")
                else:
                    out.add_user(person)
                    shift = upcoming_shifts(rotation, at, 1)
                    until = (
                        f" until <!date^{int(shift[0].end.timestamp())}^{{date_short}} {{time}}|later>"
                        if shift
                        else ""
                    )
                    parts.append(f"<@{person}> (on call in {rotation.name}{until})")
        if target.channel and target.channel not in out.channels:
            out.channels.append(target.channel)
            parts.append(f"#{target.channel}")
        pager = target.pager or (
            PagerRoute(service=policy.pagers.default_service) if policy.pagers.default_service else None
        )
        if pager is not None and policy.pagers.enabled:
            out.pagers.append(pager)
            parts.append(f"pager: {pager.service}")
        out.lines.append(f"*{target.name}*: " + (", ".join(parts) if parts else "nobody configured"))
    return out
