"""/status update: a numbered, templated status update in the war room and under the announcement."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot import blocks
from bot import text as stext
from bot.core.store import normalise_id
from bot.escalation.statuspage_sync import mark_public, split_public_flag
from bot.incidents import workflow as flow
from bot.incidents.lookup import incident_for
from bot.listeners import (
    MAX_TEXT,
    Reply,
    Request,
    UsageError,
    looks_like_incident,
    slash_command,
    split,
    validate,
    with_problems,
)
from bot.permissions import require

status = slash_command("/status", "Post incident status updates", default="update")


class UpdateArgs(BaseModel):
    incident_id: str | None
    status: str = Field(min_length=1)
    message: str = Field(min_length=1, max_length=MAX_TEXT)
    public: bool = False  # --public: also on the status page (bot/escalation/statuspage_sync.py)


def parse_update(text: str) -> UpdateArgs:
    text, public = split_public_flag(text)
    words = text.strip().split(maxsplit=1)
    incident_id = None
    if words and looks_like_incident(words[0]):
        incident_id = normalise_id(words[0])
        text = words[1] if len(words) > 1 else ""
    parts = split(text, 1)
    if not parts:
        raise UsageError("Give a status and a message.")
    if len(parts) < 2 or not parts[1].strip():
        raise UsageError("Say what is happening after the status.")
    return validate(
        UpdateArgs,
        incident_id=incident_id,
        status=stext.plain(parts[0]).lower(),
        message=parts[1],
        public=public,
    )


@status.sub(
    "update",
    permission="update",
    usage=[
        "/status update <INC> <investigating|identified|monitoring|resolved> <message> [--public]",
        '/status update INC-123 investigating "Checking database connectivity"',
    ],
    summary="Post a status update",
    parse=parse_update,
)
async def update(req: Request, args: UpdateArgs) -> Reply:
    policy = req.ctx.policy
    if policy.status(args.status) is None:
        raise UsageError(
            f"`{args.status}` is not a status. Use one of: {', '.join(s.name for s in policy.statuses)}."
        )
    target = policy.status(args.status)
    if target is not None and target.resolved:
        await require(req.ctx, req.user_id, "resolve")  # resolving through /status needs that right
    inc = await incident_for(req, args.incident_id)
    if args.public:
        await mark_public(req.ctx, inc.id)
    # Slack text, as Slack sent it; typed @names of people become mentions
    message, unknown = await stext.resolve_names(req.ctx, args.message)
    out = await flow.update_status(req.ctx, inc.id, req.user_id, args.status, message)
    number = out.update.number if out.update else len(out.incident.updates)
    missing = ", ".join(f"`@{stext.escape(n)}`" for n in unknown[:10])
    tail = f"\nNobody in this workspace is called {missing}; left as typed." if unknown else ""
    return with_problems(
        Reply(
            blocks.message(f":loudspeaker: Update #{number} posted for {inc.id} ({args.status}).{tail}"),
            text="posted",
        ),
        out.problems,
    )
