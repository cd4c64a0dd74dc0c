"""Silence an alert group in Alertmanager from Slack, and end the silence early.

*Silence* on an alert root opens a modal: a duration (1h, 4h, 24h or custom), a comment, and a preview
of how many firing alerts the silence mutes now (Alertmanager's own matching). Submitting creates the
silence through Alertmanager's API v2 with the group's labels as matchers and ``createdBy`` = the Slack
user; the thread says "Silenced by @x until <time>". *Unsilence* expires it. Both need the ``silence``
permission; the listener pipeline audits every click and submission. Alertmanager is the policy's
``alerts.alertmanager_url``, else the route's, else the one in the notification's ``externalURL``; when
it cannot be reached, the user gets one clear line and nothing changes in the bot. Silences made
outside Slack and silences that end are followed by bot/alerts/silence_watch.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject
from slack_sdk.models.views import View

from bot import blocks
from bot.alerts import views as alert_views
from bot.alerts.buttons import _load_group, _trigger, _update_group
from bot.alerts.state import GroupState
from bot.blocks import escape
from bot.config.alerts import AlertsPolicy
from bot.context import AppContext
from bot.core.state import Refused
from bot.durations import parse_duration
from bot.listeners import Click, FieldErrors, Finish, Reply, Submission, action, view_submission
from bot.templates import slack_date
from integrations.alertmanager import AlertmanagerClient, Matcher
from integrations.failures import Failure

log = logging.getLogger(__name__)

MODAL = "alerts_silence_modal"
DURATIONS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}
MAX_DURATION = timedelta(days=30)


def matchers_for(state: GroupState) -> list[Matcher]:
    """The group's labels (what Alertmanager grouped by), else the labels all its alerts share."""
    labels = state.group_labels or state.common_labels
    return [Matcher(name, value) for name, value in sorted(labels.items())]


def client_for(state: GroupState, policy: AlertsPolicy) -> AlertmanagerClient:
    """The group's Alertmanager: the policy's ``alerts.alertmanager_url``, its route's, else the
    notification's ``externalURL``."""
    url = policy.alertmanager_for(state.all_labels(), state.external_url)
    if url is None:
        raise Refused(
            "This alert group's notification names no Alertmanager URL (externalURL) and the policy sets "
            "none (alerts.alertmanager_url), so it cannot be silenced from Slack."
        )
    return AlertmanagerClient(url, timeout=5.0)


def _down(failure: Failure) -> Refused:
    return Refused(f"Alertmanager could not be reached, nothing was changed: {failure.reason}")


def silence_modal(state: GroupState, firing: int) -> View:
    where = ", ".join(f"{m.name}={m.value}" for m in matchers_for(state))
    preview = (
        f":no_bell: This silence matches `{escape(blocks.clip(where, 1500))}` and would mute "
        f"*{firing}* alert{'s' if firing != 1 else ''} firing now (Alertmanager's count)."
    )
    options = [Option(text=PlainTextObject(text=k), value=k) for k in DURATIONS] + [
        Option(text=PlainTextObject(text="Custom…"), value="custom")
    ]
    return View(
        type="modal",
        callback_id=MODAL,
        private_metadata=state.gid,
        title=PlainTextObject(text="Silence alerts"),
        submit=PlainTextObject(text="Silence"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=blocks.clip(preview, 2900))),
            InputBlock(
                block_id="duration",
                label=PlainTextObject(text="For"),
                element=StaticSelectElement(action_id="choice", options=options, initial_option=options[0]),
            ),
            InputBlock(
                block_id="custom",
                optional=True,
                label=PlainTextObject(text="Custom duration (when Custom…)"),
                element=PlainTextInputElement(action_id="text", placeholder="e.g. 90m, 2h, 3d"),
            ),
            InputBlock(
                block_id="comment",
                label=PlainTextObject(text="Why"),
                element=PlainTextInputElement(action_id="text", multiline=True, max_length=500),
            ),
        ],
    )


@action(alert_views.SILENCE_ACTION, permission="silence")
async def open_silence(click: Click) -> Reply | None:
    _, state = await _load_group(click.ctx, click.value)
    if state.silence_id:
        raise Refused(f"This alert group is already silenced by <@{state.silenced_by}>.")
    trigger_id = _trigger(click)
    firing = await client_for(state, click.ctx.policy.alerts).firing_count(matchers_for(state))
    if isinstance(firing, Failure):
        raise _down(firing)
    await click.ctx.gateway.call(
        "views.open", trigger_id=trigger_id, view=silence_modal(state, firing).to_dict()
    )
    return None


def _chosen(sub: Submission) -> timedelta | FieldErrors:
    choice = sub.value("duration", "choice")
    picked = choice.get("value") if isinstance(choice, dict) else choice
    if picked in DURATIONS:
        return DURATIONS[str(picked)]
    text = sub.text("custom", "text")
    if not text:
        return {"custom": "Say for how long, e.g. 90m or 2h."}
    try:
        length = parse_duration(text)
    except ValueError as exc:
        return {"custom": f"Not a duration: {exc}"}
    if not timedelta(minutes=1) <= length <= MAX_DURATION:
        return {"custom": "Between 1 minute and 30 days."}
    return length


@view_submission(MODAL, permission="silence")
async def submit_silence(sub: Submission) -> FieldErrors | Finish | None:
    length = _chosen(sub)
    if isinstance(length, dict):
        return length
    comment = sub.text("comment", "text")
    if not comment:
        return {"comment": "Say why: the next on-call engineer will read it."}
    gid = sub.private_metadata

    async def finish() -> Reply:
        return await create_silence(sub.ctx, gid, sub.user_id, length, comment)

    return finish


async def create_silence(ctx: AppContext, gid: str, user: str, length: timedelta, comment: str) -> Reply:
    worker, state = await _load_group(ctx, gid)
    client = client_for(state, ctx.policy.alerts)
    now = datetime.now(UTC)
    until = now + length

    def begin(s: GroupState) -> bool:
        s.silencing_since = now  # the silence watcher leaves the group alone until it is marked
        return True

    await _update_group(worker, gid, begin)
    created = await client.create_silence(
        matchers_for(state), starts_at=now, ends_at=until, created_by=user, comment=comment
    )
    if isinstance(created, Failure):

        def undo(s: GroupState) -> bool:
            s.silencing_since = None
            return True

        await _update_group(worker, gid, undo)
        raise _down(created)

    def mark(s: GroupState) -> bool:
        s.silence_id, s.silenced_by, s.silenced_until = created, user, until
        s.silencing_since = None
        s.external_silences.pop(created, None)
        return True

    state, _ = await _update_group(worker, gid, mark)
    await worker.redis.zadd(worker.k.watched, {gid: now.timestamp()})
    await worker.push_event(
        state,
        f":no_bell: Silenced by <@{user}> until {slack_date(until)}: {escape(blocks.clip(comment, 500))}",
        f"silence:{gid}:{created}",
    )
    return Reply(
        blocks.message(f":no_bell: Silenced *{alert_views.group_title(state)}* until {slack_date(until)}.")
    )


@action(alert_views.UNSILENCE_ACTION, permission="silence")
async def unsilence(click: Click) -> Reply:
    worker, state = await _load_group(click.ctx, click.value)
    if not state.silence_id:
        raise Refused("This alert group is not silenced from Slack.")
    silence_id = state.silence_id
    expired = await client_for(state, click.ctx.policy.alerts).expire_silence(silence_id)
    if isinstance(expired, Failure) and expired.kind != "not_found":
        raise _down(expired)

    def clear(s: GroupState) -> bool:
        if s.silence_id != silence_id:
            return False
        s.silence_id = s.silenced_by = s.silenced_until = None
        return True

    state, changed = await _update_group(worker, click.value, clear)
    if changed:
        await worker.push_event(
            state, f":bell: Silence ended early by <@{click.user_id}>.", f"unsilence:{state.gid}:{silence_id}"
        )
    return Reply(blocks.message(f":bell: The silence of *{alert_views.group_title(state)}* has ended."))
