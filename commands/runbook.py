"""/runbook: list runbooks, show one (optionally into an incident's war room), run its diagnostics,
and the remediation buttons under diagnostics results."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bot.blocks import section, usage
from bot.core.store import normalise_id
from bot.incidents.lookup import incident_for
from bot.listeners import (
    Click,
    Reply,
    Request,
    UsageError,
    action,
    looks_like_incident,
    slash_command,
    validate,
    with_problems,
)
from bot.runbooks import views as views
from bot.runbooks import workflow
from bot.runbooks.model import Runbook
from bot.runbooks.service import service_for
from bot.slack.errors import SlackCallError
from bot.text import plain
from integrations.kubernetes import RemediationResult

log = logging.getLogger(__name__)
runbook = slash_command("/runbook", "Runbooks with runnable diagnostics", default="show")
LABEL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,62})=(\S{1,200})$")
USAGE = [
    "/runbook                      (list them)",
    "/runbook <name> [INC] [label=value ...]",
    "/runbook pod-crash-loop",
    "/runbook KubePodCrashLooping INC-12",
    "/runbook high-error-rate service=checkout namespace=shop",
]


class ShowArgs(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    incident_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


def parse_show(text: str) -> ShowArgs:
    words = plain(text).split()  # names and label values are plain words (Slack sends R&amp;D)
    if not words:
        return ShowArgs()
    name, rest = words[0], words[1:]
    incident_id, labels = None, {}
    for word in rest:
        label = LABEL.match(word)
        if label:
            labels[label.group(1)] = label.group(2)
        elif looks_like_incident(word) and incident_id is None:
            incident_id = normalise_id(word)
        else:
            raise UsageError(f"`{word}` is neither an incident ID (INC-12) nor a label (`service=checkout`).")
    return validate(ShowArgs, name=name, incident_id=incident_id, labels=labels)


class NoArgs(BaseModel):
    pass


def parse_list(text: str) -> NoArgs:
    if text.strip():
        raise UsageError("`/runbook list` takes no arguments.")
    return NoArgs()


@runbook.sub("list", aliases=("ls",), usage=["/runbook list"], summary="List runbooks", parse=parse_list)
async def list_(req: Request, args: NoArgs) -> Reply:
    library = service_for(req.ctx).library()
    return Reply(views.runbook_list(library), text="Runbooks")


@runbook.sub("help", aliases=("?",), usage=USAGE, summary="Runbook help", parse=parse_list)
async def help_(req: Request, args: NoArgs) -> Reply:
    return Reply(usage("/runbook", USAGE), text="Usage of /runbook")


@runbook.sub("show", usage=USAGE, summary="Show a runbook", parse=parse_show)
async def show(req: Request, args: ShowArgs) -> Reply | None:
    library = service_for(req.ctx).library()
    if args.name is None:
        return Reply(views.runbook_list(library), text="Runbooks")
    found = library.get(args.name)
    if found is None:
        return Reply(views.not_found(args.name, library.closest(args.name)), text="No such runbook")
    channel, incident_id = req.channel_id, None
    if args.incident_id:
        inc = await incident_for(req, args.incident_id)
        incident_id = inc.id
        if inc.war_room is not None:
            channel = inc.war_room.channel_id
        elif inc.announcement is not None:
            channel = inc.announcement.channel
    else:
        incident_id = await req.ctx.store.incident_for_channel(req.channel_id)
    if channel == req.channel_id and channel.startswith("D"):
        # a direct message: the app's own with this person, or one between people the app is not
        # part of (Slack would answer channel_not_found to a post there); the DM's ID tells them apart
        dm = await workflow.open_dm(req.ctx, req.user_id)
        if dm != channel:
            return await _post_in_dm(req, found, dm)
    try:
        first_ts = await workflow.post_runbook(req.ctx, channel, found, incident_id, labels=args.labels)
    except SlackCallError as exc:
        if channel != req.channel_id or exc.error not in workflow.NOT_PART_OF_IT:
            raise
        # typed where the app is not part of the conversation (a DM between people): Slack answers
        # channel_not_found to any post there, so the runbook goes to the person's DM with the app
        # (where its buttons work) and the answer to where it was typed (the command's response)
        log.info("%s in %s: %s; posting to the DM with %s", req.command, channel, exc, req.user_id)
        return await _post_in_dm(req, found, await workflow.open_dm(req.ctx, req.user_id))
    await workflow.add_timeline(req.ctx, incident_id, req.user_id, "runbook", f"posted runbook {found.name}")
    if channel != req.channel_id:
        return Reply(
            [
                section(
                    f":blue_book: Posted *{views.escape(found.title)}* into <#{channel}> for {incident_id}."
                )
            ],
            text=f"Posted {found.title}",
        )
    return None if first_ts else Reply([section("The runbook could not be posted.")], text="not posted")


async def _post_in_dm(req: Request, found: Runbook, dm: str) -> Reply:
    """The runbook in the person's DM with the app, the answer where the command was typed."""
    first_ts = await workflow.post_runbook(req.ctx, dm, found, None)
    link = await req.ctx.slack.permalink(dm, first_ts)
    where = f"<{link}|your direct messages with me>" if link else "your direct messages with me"
    text = (
        f":blue_book: *{views.escape(found.title)}* is in {where}: I am not part of this conversation,"
        " so I cannot post it here."
    )
    return Reply([section(text)], text=f"{found.title}: in your direct messages with me")


def _decode(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise UsageError("This button's data is damaged; post the runbook again.") from exc
    if not isinstance(data, dict):
        raise UsageError("This button's data is damaged; post the runbook again.")
    return data


@action(views.RUN)
async def run_diagnostics(click: Click) -> Reply | None:
    data = _decode(click.value)
    library = service_for(click.ctx).library()
    found = library.get(str(data.get("runbook", "")))
    if found is None:
        return Reply([section(f":mag: The runbook `{data.get('runbook')}` no longer exists.")], text="gone")
    if not found.diagnostics:
        return Reply([section(f"*{views.escape(found.title)}* has no diagnostics.")], text="no diagnostics")
    if not click.channel_id or not click.message_ts:
        return Reply([section("Run diagnostics from the runbook message in a channel.")], text="no channel")
    labels = {str(k): str(v) for k, v in (data.get("labels") or {}).items()}
    run = await workflow.run_diagnostics(
        click.ctx,
        found,
        channel=click.channel_id,
        thread_ts=click.message_ts,
        actor=click.user_id,
        incident_id=data.get("incident"),
        labels=labels,
    )
    if run.problems:
        return with_problems(
            Reply([section("Diagnostics posted in the thread.")], text="diagnostics"), run.problems
        )
    return None


class RemediationArgs(BaseModel):
    a: str
    c: str
    n: str
    d: str
    i: str | None = None
    r: int | None = None


async def _remediation_args(click: Click) -> RemediationArgs | Reply:
    """The action and its target from the value; a target too long for the value (the Scale menu's
    150 characters) is looked up by its ref (``t``) in Redis."""
    data = _decode(click.value)
    ref = data.pop("t", None)
    if ref is not None:
        stored = await workflow.load_target(click.ctx, str(ref))
        if stored is None:
            return Reply(
                [section("This menu has expired; run the diagnostics again for a fresh one.")],
                text="expired",
            )
        data = {**stored, **data}
    try:
        return RemediationArgs.model_validate(data)
    except ValidationError:
        return Reply([section("This button's data is damaged; run the diagnostics again.")], text="damaged")


async def _remediate(click: Click) -> Reply:
    args = await _remediation_args(click)
    if isinstance(args, Reply):
        return args
    message = click.body.get("message") or {}
    thread_ts = (
        message.get("thread_ts") or (click.body.get("container") or {}).get("thread_ts") or click.message_ts
    )
    try:
        result = await workflow.remediate(
            click.ctx,
            actor=click.user_id,
            action=args.a,
            cluster=args.c,
            namespace=args.n,
            deployment=args.d,
            incident_id=args.i,
            replicas=args.r,
            channel=click.channel_id,
            thread_ts=thread_ts,
        )
    except workflow.RemediationRefused as exc:
        return Reply([section(f":no_entry: {exc}")], text="refused")
    if isinstance(result, RemediationResult):
        return Reply(
            [section(f":white_check_mark: {result.action}: {views.escape(result.detail)}")], text="done"
        )
    return Reply([section(f":x: {views.escape(result.reason)}")], text="failed")


for _name in ("rollout_restart", "rollout_undo"):
    action(f"{views.REMEDIATE}_{_name}", permission="remediate")(_remediate)
action(views.SCALE, permission="remediate")(_remediate)
