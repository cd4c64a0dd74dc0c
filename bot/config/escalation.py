"""The ``escalation`` section of the policy: levels and their targets, role aliases, rotations,
automatic timers per severity, status-update reminders, pagers and the public status page.

Every key has a default, so ``escalation: {}`` (or no section at all) gives a working setup:

* levels 1 on-call (primary and secondary rotations), 2 team lead, 3 engineering manager,
  4 VP / CTO, 5 executives;
* timers: critical unacknowledged 5 min → level 1 secondary; critical unresolved 15 min → level 3;
  high unresolved 30 min → level 2; critical or high unresolved 1 h → level 4; critical 2 h → level 5;
* reminders at each severity's update cadence (from the core policy), snooze 15 min.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config.oncall import Rotation
from bot.durations import Duration

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
PagerService = Literal["pagerduty", "opsgenie"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")


class PagerRoute(_Section):
    """Page this target through a pager service."""

    service: PagerService = "pagerduty"
    routing_key_env: str | None = None  # PagerDuty: env var with this target's own routing key
    responders: list[str] = Field(default_factory=list)  # Opsgenie: "team:sre", "user:a@b.c", "schedule:x"


class EscalationTarget(_Section):
    name: str = "default"
    users: list[str] = Field(default_factory=list)  # Slack user IDs (U…)
    usergroups: list[str] = Field(default_factory=list)  # user-group handles, with or without @
    channel: str | None = None  # a channel (name or ID) that also gets the escalation post
    rotation: str | None = None  # a rotation name; resolves to whoever is on call now
    pager: PagerRoute | None = None

    @field_validator("name")
    @classmethod
    def _slug_name(cls, value: str) -> str:
        value = slug(value)
        if not value:
            raise ValueError("a target name needs letters or digits")
        return value

    @field_validator("users")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        bad = [u for u in value if not USER_ID.match(u)]
        if bad:
            raise ValueError(f"not Slack user IDs: {', '.join(bad)} (they look like U0123ABCD)")
        return value

    @field_validator("usergroups")
    @classmethod
    def _handles(cls, value: list[str]) -> list[str]:
        return [h.strip().lstrip("@") for h in value if h.strip().lstrip("@")]

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return value.strip().lstrip("#") if value else None

    @property
    def is_empty(self) -> bool:
        return not (self.users or self.usergroups or self.channel or self.rotation or self.pager)


class EscalationLevel(_Section):
    level: int = Field(ge=1, le=9)
    name: str
    aliases: list[str] = Field(default_factory=list)
    targets: list[EscalationTarget] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_targets(self) -> EscalationLevel:
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"level {self.level}: target names must be unique ({', '.join(names)})")
        self.aliases = [slug(a) for a in self.aliases if slug(a)]
        return self

    def target(self, name: str) -> EscalationTarget | None:
        wanted = slug(name)
        return next((t for t in self.targets if t.name == wanted), None)


class RoleAlias(_Section):
    """A name people use in /escalate (``tech-lead``): a level (and optionally one of its targets),
    or people directly."""

    level: int | None = Field(default=None, ge=1, le=9)
    target: str | None = None
    users: list[str] = Field(default_factory=list)
    usergroups: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> RoleAlias:
        direct = bool(self.users or self.usergroups)
        if (self.level is None) == (not direct):
            raise ValueError("a role alias names either a level (and optional target) or users/usergroups")
        if self.target is not None and self.level is None:
            raise ValueError("'target' needs 'level'")
        bad = [u for u in self.users if not USER_ID.match(u)]
        if bad:
            raise ValueError(f"not Slack user IDs: {', '.join(bad)}")
        self.usergroups = [h.lstrip("@") for h in self.usergroups]
        self.target = slug(self.target) if self.target else None
        return self


class TimerRule(_Section):
    id: str
    severities: list[str] = Field(min_length=1)
    when: Literal["unacknowledged", "unresolved"]
    after: Duration
    level: int = Field(ge=1, le=9)
    target: str | None = None  # one target of the level; all of them when unset

    @field_validator("id")
    @classmethod
    def _slug_id(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("timer ids use lowercase letters, digits, - and _")
        return value

    @field_validator("severities")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [s.strip().lower() for s in value]

    @field_validator("after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("'after' must be longer than zero")
        return value


DEFAULT_PREFILL = """\
Status: {{ status.label }}
What we know:
What we are doing:
Next update: within {{ cadence }}"""


class RemindersPolicy(_Section):
    """Nudges to the commander when an incident goes quiet. ``prefill`` (Jinja2, sandboxed) fills
    the update modal; it sees ``incident``, ``severity``, ``status`` and ``cadence``."""

    enabled: bool = True
    cadence: dict[str, Duration] = Field(default_factory=dict)  # per severity; default: its update_cadence
    snooze: Duration = timedelta(minutes=15)
    repeat: bool = True  # nudge again every cadence while no update comes
    prefill: str = DEFAULT_PREFILL


class PagerSettings(_Section):
    enabled: bool = True  # pagers are used only when their keys are in the environment as well
    default_service: PagerService | None = None  # used for targets without a pager of their own
    page_on_declare: bool = True  # severities with page: true page level 1 when declared
    attempts: int = Field(default=4, ge=1, le=10)
    timeout: Duration = timedelta(seconds=5)
    source: str = "chatops-bot"


class StatuspageSettings(_Section):
    enabled: bool = True  # effective only with STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID set
    auto_severities: list[str] = Field(default_factory=list)  # publish these without --public
    components: dict[str, list[str]] = Field(default_factory=dict)  # service → Statuspage component IDs
    default_components: list[str] = Field(default_factory=list)
    notify_subscribers: bool = True


def _default_levels() -> list[EscalationLevel]:
    return [
        EscalationLevel(
            level=1, name="On-call", aliases=["oncall", "on-call"],
            targets=[EscalationTarget(name="primary", rotation="primary"),
                     EscalationTarget(name="secondary", rotation="secondary")],
        ),
        EscalationLevel(level=2, name="Team lead", aliases=["team-lead", "lead"],
                        targets=[EscalationTarget(name="team-lead", usergroups=["team-leads"])]),
        EscalationLevel(level=3, name="Engineering manager", aliases=["manager", "em"],
                        targets=[EscalationTarget(name="manager", usergroups=["eng-managers"])]),
        EscalationLevel(level=4, name="VP / CTO", aliases=["vp", "cto", "senior-management"],
                        targets=[EscalationTarget(name="vp", usergroups=["vp-eng"])]),
        EscalationLevel(level=5, name="Executives", aliases=["exec", "execs", "executives"],
                        targets=[EscalationTarget(name="executives", usergroups=["execs"])]),
    ]  # fmt: skip


def _default_roles() -> dict[str, RoleAlias]:
    return {
        "primary": RoleAlias(level=1, target="primary"),
        "secondary": RoleAlias(level=1, target="secondary"),
        "tech-lead": RoleAlias(level=2),
        "manager": RoleAlias(level=3),
        "cto": RoleAlias(level=4),
    }


def _default_timers() -> list[TimerRule]:
    return [
        TimerRule(id="critical-unacked-secondary", severities=["critical"], when="unacknowledged",
                  after=timedelta(minutes=5), level=1, target="secondary"),
        TimerRule(id="critical-unresolved-manager", severities=["critical"], when="unresolved",
                  after=timedelta(minutes=15), level=3),
        TimerRule(id="high-unresolved-team-lead", severities=["high"], when="unresolved",
                  after=timedelta(minutes=30), level=2),
        TimerRule(id="unresolved-1h-senior", severities=["critical", "high"], when="unresolved",
                  after=timedelta(hours=1), level=4),
        TimerRule(id="critical-unresolved-executives", severities=["critical"], when="unresolved",
                  after=timedelta(hours=2), level=5),
    ]  # fmt: skip


class EscalationPolicy(_Section):
    levels: list[EscalationLevel] = Field(default_factory=_default_levels)
    roles: dict[str, RoleAlias] = Field(default_factory=_default_roles)
    rotations: list[Rotation] = Field(default_factory=list)
    timers: list[TimerRule] = Field(default_factory=_default_timers)
    reminders: RemindersPolicy = Field(default_factory=RemindersPolicy)
    pagers: PagerSettings = Field(default_factory=PagerSettings)
    statuspage: StatuspageSettings = Field(default_factory=StatuspageSettings)

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[str, RoleAlias]) -> dict[str, RoleAlias]:
        out: dict[str, RoleAlias] = {}
        for name, alias in value.items():
            key = slug(name)
            if not key:
                raise ValueError(f"role alias {name!r} needs letters or digits")
            out[key] = alias
        return out

    @model_validator(mode="after")
    def _references(self) -> EscalationPolicy:
        numbers = [lv.level for lv in self.levels]
        if len(set(numbers)) != len(numbers):
            raise ValueError("escalation level numbers must be unique")
        self.levels.sort(key=lambda lv: lv.level)
        rotation_names = [r.name for r in self.rotations]
        if len(set(rotation_names)) != len(rotation_names):
            raise ValueError("rotation names must be unique")
        if self.rotations:  # with no rotations at all, level 1 simply names nobody yet
            for lv in self.levels:
                for t in lv.targets:
                    if t.rotation and t.rotation not in rotation_names:
                        raise ValueError(
                            f"level {lv.level} target {t.name!r}: no rotation named {t.rotation!r} "
                            f"(rotations: {', '.join(rotation_names)})"
                        )
        # Defaults follow the levels: with fewer levels, default roles and timers that name a missing
        # level or target are dropped; the ones a policy file sets itself must all be right.
        if "roles" not in self.model_fields_set:
            self.roles = {
                n: a for n, a in self.roles.items() if a.level is None or self._exists(a.level, a.target)
            }
        if "timers" not in self.model_fields_set:
            self.timers = [t for t in self.timers if self._exists(t.level, t.target)]
        for name, alias in self.roles.items():
            if alias.level is not None:
                self._check_level_target(f"role alias {name!r}", alias.level, alias.target)
        ids = [t.id for t in self.timers]
        if len(set(ids)) != len(ids):
            raise ValueError("timer ids must be unique")
        for timer in self.timers:
            self._check_level_target(f"timer {timer.id!r}", timer.level, timer.target)
            if timer.target:
                timer.target = slug(timer.target)
        return self

    def _exists(self, level: int, target: str | None) -> bool:
        found = self.level(level)
        return found is not None and (target is None or found.target(target) is not None)

    def _check_level_target(self, what: str, level: int, target: str | None) -> None:
        found = self.level(level)
        if found is None:
            raise ValueError(f"{what}: there is no escalation level {level}")
        if target and found.target(target) is None:
            names = ", ".join(t.name for t in found.targets)
            raise ValueError(f"{what}: level {level} has no target {target!r} (targets: {names})")

    # look-ups -------------------------------------------------------------------------------
    def level(self, number: int) -> EscalationLevel | None:
        return next((lv for lv in self.levels if lv.level == number), None)

    def rotation(self, name: str) -> Rotation | None:
        return next((r for r in self.rotations if r.name == name), None)

    def level_words(self) -> list[str]:
        """What /escalate accepts, for usage messages: numbers, then role and level aliases."""
        words = [str(lv.level) for lv in self.levels]
        words += sorted(self.roles)
        for lv in self.levels:
            words += [a for a in lv.aliases if a not in words]
        return words

    def unknown_severities(self, known: set[str]) -> list[str]:
        """Severity names in timers and reminders that the core policy does not define."""
        used = {s for t in self.timers for s in t.severities} | set(self.reminders.cadence)
        used |= set(self.statuspage.auto_severities)
        return sorted(used - known)
