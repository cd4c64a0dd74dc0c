"""/incident verbs for after the incident: timeline, review, action, actions, stats, close.

Importing this module also registers the "Create review" button and its handler, and the metrics
hooks on incident events.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, Field, field_validator
from slack_sdk.models.blocks import Block

import bot.review.metrics  # noqa: F401  (registers the /metrics hooks on incident events)
from bot import blocks
from bot import text as stext
from bot.core.models import utcnow
from bot.core.state import Refused
from bot.core.store import normalise_id
from bot.incidents import fields as incident_fields
from bot.incidents.lookup import incident_for
from bot.incidents.visibility import require_visible
from bot.listeners import (
    Click,
    Reply,
    Request,
    UsageError,
    action,
    looks_like_incident,
    one_line,
    unquote,
    user_id_of,
    validate,
    with_problems,
)
from bot.people import looks_like_person
from bot.review import followups, workflow
from bot.review import stats as stats_mod
from bot.review import views as views
from bot.review.upload import Upload, upload_files
from bot.slack.errors import SlackCallError
from bot.templates import escape
from commands.incident import RefArgs, incident, not_found, one_person, parse_ref_only

ACTION_TEXT_MAX = 500
_OWNER = re.compile(r"(?<!\S)owner[=:]\s*(\"[^\"]*\"|“[^”]*”|\S+)", re.IGNORECASE)
_DUE = re.compile(r"^due[:=]?(\d{4}-\d{2}-\d{2})?$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# timeline


@incident.sub(
    "timeline",
    usage=["/incident timeline <INC>"],
    summary="Show an incident's whole timeline",
    parse=parse_ref_only,
)
async def timeline(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    entries = await req.ctx.store.timeline(inc.id)
    pages = views.timeline_pages(inc, entries)
    for page in pages[:-1]:  # earlier pages first, through the same response_url
        if req.response_url:
            await req.ctx.gateway.respond(req.response_url, Reply(page, text=f"{inc.id} timeline").payload())
    return Reply(pages[-1], text=f"{inc.id} timeline")


# --------------------------------------------------------------------------------------------
# review


@incident.sub(
    "review",
    permission="update",
    usage=["/incident review <INC>"],
    summary="Generate the post-incident review (Markdown file in the war room)",
    parse=parse_ref_only,
)
async def review(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    out = await workflow.create_review(req.ctx, inc.id, req.user_id, req.channel_id)
    return with_problems(
        Reply(views.review_created(out.incident, out.review, out.shared_in), text=f"{inc.id} review"),
        out.problems,
    )


@action(views.CREATE_REVIEW, permission="update")
async def create_review_button(click: Click) -> Reply:
    out = await workflow.create_review(click.ctx, click.value, click.user_id, click.channel_id)
    return with_problems(
        Reply(
            views.review_created(out.incident, out.review, out.shared_in), text=f"{out.incident.id} review"
        ),
        out.problems,
    )


# --------------------------------------------------------------------------------------------
# action items


class ActionArgs(BaseModel):
    incident_id: str | None = None
    text: str = Field(min_length=1, max_length=ACTION_TEXT_MAX)
    owner: str | None = None
    due: date | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        return one_line(v, "describe the action")


class ExportArgs(BaseModel):
    """``/incident action export [INC] [#n ...] [github|jira]``: no number exports every item not
    yet exported."""

    incident_id: str | None = None
    numbers: list[int] = Field(default_factory=list)
    tracker: str | None = None


_ITEM_NUMBER = re.compile(r"^#?(\d{1,6})$")


def parse_export(words: list[str]) -> ExportArgs | None:
    """The export form when every word after ``export`` is an incident, an item number or a tracker;
    None when it reads as an action item's text (``/incident action Export the logs``)."""
    args = ExportArgs()
    for word in words:
        lowered = word.lower().strip(",")
        if looks_like_incident(lowered) and args.incident_id is None:
            args.incident_id = normalise_id(lowered)
        elif m := _ITEM_NUMBER.match(lowered):
            args.numbers.append(int(m.group(1)))
        elif lowered in ("github", "jira") and args.tracker is None:
            args.tracker = lowered
        else:
            return None
    return args


def parse_action(text: str) -> ActionArgs | ExportArgs:
    words = text.split()
    if words and words[0].lower() == "export":
        exported = parse_export(words[1:])
        if exported is not None:
            return exported
    owner: str | None = None
    if m := _OWNER.search(text):  # owner=carol, owner="Carol Chen", owner=carol@example.com
        owner = unquote(m.group(1))
        text = text[: m.start()] + text[m.end() :]
    words = text.split()
    incident_id = None
    if words and looks_like_incident(words[0]):
        incident_id = normalise_id(words.pop(0))
    due: date | None = None
    # from the end: [due YYYY-MM-DD] then [@owner]
    if words:
        m = _DUE.match(words[-1]) if len(words) >= 1 else None
        date_word = None
        if m and m.group(1):
            date_word = m.group(1)
            words.pop()
        elif len(words) >= 2 and words[-2].lower() == "due":
            date_word = words[-1]
            words = words[:-2]
        elif m:
            raise UsageError("Give the due date after `due`, as YYYY-MM-DD.")
        if date_word is not None:
            try:
                due = date.fromisoformat(date_word)
            except ValueError as exc:
                raise UsageError(f"`{date_word}` is not a date; write it as YYYY-MM-DD.") from exc
    # [owner]: a mention, typed @name, group (refused: one owner), e-mail, or owner=<name>
    if owner is None and words and looks_like_person(words[-1]):
        owner = words.pop()
    if owner is not None and words and looks_like_person(words[-1]):
        raise UsageError("An action item has one owner: name one person at the end.")
    if owner is not None:
        owner = user_id_of(owner) or owner  # a mention is its user ID; other names: the handler
    body = unquote(" ".join(words))
    if not body:
        raise UsageError(
            "Describe the action item, e.g. `/incident action INC-12 Add an alert @bob due 2030-01-31`."
        )
    return validate(ActionArgs, incident_id=incident_id, text=body, owner=owner, due=due)


@incident.sub(
    "action",
    permission="update",
    usage=[
        "/incident action <INC> <text> [owner] [due YYYY-MM-DD]",
        "/incident action INC-12 Alert on queue depth @bob due 2030-01-31",
        "/incident action export <INC> [#n ...] [github|jira]",
    ],
    summary="Add a follow-up action item, or export items to GitHub Issues or Jira",
    parse=parse_action,
)
async def add_action(req: Request, args: ActionArgs | ExportArgs) -> Reply:
    if isinstance(args, ExportArgs):
        return await export_actions(req, args)
    owner = await one_person(req, args.owner, "the owner") if args.owner else None
    inc = await incident_for(req, args.incident_id)
    body, unknown = await stext.resolve_names(req.ctx, args.text)
    item = await workflow.add_action(req.ctx, inc.id, req.user_id, body, owner, args.due)
    shown = views.action_added(inc, item, req.ctx.policy.review.trackers.configured())
    if unknown:
        shown = [*shown, *blocks.message(not_found(unknown).strip())]
    return Reply(shown, text=f"action item #{item.number} added")


@incident.sub(
    "actions",
    usage=["/incident actions <INC>"],
    summary="List an incident's action items",
    parse=parse_ref_only,
)
async def list_actions(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    items = await workflow.records(req.ctx).actions(inc.id)
    read = await followups.refresh_states(req.ctx, inc.id, items)
    trackers = req.ctx.policy.review.trackers.configured()
    return with_notes(
        Reply(views.action_list(inc, read.items, trackers), text=f"{inc.id} action items"), read.problems
    )


def with_notes(reply: Reply, notes: list[str]) -> Reply:
    """Tracker problems under an answer that is otherwise complete."""
    if notes:
        reply.blocks.append(blocks.context(":warning: " + "\n".join(f"• {escape(n)}" for n in notes[:10])))
    return reply


async def export_actions(req: Request, args: ExportArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    items = await workflow.records(req.ctx).actions(inc.id)
    numbers = args.numbers or [a.number for a in items if a.issue is None]
    if not numbers:
        text = (
            f"Every action item of {inc.id} is already tracked; `/incident actions {inc.id}` shows them."
            if items
            else f"{inc.id} has no action items to export; add one with `/incident action {inc.id} <text>`."
        )
        return Reply(blocks.message(text), text="nothing to export")
    shown: list[Block] = []
    refused: list[str] = []
    for number in numbers[:20]:
        try:
            item = await followups.export_action(req.ctx, inc.id, number, req.user_id, args.tracker)
        except Refused as exc:
            refused.append(str(exc))
            if (
                "is not configured" in str(exc)
                or "No issue tracker" in str(exc)
                or "not a tracker" in str(exc)
            ):
                break  # the same answer for every item
            continue
        shown += views.action_exported(inc, item)
    if refused:
        shown += blocks.message("\n".join(f":x: {r}" for r in refused))
    return Reply(shown, text=f"{inc.id} action items exported" if not refused else "export: problems")


@action(views.export_action_id("github"), permission="update")
@action(views.export_action_id("jira"), permission="update")
async def export_click(click: Click) -> Reply:
    raw = (click.selected or click.value or "").strip()
    incident_id, _, number = raw.rpartition(":")
    if not incident_id or not number.isdigit():
        return Reply(
            blocks.message("This export button is out of date; run `/incident actions <INC>`."), text="export"
        )
    tracker = click.action_id.rsplit("_", 1)[-1]
    inc = await require_visible(click.ctx, click.user_id, await click.ctx.store.get(incident_id))
    try:
        item = await followups.export_action(click.ctx, inc.id, int(number), click.user_id, tracker)
    except Refused as exc:
        return Reply(blocks.message(f":x: {exc}"), text="export refused")
    return Reply(views.action_exported(inc, item), text=f"{inc.id} action item exported")


# --------------------------------------------------------------------------------------------
# stats


class StatsArgs(BaseModel):
    days: int | None = Field(default=None, ge=1, le=366)  # None: the policy's default period
    filters: dict[str, str] = Field(default_factory=dict)  # type= and custom field=value


def parse_stats(text: str) -> StatsArgs:
    try:
        rest, filters = incident_fields.split_assignments(text)
    except incident_fields.FieldProblem as exc:
        raise UsageError(str(exc)) from exc
    word = rest.strip().lower()
    if not word:
        return StatsArgs(filters=filters)
    days = stats_mod.parse_period(word)
    if days is None:
        raise UsageError(f"`{word}` is not a period: use 7d, 30d or 90d (any number of days up to 366d).")
    return StatsArgs(days=days, filters=filters)


@incident.sub(
    "stats",
    usage=["/incident stats [7d|30d|90d] [type=<type>] [<field>=<value> ...]"],
    summary="Incidents by severity, mean time to acknowledge and to resolve, with a chart",
    parse=parse_stats,
)
async def stats(req: Request, args: StatsArgs) -> Reply:
    policy = req.ctx.policy
    days = args.days or stats_mod.parse_period(policy.review.stats_default_period) or 30
    try:
        flt = incident_fields.make_filter(policy, args.filters)
    except incident_fields.FieldProblem as exc:
        raise UsageError(str(exc)) from exc
    figures = await stats_mod.gather(
        req.ctx.store,
        [s.name for s in policy.severities],
        days=days,
        now=utcnow(),
        include_private=policy.incidents.private_in_stats,
        where=(lambda inc: incident_fields.matches(inc, flt)) if flt.active else None,
    )
    shown = views.stats_blocks(policy, figures)
    if flt.active:
        shown.append(blocks.context(f"Only incidents with `{escape(flt.describe())}`"))
    problems: list[str] = []
    if policy.review.stats_chart:
        # the answer is only for whoever asked (ephemeral); a file cannot be, so the chart goes to
        # their direct messages with the bot, never into the channel they typed in
        from bot.review.chart import stats_png  # matplotlib only when a chart is wanted

        png = stats_png(figures, {s.name: s.label or s.name for s in policy.severities})
        try:
            dm = await req.ctx.gateway.call("conversations.open", users=req.user_id)
            await upload_files(
                req.ctx,
                [Upload(f"incident-stats-{days}d.png", png, f"Incidents, last {days} days")],
                channel=str(dm["channel"]["id"]),
                comment=views.stats_text(policy, figures),
            )
            shown = [*shown, *blocks.message(":bar_chart: The chart is in your direct messages with me.")]
        except SlackCallError as exc:
            problems.append(f"sending you the chart failed: {exc.error}")
    return with_problems(Reply(shown, text=f"incident stats, {days} days"), problems)


# --------------------------------------------------------------------------------------------
# close


@incident.sub(
    "close",
    permission="resolve",
    usage=["/incident close <INC>"],
    summary="Close a reviewed incident and archive its war room",
    parse=parse_ref_only,
)
async def close(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    out = await workflow.close(req.ctx, inc.id, req.user_id)
    room = f" War room <#{inc.war_room.channel_id}> archived." if out.archived and inc.war_room else ""
    return with_problems(
        Reply(blocks.message(f":lock: {inc.id} closed.{room} Its record stays."), text="closed"),
        out.problems,
    )
