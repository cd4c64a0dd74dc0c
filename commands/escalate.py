"""/escalate: escalate an incident to a level or a named role, or see who is on call.

    /escalate <INC> <level-or-target> [reason]     e.g. /escalate INC-123 tech-lead "no progress after 30 min"
    /escalate who

Inside a war room the incident ID may be left out. Bad or missing arguments are answered with the
usage and the levels the policy defines (the parser itself never fails: the levels live in the
policy, which the handler has).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from bot import blocks, people
from bot import text as stext
from bot.core.store import normalise_id
from bot.directory import resolve_principals
from bot.escalation import buttons as actions  # noqa: F401  (registers the escalation buttons and modal)
from bot.escalation import handoff, handoff_views
from bot.escalation import views as esc_views
from bot.escalation.engine import escalate as run_escalation
from bot.escalation.runtime import escalation_policy
from bot.escalation.targets import Selection, reach, select
from bot.incidents.lookup import incident_for
from bot.listeners import (
    MAX_TEXT,
    Reply,
    Request,
    UsageError,
    looks_like_incident,
    slash_command,
    unquote,
    with_problems,
)

escalate = slash_command("/escalate", "Escalate incidents and see who is on call", default="to")
USAGE = [
    "/escalate <INC> <level-or-target> [reason]",
    '/escalate INC-123 tech-lead "no progress after 30 min"',
    "/escalate INC-123 2",
    "/escalate INC-123 @carol   (people and groups too: @name, name, e-mail, @group)",
]


class EscalateArgs(BaseModel):
    incident_id: str | None = None
    target: str | None = None
    reason: str = Field(default="", max_length=MAX_TEXT)
    target_text: str = ""  # the target as Slack sent it (a mention keeps its user ID)
    # "/escalate 2 db is down" in a war room: 2 may be the level rather than incident #2
    bare_number: bool = False


def parse_escalate(text: str) -> EscalateArgs:
    words = text.strip().split(maxsplit=1)
    incident_id = None
    bare = bool(words) and words[0].isdigit()
    if words and looks_like_incident(words[0]):
        incident_id = normalise_id(words[0])
        words = words[1].split(maxsplit=1) if len(words) > 1 else []
    target = stext.plain(words[0]) if words else None  # a group mention names its handle
    reason = unquote(words[1]) if len(words) > 1 else ""
    return EscalateArgs(
        incident_id=incident_id,
        target=target,
        reason=reason[:MAX_TEXT],
        bare_number=bare,
        target_text=words[0] if words else "",
    )


def as_level_in_war_room(text: str) -> EscalateArgs:
    """The other reading of a leading bare number: the level, with the incident from the channel."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower() == "to":  # typed as "/escalate to 2 ..."
        words = words[1].split(maxsplit=1) if len(words) > 1 else []
    if not words:
        return EscalateArgs()
    reason = unquote(words[1])[:MAX_TEXT] if len(words) > 1 else ""
    return EscalateArgs(target=stext.plain(words[0]), reason=reason, target_text=words[0])


def levels_problem(req: Request, problem: str) -> UsageError:
    return UsageError(f"{problem}\n{esc_views.usage_levels(escalation_policy(req.ctx))}")


@escalate.sub(
    "to",
    usage=USAGE,
    summary="Escalate an incident to a level or a role",
    parse=parse_escalate,
    permission="escalate",
)
async def to(req: Request, args: EscalateArgs) -> Reply:
    esc = escalation_policy(req.ctx)
    if args.target is None:
        if args.incident_id is None:
            raise levels_problem(req, "Say which incident and whom to escalate to.")
        raise levels_problem(req, f"Say whom to escalate {args.incident_id} to.")
    selection = select(esc, args.target)
    if selection is None and args.bare_number:
        alternative = as_level_in_war_room(req.text)
        if alternative.target and await req.ctx.store.incident_for_channel(req.channel_id):
            args, selection = alternative, select(esc, alternative.target)
    target = args.target or ""
    if selection is None and not target.isdigit():
        selection = await people_selection(req, args.target_text or target)
    if selection is None:
        raise levels_problem(req, f"`{stext.escape(target)}` is not a level or role in the policy.")
    inc = await incident_for(req, args.incident_id)
    reason, _ = await stext.resolve_names(req.ctx, args.reason)  # Slack text; typed @names made mentions
    out = await run_escalation(req.ctx, inc.id, selection, actor=req.user_id, reason=reason)
    text = f":arrow_double_up: {inc.id} escalated to {selection.label}."
    return with_problems(Reply(blocks.message(text), text="escalated"), out.problems)


async def people_selection(req: Request, target: str) -> Selection | None:
    """Escalating to people: a mention, typed @name, name, e-mail or user group. None when the
    word names nobody and does not look like a person (then it was meant as a level or role); a
    UsageError naming it when it looks like one."""
    found = await people.find_people(req.ctx, target, groups=True)
    if found.users and not found.unknown:
        return Selection(stext.plain(target), users=tuple(found.users))
    if people.looks_like_person(target) and (problem := found.problem()):
        raise levels_problem(req, f"{problem} It is not a level or role in the policy either.")
    return None


class WhoArgs(BaseModel):
    pass


def parse_who(text: str) -> WhoArgs:
    if text.strip():
        raise UsageError("`/escalate who` takes no arguments.")
    return WhoArgs()


@escalate.sub(
    "who",
    usage=["/escalate who"],
    summary="Who is on call for each level now, and the next hand-offs",
    parse=parse_who,
)
async def who(req: Request, args: WhoArgs) -> Reply:
    esc = escalation_policy(req.ctx)
    now = datetime.now(UTC)
    lines: dict[int, list[str]] = {}
    problems: list[str] = []
    for lv in esc.levels:
        selection = select(esc, str(lv.level))
        if selection is None:
            continue
        found = reach(esc, selection, now)
        problems += found.problems
        lines[lv.level] = list(found.lines)
        if found.usergroups:
            members, group_problems = await resolve_principals(req.ctx, [f"@{h}" for h in found.usergroups])
            problems += group_problems
            if members:
                lines[lv.level].append("_groups now:_ " + ", ".join(f"<@{u}>" for u in members[:20]))
    upcoming = [h for r in esc.rotations if (h := handoff.next_handoff(r, now)) is not None]
    shown = [*esc_views.who_is_on_call(esc, lines, problems), *handoff_views.next_handoff_lines(upcoming)]
    return Reply(shown, text="Who is on call")
