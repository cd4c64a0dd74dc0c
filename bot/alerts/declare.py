"""Declare an incident from an alert group: the modal prefilled from the group, the declaration, and
the links both ways.

*Declare incident* on an alert root opens a modal: a title from the firing alerts (their names, the
service, the summary when one name fires), a severity mapped from the group's ``severity`` label by
``alerts.severity_map`` (a label value that names a severity or alias needs no entry), the service
from the labels. Submitting declares the incident (bot/incidents/workflow.py), once per episode; then
the incident and the alert thread point at each other: the alert thread gets a reply naming the
incident and its war room, the announcement shows a link to the alert thread, and the war room gets
the group's summary, alert lines and runbook link. Groups matching an ``alerts.auto_declare`` rule
are declared without the modal when they start firing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
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
from bot.alerts.worker import EPISODE_TTL, AlertWorker
from bot.config.policy import Policy
from bot.context import AppContext
from bot.core.models import AlertLink, Incident, TimelineEntry
from bot.core.state import Refused, record
from bot.incidents import workflow as flow
from bot.incidents.outcome import Outcome
from bot.listeners import Click, FieldErrors, Finish, Reply, Submission, action, view_submission
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)

MODAL = "alerts_declare_modal"
TITLE_MAX = 150
OPTIONS = "options"  # block id of the modal's checkboxes
TRIAGE = "triage"  # the option value: start the incident in triage


def mapped_severity(policy: Policy, value: str) -> str | None:
    """The policy severity a ``severity`` label value stands for (``alerts.severity_map`` first, then
    the value as a severity name or alias); None when neither knows it."""
    word = value.strip().lower()
    if not word:
        return None
    for candidate in (policy.alerts.severity_map.get(word), word):
        if candidate:
            found = policy.severity(candidate)
            if found is not None:
                return found.name
    return None


def severity_for(policy: Policy, state: GroupState) -> str:
    """The severity an incident declared from this group gets by default: the label's mapping (of the
    most severe mapped value among the firing alerts), else the policy's second severity."""
    label = policy.alerts.severity_label
    values = [state.label(label)] + [a.labels.get(label, "") for a in state.firing_alerts()]
    order = [s.name for s in policy.severities]
    found = [m for m in (mapped_severity(policy, v) for v in values) if m is not None]
    if found:
        return min(found, key=order.index)
    return policy.severities[min(1, len(policy.severities) - 1)].name


def declare_modal(policy: Policy, state: GroupState) -> View:
    severity = severity_for(policy, state)
    options = [
        Option(text=PlainTextObject(text=blocks.clip(s.label or s.name, 75)), value=s.name)
        for s in policy.severities[:100]
    ]
    initial = next((o for o in options if o.value == severity), options[0])
    service = state.label("service")
    preview = (
        f":rotating_light: Declaring an incident from *{alert_views.clip_escaped(alert_views.headline(state), 300)}* "
        f"({state.firing} firing, {state.resolved} resolved). The war room gets the group's summary and "
        "runbook; the alert thread gets a link to the incident."
    )
    return View(
        type="modal",
        callback_id=MODAL,
        private_metadata=state.gid,
        title=PlainTextObject(text="Declare incident"),
        submit=PlainTextObject(text="Declare"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=blocks.clip(preview, 2900))),
            InputBlock(
                block_id="title",
                label=PlainTextObject(text="Title"),
                element=PlainTextInputElement(
                    action_id="text",
                    initial_value=alert_views.incident_title(state, TITLE_MAX),
                    max_length=TITLE_MAX,
                ),
            ),
            InputBlock(
                block_id="severity",
                label=PlainTextObject(text="Severity"),
                element=StaticSelectElement(action_id="choice", options=options, initial_option=initial),
            ),
            InputBlock(
                block_id="service",
                optional=True,
                label=PlainTextObject(text="Service"),
                element=PlainTextInputElement(
                    action_id="text", initial_value=blocks.clip(service, 100) or None, max_length=100
                ),
            ),
            InputBlock(
                block_id=OPTIONS,
                optional=True,
                label=PlainTextObject(text="Options"),
                element=CheckboxesElement(
                    action_id="choice",
                    options=[
                        Option(
                            text=PlainTextObject(text="Start as triage"),
                            value=TRIAGE,
                            description=PlainTextObject(text="No war room or pages until someone accepts it"),
                        )
                    ],
                ),
            ),
        ],
    )


@action(alert_views.DECLARE_ACTION, permission="declare")
async def open_declare(click: Click) -> Reply | None:
    _, state = await _load_group(click.ctx, click.value)
    if state.incident_id:
        return Reply(blocks.message(f"This alert group already has incident *{state.incident_id}*."))
    trigger_id = _trigger(click)
    view = declare_modal(click.ctx.policy, state)
    await click.ctx.gateway.call("views.open", trigger_id=trigger_id, view=view.to_dict())
    return None


def _choice(value: Any) -> str:
    picked = value.get("value") if isinstance(value, dict) else value
    return str(picked or "")


def _checked(value: Any) -> set[str]:
    """The option values ticked in a checkboxes element."""
    if not isinstance(value, list):
        return set()
    return {str(v.get("value") if isinstance(v, dict) else v) for v in value}


@view_submission(MODAL, permission="declare")
async def submit_declare(sub: Submission) -> FieldErrors | Finish | None:
    title = " ".join(sub.text("title", "text").split())
    if not title:
        return {"title": "Give the incident a title."}
    if len(title) > TITLE_MAX:
        return {"title": f"At most {TITLE_MAX} characters."}
    severity = sub.ctx.policy.severity(_choice(sub.value("severity", "choice")))
    if severity is None:
        return {"severity": "Pick one of the severities."}
    service = sub.text("service", "text") or None
    triage = TRIAGE in _checked(sub.value(OPTIONS, "choice"))
    gid, user, ctx = sub.private_metadata, sub.user_id, sub.ctx

    async def finish() -> Reply:
        inc_id, created = await declare_for_group(
            ctx, gid, user, severity.name, title=title, service=service, triage=triage
        )
        if not created:
            return Reply(blocks.message(f"This alert group already has incident *{inc_id}*."), text=inc_id)
        how = " in triage: no war room or pages until someone accepts it" if triage else ""
        return Reply(
            blocks.message(f":rotating_light: You declared *{inc_id}* for this alert group{how}."),
            text=inc_id,
        )

    return finish


async def declare_for_group(
    ctx: AppContext,
    gid: str,
    user: str,
    severity: str | None = None,
    *,
    title: str | None = None,
    service: str | None = None,
    triage: bool = False,
) -> tuple[str, bool]:
    """Declare an incident linked to the alert group (once per episode); ``triage`` starts it in
    triage (no war room, timers or pages until accepted). Returns (incident id, created)."""
    worker, state = await _load_group(ctx, gid)
    if state.incident_id:
        return state.incident_id, False
    claim = worker.k.declared(gid, state.episode)
    if not await worker.redis.set(claim, "pending", nx=True, ex=EPISODE_TTL):
        existing = await worker.redis.get(claim)
        if existing and existing != "pending":
            return str(existing), False
        raise Refused("An incident for this alert group is being declared right now.")
    root = await _root_of(worker, state)
    try:
        out = await flow.declare(
            ctx,
            user=user,
            severity=severity or severity_for(ctx.policy, state),
            title=title or alert_views.incident_title(state, TITLE_MAX),
            origin_channel=root[0] if root else None,
            service=service if service is not None else (state.label("service") or None),
            triage=triage,
        )
    except Exception:
        await worker.redis.delete(claim)
        raise
    inc = out.incident
    await worker.redis.set(claim, inc.id, ex=EPISODE_TTL)
    entry = TimelineEntry(
        actor=user,
        kind="alert",
        text=f"Alert group {state.alertname}: {state.firing} firing, {state.resolved} resolved",
        data={
            "group_key": state.group_key,
            "gid": gid,
            "channel": state.channel,
            "labels": state.all_labels(),
        },
    )
    try:
        await ctx.store.apply(inc.id, record(entry))
    except Exception:
        log.exception("alerts: could not record the alert on %s's timeline", inc.id)

    def link(s: GroupState) -> bool:
        if s.incident_id:
            return False
        s.incident_id = inc.id
        return True

    state, _ = await _update_group(worker, gid, link)
    thread_url = await _permalink(ctx, root)
    inc = await _link_incident(ctx, inc, state, thread_url, out)
    await _tell_war_room(ctx, inc, state, thread_url, out)
    for problem in out.problems:
        log.warning("alerts: declaring %s from %s: %s", inc.id, gid, problem)
    who = "automatically" if user == "alertmanager" else f"by <@{user}>"
    where = [f"war room <#{inc.war_room.channel_id}>"] if inc.war_room else []
    if out.announcement_link:
        where.append(f"<{blocks.escape(out.announcement_link)}|announcement>")
    status = " in triage" if inc.triage else ""
    text = f":rotating_light: Incident *{inc.id}* declared {who}{status}" + (
        ": " + " · ".join(where) if where else "."
    )
    await worker.push_event(state, text, f"inc:{gid}:{inc.id}")
    return inc.id, True


async def _root_of(worker: AlertWorker, state: GroupState) -> tuple[str, str] | None:
    """(channel id, ts) of the message the group's thread hangs under, once it is in Slack."""
    meta = await worker.outbox.thread(state.thread)
    if not meta.get("root_ts") or not meta.get("channel"):
        return None
    try:
        return await worker.outbox.channel_id(meta["channel"]), meta["root_ts"]
    except SlackCallError as exc:
        log.warning("alerts: the channel of %s's thread is unknown: %s", state.gid, exc)
        return None


async def _permalink(ctx: AppContext, root: tuple[str, str] | None) -> str:
    if root is None:
        return ""
    try:
        return await ctx.slack.permalink(*root) or ""
    except SlackCallError as exc:
        log.warning("alerts: no permalink for the alert thread %s: %s", root, exc)
        return ""


async def _link_incident(
    ctx: AppContext, inc: Incident, state: GroupState, thread_url: str, out: Outcome
) -> Incident:
    """The incident remembers the alert group and its thread; its headline posts show the link."""
    link = AlertLink(gid=state.gid, title=alert_views.headline(state), url=thread_url)

    def add(i: Incident) -> None:
        if state.gid not in i.alert_groups:
            i.alert_groups.append(state.gid)
        if all(a.gid != state.gid for a in i.alert_links):
            i.alert_links.append(link)

    inc = await ctx.store.patch(inc.id, add)
    await flow.refresh(ctx, inc, out)
    return inc


async def _tell_war_room(
    ctx: AppContext, inc: Incident, state: GroupState, thread_url: str, out: Outcome
) -> None:
    """The group's summary and runbook in the war room (under the announcement when there is none)."""
    summary = alert_views.incident_summary(state, ctx.policy.alerts, thread_url)
    text = f"{inc.id} declared from alert {alert_views.headline(state)}"
    if inc.war_room:
        where, thread_ts = inc.war_room.channel_id, None
    elif inc.announcement:
        where, thread_ts = inc.announcement.channel, inc.announcement.ts
    else:
        return
    try:
        await ctx.slack.post(where, summary, blocks.clip(text, 3000), thread_ts=thread_ts, unfurl=False)
    except SlackCallError as exc:
        out.problem("posting the alert summary", exc)


async def auto_declare(ctx: AppContext, state: GroupState) -> None:
    """New firing episode of a group the policy says is incident-worthy: declare one."""
    severity = ctx.policy.alerts.auto_declare_severity(state.all_labels())
    if severity is None:
        return
    try:
        inc_id, created = await declare_for_group(ctx, state.gid, "alertmanager", severity)
    except Refused as exc:
        log.info("alerts: auto-declare for %s skipped: %s", state.gid, exc)
        return
    if created:
        log.info("alerts: declared %s automatically for alert group %s", inc_id, state.gid)
