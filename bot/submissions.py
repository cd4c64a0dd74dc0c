"""Modal submissions through the listener pipeline (bot/pipeline.py): the same steps, in the order a
modal needs. The modal is where its user is looking, so the permission check and the listener's fast
validation run before the ack (within ``ACK_BUDGET``): field errors, a refusal, a missing permission
or an unexpected error (with its error id) are shown in the modal, which stays open. Then the
submission is claimed (a double submit runs once), acknowledged (the modal closes), and the slow
rest of the work (the listener's ``Finish``) runs; its answer is a direct message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot import audit
from bot.answers import Failure, Where, failure, modal_errors
from bot.context import AppContext
from bot.idempotency import view_claim
from bot.listeners import VIEWS, Reply, Submission
from bot.metrics import LISTENER_REQUESTS
from bot.pipeline import Ack, Job, attempt, first_time, settle

log = logging.getLogger(__name__)
ACK_BUDGET = 2.5  # seconds a modal's checks may take before its ack (Slack gives up at 3)


def _values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def value(v: dict[str, Any]) -> Any:
        if "selected_options" in v:
            return [o.get("value") for o in v.get("selected_options") or []]
        for key in ("selected_user", "selected_conversation", "selected_channel", "selected_date"):
            if key in v:
                return v[key]
        return v.get("value") or (v.get("selected_option") or {}).get("value")

    state = (view.get("state") or {}).get("values") or {}
    return {block: {aid: value(v) for aid, v in acts.items()} for block, acts in state.items()}


async def run_view(ctx: AppContext, body: dict[str, Any], ack: Ack) -> None:
    view = body.get("view") or {}
    callback = view.get("callback_id", "")
    user = (body.get("user") or {}).get("id", "")
    listener = VIEWS.get(callback)
    if listener is None:
        log.warning("no handler for view %s", callback)
        await ack()
        LISTENER_REQUESTS.labels("view", "unknown", "unhandled").inc()
        return
    values = _values(view)
    first_block = next(iter(values), None)
    sub = Submission(ctx, user, callback, values, view.get("private_metadata") or "", body)
    job = Job(
        ctx,
        "view",
        callback,
        f"modal {callback}",
        Where(user),  # no response_url: after the ack, answers are direct messages
        listener.permission,
        audit.incident_of(sub.private_metadata),
    )

    async def check() -> Any:
        async with asyncio.timeout(ACK_BUDGET):
            return await listener.check(sub)

    result = await attempt(job, check)  # permission and validation, before the ack
    if isinstance(result, Failure):
        await ack(**modal_errors(first_block, result.reply))
        await settle(job, result.outcome, result.detail)
        if not first_block:  # a modal without fields: the reason goes to a DM
            await job.where.send(ctx, result.reply)
        return
    if isinstance(result, dict) and result:
        await ack(response_action="errors", errors={k: str(v)[:150] for k, v in result.items()})
        await settle(job, "usage", "; ".join(f"{k}: {v}" for k, v in result.items())[:300])
        return
    try:
        first = await first_time(job, [view_claim(body)])
    except Exception as exc:  # the store is down: nothing was done, the modal says so
        lost = failure(exc, job.label)
        await ack(**modal_errors(first_block, lost.reply))
        await settle(job, lost.outcome, lost.detail)
        return
    await ack()
    if not first:
        return
    if not callable(result):
        await settle(job, "ok")
        return
    done = await attempt(job, result, check=False)  # the rest of the work, after the ack
    if isinstance(done, Failure):
        await settle(job, done.outcome, done.detail)
        await job.where.send(ctx, done.reply)
        return
    await settle(job, "ok")
    if isinstance(done, Reply):
        await job.where.send(ctx, done)
