"""/incident: declare, list, show, resolve, reopen, roles, notes, invites, triage, merge, catch-up.

Longer than 400 lines on purpose: one module per slash command (docs/architecture.md), and /incident
has about twenty verbs, each a small parser beside its handler; the incident logic itself lives in
bot/incidents/."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bot import blocks, people
from bot import text as stext
from bot.core.store import normalise_id
from bot.incidents import (
    access,  # noqa: F401  (registers the Request access / Approve / Deny buttons)
    catchup,
    declare_modal,
    home,  # noqa: F401  (registers the App Home's listeners and hooks)
    stages,  # noqa: F401  (registers the Accept button of an incident in triage)
    views,
)
from bot.incidents import fields as incident_fields
from bot.incidents import workflow as flow
from bot.incidents.declare_views import Origin
from bot.incidents.lookup import incident_for
from bot.incidents.visibility import visible
from bot.listeners import (
    MAX_TEXT,
    Reply,
    Request,
    UsageError,
    looks_like_incident,
    one_line,
    slash_command,
    split,
    unquote,
    validate,
    with_problems,
)
from bot.runbooks.enrichment import triage_snapshot

incident = slash_command("/incident", "Declare and run incidents", default=None)


class CreateArgs(BaseModel):
    severity: str = ""  # empty: none given (allowed with service=, when triage is on)
    title: str = Field(min_length=1, max_length=150)  # check_title says what is wrong first
    service: str | None = None
    private: bool = False
    test: bool = False
    triage: bool = False
    type: str | None = None  # incidents.types, with its fields as name=value words
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return one_line(v, "a title is needed")


class ModalArgs(BaseModel):
    """``/incident create`` with no arguments: the declaration modal opens."""


FLAGS = ("private", "test", "triage")
_QUOTED = re.compile(r'("[^"]*"|“[^”]*”)')
_FLAG = re.compile(r"(?<!\S)--([A-Za-z][\w-]*)(?!\S)")


def split_flags(text: str) -> tuple[str, set[str]]:
    """``critical "DB down" --private --test`` -> (``critical "DB down"``, {private, test}); a flag
    inside the quoted title stays part of it; an unknown flag is a usage error."""
    found: set[str] = set()
    parts = _QUOTED.split(text)
    for i in range(0, len(parts), 2):  # the even parts are outside quotes

        def take(m: re.Match[str]) -> str:
            name = m.group(1).lower()
            if name not in FLAGS:
                known = ", ".join(f"`--{f}`" for f in FLAGS)
                raise UsageError(f"`--{stext.escape(m.group(1))}` is not an option; options: {known}.")
            found.add(name)
            return ""

        parts[i] = _FLAG.sub(take, parts[i])
    return " ".join("".join(parts).split()), found


def parse_create(text: str) -> CreateArgs | ModalArgs:
    text, flags = split_flags(text)
    if not text.strip():
        if flags:
            raise UsageError("Give a severity and a title with the options, or no arguments for the form.")
        return ModalArgs()
    try:  # service=, type= and the type's fields (name=value), outside the quoted title
        text, assigned = incident_fields.split_assignments(text)
    except incident_fields.FieldProblem as exc:
        raise UsageError(str(exc)) from exc
    service = stext.plain(assigned.pop("service", "")) or None
    incident_type = assigned.pop("type", None)
    if text.strip()[:1] in ('"', "“", "'") and service:
        parts = ["", stext.unquote(text)]  # no severity, a quoted title: triage may suggest the severity
    else:
        parts = split(text, 1)
    if len(parts) < 2:
        raise UsageError("Give a severity and a title.")
    severity, title = parts
    # a title is plain text (channel names, headers, topics); views escape it once for mrkdwn
    title = stext.plain(title)
    check_title(title)
    on = {f: f in flags for f in FLAGS}
    return validate(
        CreateArgs,
        severity=stext.plain(severity),
        title=title,
        service=service,
        type=incident_type,
        fields=assigned,
        **on,
    )


TITLE_MAX = 150


def check_title(title: str) -> None:
    """Clear sentences for the title's usual mistakes (never a validator's raw text)."""
    shown = " ".join(title.split())
    if not shown or shown in ('""', "''", "“”"):
        raise UsageError('Give a title after the severity, e.g. `critical "API gateway down"`.')
    if shown.count('"') % 2 or shown.count("“") != shown.count("”"):
        raise UsageError(
            "The title's quotes do not match: put the whole title in one pair, e.g. "
            f'`"API gateway down"` (you wrote `{stext.escape(blocks.clip(shown, 60))}`).'
        )
    if len(shown) > TITLE_MAX:
        raise UsageError(
            f"The title is {len(shown)} characters long; keep it to {TITLE_MAX} or fewer "
            "(details go in a status update or a note)."
        )


@incident.sub(
    "create",
    aliases=("declare", "new"),
    permission="declare",
    usage=[
        "/incident create <severity> <title> [service=<name>] [type=<type> <field>=<value> ...] [--private] [--triage] [--test]",
        '/incident create critical "API gateway down"',
        '/incident create high "Suspicious logins" --private',
        "/incident create   (no arguments: a form)",
    ],
    summary="Declare an incident",
    parse=parse_create,
)
async def create(req: Request, args: CreateArgs | ModalArgs) -> Reply | None:
    if isinstance(args, ModalArgs):
        await declare_modal.open_modal(req.ctx, req.trigger_id, Origin(channel=req.channel_id or None))
        return None
    policy = req.ctx.policy
    severity, title, snapshot = args.severity, args.title, None
    if policy.severity(args.severity) is None:
        names = ", ".join(
            f"{s.name} ({'/'.join(s.aliases[:2])})" if s.aliases else s.name for s in policy.severities
        )
        if not (args.service and policy.runbooks.triage.enabled):
            problem = f"`{args.severity}` is not a severity." if args.severity else "Give a severity."
            raise UsageError(f"{problem} Use one of: {names}.")
        # no severity given: the first word belongs to the title, and triage suggests the severity
        title = f"{args.severity} {args.title}".strip()
        snapshot = await triage_snapshot(req.ctx, args.service)
        if snapshot is None or snapshot.suggested_severity is None:
            raise UsageError(
                f"No severity given, and triage of `{args.service}` suggests none. Use one of: {names}."
            )
        severity = snapshot.suggested_severity
    typed = await typed_fields(req, args.type, args.fields)
    out = await flow.declare(
        req.ctx,
        user=req.user_id,
        severity=severity,
        title=title,
        origin_channel=req.channel_id,
        service=args.service,
        private=args.private,
        test=args.test,
        triage=args.triage,
        incident_type=typed.type,
        fields=typed.fields,
    )
    if args.service and policy.runbooks.triage.enabled:
        snapshot = snapshot or await triage_snapshot(req.ctx, args.service)
        if snapshot is not None:
            suggested = snapshot.suggested_severity if severity != args.severity else None
            await flow.post_to_incident(
                req.ctx,
                out.incident,
                views.triage(snapshot, suggested),
                f"Triage of {args.service}",
                out,
            )
    return with_problems(
        Reply(views.created_reply(out.incident, out.announcement_link), text=f"{out.incident.id} declared"),
        out.problems,
    )


async def typed_fields(req: Request, type_name: str | None, given: dict[str, str]) -> incident_fields.Checked:
    """The incident type and its fields from ``type=`` and ``name=value`` words; people named in
    user fields are resolved like any person (@name, mention, e-mail); each problem is a sentence."""
    itype = req.ctx.policy.incidents.incident_type(type_name)
    resolved = dict(given)
    for name, value in given.items():
        spec = itype.field(name) if itype else None
        if spec is not None and spec.type == "user" and value.strip():
            resolved[name] = await one_person(req, value, spec.shown_label)
    checked = incident_fields.check(req.ctx.policy, type_name, resolved)
    if checked.problems:
        raise UsageError(checked.sentence())
    return checked


class ListArgs(BaseModel):
    scope: Literal["open", "all"] = "open"
    filters: dict[str, str] = Field(default_factory=dict)  # type= and field=value


def parse_list(text: str) -> ListArgs:
    try:
        rest, filters = incident_fields.split_assignments(text)
    except incident_fields.FieldProblem as exc:
        raise UsageError(str(exc)) from exc
    word = rest.strip().lower() or "open"
    if word not in ("open", "all"):
        raise UsageError(
            f"`{word}`: list `open` or `all` incidents (and filter with `type=` or `<field>=<value>`)."
        )
    return ListArgs(scope=word, filters=filters)  # type: ignore[arg-type]


@incident.sub(
    "list",
    usage=["/incident list [open|all] [type=<type>] [<field>=<value> ...]"],
    summary="List incidents",
    parse=parse_list,
    aliases=("ls",),
)
async def list_(req: Request, args: ListArgs) -> Reply:
    try:
        flt = incident_fields.make_filter(req.ctx.policy, args.filters)
    except incident_fields.FieldProblem as exc:
        raise UsageError(str(exc)) from exc
    found = await visible(
        req.ctx, req.user_id, await req.ctx.store.list(include_resolved=args.scope == "all")
    )
    found = [i for i in found if incident_fields.matches(i, flt)]
    shown = views.incident_list(req.ctx.policy, found, args.scope)
    if flt.active:
        shown.append(blocks.context(f"Filtered by `{blocks.escape(flt.describe())}`"))
    return Reply(shown, text="Incidents")


class RefArgs(BaseModel):
    incident_id: str | None = None
    text: str = Field(default="", max_length=MAX_TEXT)


def _ref_then_text(text: str) -> RefArgs:
    parts = split(text, 1)
    if parts and looks_like_incident(parts[0]):
        given = normalise_id(parts[0])
        rest = parts[1] if len(parts) > 1 else ""
        return validate(RefArgs, incident_id=given, text=rest)
    return validate(RefArgs, incident_id=None, text=unquote(text))


def _ref_and_text(text: str, missing: str) -> RefArgs:
    """An optional incident ID, then text that must be there (``missing`` says what to write)."""
    args = _ref_then_text(text)
    if not args.text.strip():
        raise UsageError(missing)
    return args


def parse_ref_only(text: str) -> RefArgs:
    args = _ref_then_text(text)
    if args.text:
        raise UsageError(f"`{args.text}` is not an incident ID (they look like INC-12).")
    return args


@incident.sub(
    "show",
    usage=["/incident show <INC>"],
    summary="Show an incident",
    parse=parse_ref_only,
    aliases=("status", "info"),
)
async def show(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    timeline = await req.ctx.store.timeline(inc.id)
    return Reply(views.details(req.ctx.policy, inc, timeline), text=f"{inc.id}: {inc.title}")


@incident.sub(
    "resolve",
    permission="resolve",
    usage=["/incident resolve <INC> [summary]"],
    summary="Resolve an incident",
    parse=_ref_then_text,
)
async def resolve(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    summary, unknown = await stext.resolve_names(req.ctx, args.text)
    out = await flow.resolve(req.ctx, inc.id, req.user_id, summary or None)
    return with_problems(
        Reply(blocks.message(f":white_check_mark: {inc.id} resolved.{not_found(unknown)}"), text="resolved"),
        out.problems,
    )


@incident.sub(
    "reopen",
    permission="resolve",
    usage=["/incident reopen <INC>"],
    summary="Reopen a resolved incident",
    parse=parse_ref_only,
)
async def reopen(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    out = await flow.reopen(req.ctx, inc.id, req.user_id)
    return with_problems(
        Reply(blocks.message(f":arrows_counterclockwise: {inc.id} reopened."), text="reopened"), out.problems
    )


class RoleArgs(BaseModel):
    incident_id: str | None
    role: str
    person: str  # Slack text naming one person, resolved by the handler (bot/people.py)


def parse_role(raw: str) -> RoleArgs:
    words = split(raw, 1)
    incident_id = None
    if words and looks_like_incident(words[0]):
        incident_id = normalise_id(words[0])
        words = split(words[1], 1) if len(words) > 1 else []
    if len(words) != 2 or not words[1].strip():
        raise UsageError("Give a role and a person, e.g. `tech-lead @carol` or `scribe carol@example.com`.")
    return RoleArgs(incident_id=incident_id, role=stext.plain(words[0]), person=words[1])


async def one_person(req: Request, text: str, what: str = "a person") -> str:
    """The user ID of the one person ``text`` names; a UsageError naming what matched nobody."""
    user, found = await people.find_person(req.ctx, text)
    if user is not None:
        return user
    if problem := found.problem():
        raise UsageError(problem)
    if len(found.users) > 1:
        raise UsageError(f"Name one person as {what}, not {len(found.users)}.")
    raise UsageError(f"`{stext.plain(text)}` is not a person: give a mention, @name, name or e-mail.")


@incident.sub(
    "role",
    permission="update",
    usage=[
        "/incident role <INC> <commander|tech-lead|comms-lead|scribe> <person>",
        "/incident role INC-12 tech-lead @carol",
    ],
    summary="Assign a role (a mention, @name, name or e-mail)",
    parse=parse_role,
)
async def role(req: Request, args: RoleArgs) -> Reply:
    if req.ctx.policy.role(args.role) is None:
        names = ", ".join(r.name.replace("_", "-") for r in req.ctx.policy.roles)
        raise UsageError(f"`{stext.escape(args.role)}` is not a role. Roles: {names}.")
    user = await one_person(req, args.person, f"the {args.role}")
    inc = await incident_for(req, args.incident_id)
    out = await flow.assign_role(req.ctx, inc.id, req.user_id, args.role, user)
    return with_problems(
        Reply(blocks.message(f"<@{user}> is now {stext.escape(args.role)} of {inc.id}."), text="role"),
        out.problems,
    )


def parse_invite(text: str) -> RefArgs:
    return _ref_and_text(text, "Say whom to invite: mentions, @names, names, e-mails or @groups.")


@incident.sub(
    "invite",
    permission="update",
    usage=[
        "/incident invite <INC> <people or @groups>",
        "/incident invite INC-12 @carol dave@example.com @payments-team",
    ],
    summary="Invite people and groups to the war room",
    parse=parse_invite,
)
async def invite(req: Request, args: RefArgs) -> Reply:
    found = await people.find_people(req.ctx, args.text, groups=True)
    if not found.users:
        raise UsageError(found.problem() or "Say whom to invite.")
    inc = await incident_for(req, args.incident_id)
    if inc.war_room is None:
        raise UsageError(f"{inc.id} has no war room to invite people to.")
    out = flow.Outcome(inc)
    await flow.invite(req.ctx, inc.war_room.channel_id, found.users, out)
    who = ", ".join(f"<@{u}>" for u in found.users[:30])
    more = f" and {len(found.users) - 30} more" if len(found.users) > 30 else ""
    tail = f"\n{problem}" if (problem := found.problem()) else ""
    return with_problems(
        Reply(
            blocks.message(f":wave: Invited {who}{more} to <#{inc.war_room.channel_id}>.{tail}"),
            text="invited",
        ),
        out.problems,
    )


@incident.sub(
    "catchup",
    usage=["/incident catchup [INC]"],
    summary="What changed since you last looked (only you see it)",
    parse=parse_ref_only,
    aliases=("catch-up",),
)
async def catch_up(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    return await catchup.catch_up(req.ctx, inc.id, req.user_id)


@incident.sub(
    "accept",
    permission="declare",
    usage=["/incident accept [INC]"],
    summary="Accept an incident in triage (war room, pages)",
    parse=parse_ref_only,
)
async def accept(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    out = await flow.accept(req.ctx, inc.id, req.user_id)
    room = f" War room: <#{out.incident.war_room.channel_id}>." if out.incident.war_room else ""
    return with_problems(
        Reply(blocks.message(f":white_check_mark: {inc.id} accepted.{room}"), text="accepted"), out.problems
    )


def parse_decline(text: str) -> RefArgs:
    return _ref_and_text(text, 'Say why it is declined, e.g. `/incident decline INC-12 "known flaky alert"`.')


@incident.sub(
    "decline",
    permission="declare",
    usage=['/incident decline [INC] "<reason>"', '/incident decline INC-12 "duplicate of a known alert"'],
    summary="Decline an incident in triage (closed, out of metrics)",
    parse=parse_decline,
)
async def decline(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    reason, _ = await stext.resolve_names(req.ctx, args.text)
    out = await flow.decline(req.ctx, inc.id, req.user_id, reason)
    return with_problems(
        Reply(blocks.message(f":no_entry_sign: {inc.id} declined."), text="declined"), out.problems
    )


class MergeArgs(BaseModel):
    source: str
    target: str


def parse_merge(text: str) -> MergeArgs:
    words = text.split()
    if len(words) == 2:
        words = [words[0], "into", words[1]]
    if len(words) != 3 or words[1].lower() != "into":
        raise UsageError("Say which incident goes into which, e.g. `/incident merge INC-13 into INC-12`.")
    source, target = normalise_id(words[0]), normalise_id(words[2])
    for given, found in ((words[0], source), (words[2], target)):
        if found is None:
            raise UsageError(f"`{stext.escape(given)}` is not an incident ID (they look like INC-12).")
    assert source is not None and target is not None
    return MergeArgs(source=source, target=target)


@incident.sub(
    "merge",
    permission="update",
    usage=["/incident merge <INC> into <INC>", "/incident merge INC-13 into INC-12"],
    summary="Merge a duplicate into another incident (it is closed with a pointer)",
    parse=parse_merge,
)
async def merge(req: Request, args: MergeArgs) -> Reply:
    source = await incident_for(req, args.source)
    target = await incident_for(req, args.target)
    out = await flow.merge(req.ctx, source.id, target.id, req.user_id)
    return with_problems(
        Reply(
            blocks.message(f":twisted_rightwards_arrows: {source.id} merged into {target.id}."),
            text="merged",
        ),
        out.problems,
    )


def parse_note(text: str) -> RefArgs:
    return _ref_and_text(text, "Write the note after the incident ID.")


@incident.sub(
    "note",
    permission="update",
    usage=["/incident note <INC> <text>"],
    summary="Add a timeline note",
    parse=parse_note,
)
async def note(req: Request, args: RefArgs) -> Reply:
    inc = await incident_for(req, args.incident_id)
    note_text, unknown = await stext.resolve_names(req.ctx, args.text)
    await flow.add_note(req.ctx, inc.id, req.user_id, note_text)
    return Reply(
        blocks.message(f":memo: Note added to {inc.id}'s timeline.{not_found(unknown)}"), text="note added"
    )


def not_found(names: list[str]) -> str:
    """A sentence naming the typed @names that matched nobody (they stay as typed words)."""
    if not names:
        return ""
    listed = ", ".join(f"`@{stext.escape(n)}`" for n in names[:10])
    return f"\nNobody in this workspace is called {listed}; left as typed."


class NoArgs(BaseModel):
    pass


def parse_nothing(text: str) -> NoArgs:
    return NoArgs()


@incident.sub("help", usage=["/incident help"], summary="This help", parse=parse_nothing, aliases=("?",))
async def help_(req: Request, args: NoArgs) -> Reply:
    from bot.listeners import REGISTRY

    # each line once: several sub-commands share usage lines (e.g. /runbook's show and help)
    lines = list(dict.fromkeys(line.strip() for cmd in REGISTRY.values() for line in cmd.usage_lines()))
    return Reply(blocks.usage("the incident bot", [line for line in lines if line]), text="help")
