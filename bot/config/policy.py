"""The policy file: one YAML document, validated with pydantic, every key with a default.

Sections owned by other parts of the bot (alerts, escalation, runbooks, ...) are pydantic models
defined next to the code that uses them and hooked in here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.config.alerts import AlertsPolicy
from bot.config.escalation import EscalationPolicy
from bot.config.handoff import OnCallPolicy
from bot.config.incident_types import IncidentType, check_type_names
from bot.config.review import ReviewPolicy
from bot.config.runbooks import KubernetesPolicy, PrometheusPolicy, RunbooksPolicy, merge_runbook_maps
from bot.durations import Duration


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeverityPolicy(Section):
    name: str
    aliases: list[str] = Field(default_factory=list)
    label: str = ""
    emoji: str = ""
    response_target: Duration = timedelta(hours=1)
    response_text: str = ""
    update_cadence: Duration | None = None
    war_room: bool = False
    page: bool = False

    @field_validator("name")
    @classmethod
    def _lower(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", v.lower()):
            raise ValueError("severity names use letters, digits, - and _")
        return v.lower()

    def matches(self, word: str) -> bool:
        w = word.strip().lower()
        return w == self.name or w in (a.lower() for a in self.aliases)


def _default_severities() -> list[SeverityPolicy]:
    return [
        SeverityPolicy(
            name="critical",
            aliases=["p1", "sev1", "sev-1", "1"],
            label="Critical",
            emoji=":red_circle:",
            response_target=timedelta(minutes=5),
            update_cadence=timedelta(minutes=15),
            war_room=True,
            page=True,
        ),
        SeverityPolicy(
            name="high",
            aliases=["p2", "sev2", "sev-2", "2"],
            label="High",
            emoji=":large_orange_circle:",
            response_target=timedelta(minutes=15),
            update_cadence=timedelta(minutes=30),
            war_room=True,
        ),
        SeverityPolicy(
            name="medium",
            aliases=["p3", "sev3", "sev-3", "3"],
            label="Medium",
            emoji=":large_yellow_circle:",
            response_target=timedelta(hours=1),
            update_cadence=timedelta(minutes=60),
        ),
        SeverityPolicy(
            name="low",
            aliases=["p4", "sev4", "sev-4", "4"],
            label="Low",
            emoji=":white_circle:",
            response_target=timedelta(days=1),
            response_text="next business day",
        ),
    ]


class StatusPolicy(Section):
    name: str
    label: str = ""
    emoji: str = ""
    resolved: bool = False


def _default_statuses() -> list[StatusPolicy]:
    return [
        StatusPolicy(name="investigating", label="Investigating", emoji=":mag:"),
        StatusPolicy(name="identified", label="Identified", emoji=":bulb:"),
        StatusPolicy(name="monitoring", label="Monitoring", emoji=":eyes:"),
        StatusPolicy(name="resolved", label="Resolved", emoji=":white_check_mark:", resolved=True),
    ]


class ChannelsPolicy(Section):
    announcements: str = "incidents"
    war_room_prefix: str = "inc"


class RolePolicy(Section):
    name: str
    label: str
    description: str = ""


def _default_roles() -> list[RolePolicy]:
    return [
        RolePolicy(name="commander", label="Incident commander", description="Owns the response"),
        RolePolicy(name="tech_lead", label="Tech lead", description="Leads the technical investigation"),
        RolePolicy(name="comms_lead", label="Comms lead", description="Keeps stakeholders informed"),
        RolePolicy(name="scribe", label="Scribe", description="Keeps the timeline"),
    ]


class RespondersPolicy(Section):
    """Who is invited to a war room: Slack user IDs (U…), user-group handles (@sre) or e-mails."""

    by_severity: dict[str, list[str]] = Field(default_factory=dict)
    by_service: dict[str, list[str]] = Field(default_factory=dict)


DEFAULT_ANNOUNCEMENT = """\
{{ severity.emoji }} *Severity:* {{ severity.label }} · *Status:* {{ status.label }}{% if incident.service %} · *Service:* {{ incident.service }}{% endif %}
*Reported by:* {{ incident.created_by | user }}{% if commander %} · *Commander:* {{ commander | user }}{% endif %}
*Respond within:* {{ response_target }}{% if war_room %} · *War room:* {{ war_room | channel }}{% endif %}"""

DEFAULT_UPDATE = """\
*Update #{{ update.number }}* · {{ status.emoji }} *{{ status.label }}*
{{ update.message }}"""

DEFAULT_RESOLUTION = """\
:white_check_mark: *{{ incident.id }} resolved* after {{ metrics.time_to_resolve }}
{% if incident.summary %}{{ incident.summary }}
{% endif %}Time to acknowledge: {{ metrics.time_to_acknowledge }} · Time to mitigate: {{ metrics.time_to_mitigate }} · Updates: {{ metrics.updates }} · Escalations: {{ metrics.escalations }}"""


class TemplatesPolicy(Section):
    announcement: str = DEFAULT_ANNOUNCEMENT
    status_update: str = DEFAULT_UPDATE
    resolution: str = DEFAULT_RESOLUTION


class PermissionsPolicy(Section):
    """Permission -> principals: ``*`` (anyone), user IDs (U…), group handles (@handle) or e-mails."""

    declare: list[str] = Field(default_factory=lambda: ["*"])
    update: list[str] = Field(default_factory=lambda: ["*"])
    escalate: list[str] = Field(default_factory=lambda: ["*"])
    resolve: list[str] = Field(default_factory=lambda: ["*"])
    remediate: list[str] = Field(default_factory=list)
    silence: list[str] = Field(default_factory=lambda: ["*"])  # silence alert groups in Alertmanager
    private: list[str] = Field(default_factory=list)  # see private incidents without being in them
    admin: list[str] = Field(default_factory=list)


class IncidentsPolicy(Section):
    """Private, triage and test incidents."""

    private_announcement: bool = True  # a stub (severity, "Request access") in the public channel
    private_in_stats: bool = False  # private incidents counted in /incident stats
    types: dict[str, IncidentType] = Field(default_factory=dict)  # incident types and their fields

    @field_validator("types")
    @classmethod
    def _type_names(cls, v: dict[str, IncidentType]) -> dict[str, IncidentType]:
        return check_type_names(v)

    def incident_type(self, name: str | None) -> IncidentType | None:
        return self.types.get(name.strip().lower()) if name else None


class Policy(Section):
    severities: list[SeverityPolicy] = Field(default_factory=_default_severities)
    statuses: list[StatusPolicy] = Field(default_factory=_default_statuses)
    channels: ChannelsPolicy = Field(default_factory=ChannelsPolicy)
    roles: list[RolePolicy] = Field(default_factory=_default_roles)
    responders: RespondersPolicy = Field(default_factory=RespondersPolicy)
    templates: TemplatesPolicy = Field(default_factory=TemplatesPolicy)
    permissions: PermissionsPolicy = Field(default_factory=PermissionsPolicy)
    incidents: IncidentsPolicy = Field(default_factory=IncidentsPolicy)
    alerts: AlertsPolicy = Field(default_factory=AlertsPolicy)
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    oncall: OnCallPolicy = Field(default_factory=OnCallPolicy)  # rotation hand-offs
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)
    runbooks: RunbooksPolicy = Field(default_factory=RunbooksPolicy)
    kubernetes: KubernetesPolicy = Field(default_factory=KubernetesPolicy)
    prometheus: PrometheusPolicy = Field(default_factory=PrometheusPolicy)
    _deprecations: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _one_runbook_map(self) -> Policy:
        """``runbooks.alerts`` is the one alert → runbook map. The older ``alerts.runbooks`` still
        reads (its entries join the map; ``runbooks.alerts`` wins a clash) and is reported by
        :meth:`deprecations`; afterwards both names hold the same map."""
        self._deprecations.extend(merge_runbook_maps(self.alerts, self.runbooks))
        return self

    def deprecations(self) -> list[str]:
        """Keys this policy uses that still work but should move (``chatops check-config`` warns)."""
        return list(self._deprecations)

    @model_validator(mode="after")
    def _check(self) -> Policy:
        names: set[str] = set()
        for sev in self.severities:
            for word in (sev.name, *(a.lower() for a in sev.aliases)):
                if word in names:
                    raise ValueError(f"severity name or alias {word!r} is used twice")
                names.add(word)
        if not self.severities:
            raise ValueError("at least one severity is needed")
        if not any(s.resolved for s in self.statuses):
            raise ValueError("one status must have resolved: true")
        if len({s.name for s in self.statuses}) != len(self.statuses):
            raise ValueError("status names must be unique")
        if "severity_map" in self.alerts.model_fields_set:
            for value, target in self.alerts.severity_map.items():
                if self.severity(target) is None:
                    raise ValueError(f"alerts.severity_map.{value}: {target!r} is not one of the severities")
        return self

    # look-ups -------------------------------------------------------------------------------
    def severity(self, word: str) -> SeverityPolicy | None:
        return next((s for s in self.severities if s.matches(word)), None)

    def severity_by_name(self, name: str) -> SeverityPolicy:
        found = self.severity(name)
        if found is None:  # an incident stored under a severity later removed from the policy
            return SeverityPolicy(name=name, label=name.title())
        return found

    def status(self, name: str) -> StatusPolicy | None:
        return next((s for s in self.statuses if s.name == name.strip().lower()), None)

    def status_by_name(self, name: str) -> StatusPolicy:
        return self.status(name) or StatusPolicy(name=name, label=name.title())

    @property
    def resolved_status(self) -> str:
        return next(s.name for s in self.statuses if s.resolved)

    @property
    def initial_status(self) -> str:
        return next(s.name for s in self.statuses if not s.resolved)

    def role(self, word: str) -> RolePolicy | None:
        w = word.strip().lower().replace("-", "_")
        return next((r for r in self.roles if r.name == w or r.label.lower() == word.strip().lower()), None)


# --------------------------------------------------------------------------------------------
# loading and checking


class PolicyError(Exception):
    """A policy file that cannot be used; ``problems`` holds one line per error with its location."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """The YAML node at a pydantic error location, for its line number."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key, value in node.value:
                if key.value == str(part):
                    nxt = value
                    break
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _describe(errors: list[Any], root: yaml.Node | None, path: str) -> list[str]:
    out = []
    for err in errors:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        node = _node_at(root, loc)
        where = f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}" if node else path
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt? see config/policy.example.yml)"
        out.append(f"{where}: {dotted}: {msg}")
    return out


def parse_policy(text: str, path: str = "<policy>") -> Policy:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise PolicyError(path, [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(path, [f"{path}:1:1: the policy must be a mapping of sections"])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(path, _describe(exc.errors(), root, path)) from exc


def load_policy(path: str | None) -> Policy:
    """The policy at ``path``, or the built-in default when no path is given."""
    if not path:
        return Policy()
    p = Path(path)
    if not p.is_file():
        raise PolicyError(path, [f"{path}: no such file"])
    return parse_policy(p.read_text(encoding="utf-8"), path)
