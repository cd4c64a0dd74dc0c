"""The App Home tab, for one viewer: the open incidents, those the viewer holds a role in, who is on
call now, the viewer's follow-ups, and buttons to declare and to list.

Pure: state in, a ``home`` view out (slack_sdk.models), within Slack's limits for any number of
incidents (a view holds 100 blocks: incidents are packed several to a section, the longest lists
are cut with a count of what is not shown). Times are Slack date tokens (the viewer's time zone;
``{ago}`` stays current without a re-publish).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot.blocks import clip, context, escape, header, section, sections
from bot.config.policy import Policy
from bot.core.models import Incident
from bot.templates import slack_date
from bot.text import mrkdwn

DECLARE = "home_declare"
LIST = "home_list"
MAX_VIEW_BLOCKS = 100
OPEN_SHOWN = 50  # open incidents listed (the rest: a count and /incident list)
MINE_SHOWN = 15
FOLLOW_UPS_SHOWN = 15
ON_CALL_SHOWN = 20
TITLE_MAX = 120


@dataclass(frozen=True)
class OnCall:
    rotation: str
    user: str | None  # None: nobody holds the rotation now
    until: datetime | None = None


@dataclass(frozen=True)
class FollowUp:
    incident_id: str
    number: int
    text: str  # Slack text
    due: date | None = None


@dataclass
class HomeState:
    """Everything the viewer's Home shows, read from the store by bot/incidents/home.py."""

    user: str
    open_incidents: list[Incident] = field(default_factory=list)
    on_call: list[OnCall] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # parts that could not be read
    updated: datetime | None = None


def _ago(value: datetime) -> str:
    return str(slack_date(value, "{ago}"))


def incident_line(policy: Policy, inc: Incident) -> str:
    sev = policy.severity_by_name(inc.severity)
    status = policy.status_by_name(inc.status)
    name = f"<#{inc.war_room.channel_id}>" if inc.war_room else f"*{inc.id}*"
    ident = f"*{inc.id}* {name}" if inc.war_room else name
    commander = f"IC <@{inc.commander}>" if inc.commander else "_no commander_"
    facts = " · ".join(
        part
        for part in (
            f"{sev.emoji} {escape(sev.label)}".strip(),
            ":mag_right: Triage" if inc.triage else f"{status.emoji} {escape(status.label)}".strip(),
            commander,
            f"declared {_ago(inc.created_at)}",
        )
        if part
    )
    marks = ("TEST · " if inc.test else "") + (":lock: " if inc.private else "")
    return f"{marks}{ident} {escape(clip(inc.title, TITLE_MAX))}\n      {facts}"


def _roles_of(policy: Policy, inc: Incident, user: str) -> list[str]:
    out = []
    for role, holder in inc.roles.items():
        if holder == user:
            found = policy.role(role)
            out.append(found.label if found else role.replace("_", " "))
    return out


def _ordered(policy: Policy, incidents: list[Incident]) -> list[Incident]:
    rank = {s.name: i for i, s in enumerate(policy.severities)}
    newest_first = sorted(incidents, key=lambda i: i.created_at, reverse=True)
    return sorted(newest_first, key=lambda i: rank.get(i.severity, len(rank)))


def _listing(lines: list[str], more: int, more_text: str) -> list[Block]:
    text = "\n".join(lines)
    if more > 0:
        text += f"\n_{more} more {more_text}_"
    return list(sections(text))


def home(policy: Policy, state: HomeState) -> View:
    user = state.user
    open_incidents = _ordered(policy, state.open_incidents)
    blocks: list[Block] = [
        header("Incidents"),
        ActionsBlock(
            block_id="home_actions",
            elements=[
                ButtonElement(text="Declare incident", action_id=DECLARE, style="danger", value="declare"),
                ButtonElement(text="List incidents", action_id=LIST, value="open"),
            ],
        ),
    ]
    if state.updated is not None:
        blocks.append(context(f"As of {slack_date(state.updated, '{date_short_pretty} {time}')}"))
    blocks.append(DividerBlock())

    mine = [(inc, roles) for inc in open_incidents if (roles := _roles_of(policy, inc, user))]
    blocks.append(section(f":bust_in_silhouette: *Your incidents* ({len(mine)})"))
    if mine:
        lines = [
            f"{incident_line(policy, inc)}\n      you: {escape(', '.join(roles))}"
            for inc, roles in mine[:MINE_SHOWN]
        ]
        blocks += _listing(lines, len(mine) - MINE_SHOWN, "where you hold a role")
    else:
        blocks.append(context("You hold no role in an open incident."))
    blocks.append(DividerBlock())

    blocks.append(section(f":rotating_light: *Open incidents* ({len(open_incidents)})"))
    if open_incidents:
        lines = [incident_line(policy, inc) for inc in open_incidents[:OPEN_SHOWN]]
        blocks += _listing(lines, len(open_incidents) - OPEN_SHOWN, "open: `/incident list`")
    else:
        blocks.append(context("No open incidents. :tada:"))
    blocks.append(DividerBlock())

    blocks.append(section(":telephone_receiver: *On call now*"))
    if state.on_call:
        lines = []
        for oc in state.on_call[:ON_CALL_SHOWN]:
            who = f"<@{oc.user}>" + (" (you)" if oc.user == user else "") if oc.user else "_nobody_"
            until = (
                f" until {slack_date(oc.until, '{date_short_pretty} {time}')}" if oc.until and oc.user else ""
            )
            lines.append(f"• {escape(oc.rotation)}: {who}{until}")
        blocks += _listing(lines, len(state.on_call) - ON_CALL_SHOWN, "rotations: `/escalate who`")
    else:
        blocks.append(context("No on-call rotations in the policy."))
    blocks.append(DividerBlock())

    blocks.append(section(f":ballot_box_with_check: *Your follow-ups* ({len(state.follow_ups)})"))
    if state.follow_ups:
        lines = [
            f"• *{f.incident_id}* #{f.number} {mrkdwn(f.text, 300)}"
            + (f" · due {f.due.isoformat()}" if f.due else "")
            for f in state.follow_ups[:FOLLOW_UPS_SHOWN]
        ]
        blocks += _listing(
            lines, len(state.follow_ups) - FOLLOW_UPS_SHOWN, "follow-ups: `/incident actions <INC>`"
        )
    else:
        blocks.append(context("No follow-ups assigned to you."))
    if state.problems:
        blocks.append(context(clip(":warning: " + "; ".join(escape(p) for p in state.problems[:5]), 3000)))
    if len(blocks) > MAX_VIEW_BLOCKS:  # cannot happen with the caps above; kept as the last guard
        blocks = [*blocks[: MAX_VIEW_BLOCKS - 1], context("… more not shown")]
    return View(type="home", callback_id="chatops_home", blocks=blocks)


def list_modal(blocks: list[Block]) -> View:
    """``List incidents`` from the Home: the list in a modal (a Home click has no channel)."""
    return View(
        type="modal",
        callback_id="chatops_home_list",
        title=PlainTextObject(text="Incidents"),
        close=PlainTextObject(text="Close"),
        blocks=blocks[:MAX_VIEW_BLOCKS],
    )
