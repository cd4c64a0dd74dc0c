"""Follow-ups that leave Slack: export an action item to GitHub Issues or Jira, keep the created
issue's link on the item, and read its state (open or closed) back when the items are shown.

The tracker clients are built per call from the settings (secrets) and ``review.trackers`` (where);
every tracker problem comes back as one sentence for the person who asked, and is logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.config.trackers import JiraTracker, TrackerName
from bot.context import AppContext
from bot.core import state
from bot.core.models import Incident, TimelineEntry, utcnow
from bot.review.names import display_names, slack_to_plain
from bot.review.records import ActionItem, ReviewRecords, TrackedIssue
from integrations.failures import FailureKind
from integrations.github_issues import GitHubIssuesClient, issue_ref
from integrations.jira import JiraClient, issue_state
from integrations.vendor_http import CallResult, Failed, RetryPolicy

log = logging.getLogger(__name__)

LABELS = {"github": "GitHub", "jira": "Jira"}
# an export answers a person: a short wait for a rate limit, then a clear sentence
EXPORT_RETRY = RetryPolicy(
    attempts=3, timeout=10.0, backoff_initial=0.5, backoff_max=4.0, retry_after_max=10.0
)
# reading states back must never hold up a list: one quick try each, the last known state otherwise
READ_RETRY = RetryPolicy(attempts=1, timeout=4.0)


def github_client(ctx: AppContext, retry: RetryPolicy) -> GitHubIssuesClient:
    s = ctx.settings
    return GitHubIssuesClient(
        s.github_token.get_secret_value().strip(), base_url=s.github_api_url, policy=retry
    )


def jira_client(ctx: AppContext, cfg: JiraTracker, retry: RetryPolicy) -> JiraClient:
    s = ctx.settings
    return JiraClient(
        s.jira_api_token.get_secret_value().strip(),
        email=s.jira_email.strip(),
        api_version=cfg.api_version,
        base_url=s.jira_url.strip() or None,
        policy=retry,
    )


def failure_sentence(tracker: str, where: str, failed: Failed) -> str:
    """One sentence a person can act on, for a tracker call that failed."""
    name = LABELS.get(tracker, tracker)
    code = failed.status_code
    if failed.kind is FailureKind.CONFIG:
        return f"{name} is not set up for the bot: {failed.detail}."
    if failed.kind is FailureKind.RATE_LIMITED:
        return f"{name} is rate limiting the bot (HTTP {code}); try again in a few minutes."
    if code == 401:
        return f"{name} refused the bot's credentials (HTTP 401): check the token in the bot's settings."
    if code == 403:
        return f"{name} does not let the bot create issues in {where} (HTTP 403)."
    if code == 404:
        return f"{name} has no {where}, or the bot's token cannot see it (HTTP 404)."
    if code == 410:
        return f"Issues are turned off in {where} (HTTP 410)."
    if code in (400, 422):
        return f"{name} refused the issue (HTTP {code}): {failed.detail}"
    return f"{name} could not be reached: {failed.reason}"


def issue_body(inc: Incident, item: ActionItem, names: dict[str, str], user: str) -> str:
    lines = [
        f"Follow-up #{item.number} of incident {inc.id}: {inc.title} (severity {inc.severity}).",
        "",
        slack_to_plain(item.text, names),
        "",
    ]
    if item.owner:
        lines.append(f"Owner: {names.get(item.owner, item.owner)}")
    if item.due:
        lines.append(f"Due: {item.due.isoformat()}")
    if inc.war_room:
        lines.append(f"War room: #{inc.war_room.name}")
    lines.append(f"Exported from Slack by {names.get(user, user)}.")
    return "\n".join(lines)


async def _create(
    ctx: AppContext, tracker: TrackerName, inc: Incident, item: ActionItem, user: str
) -> TrackedIssue:
    trackers = ctx.policy.review.trackers
    names = await display_names(ctx, [u for u in (item.owner, user) if u])
    title = f"[{inc.id}] {slack_to_plain(item.text, names)}"
    body = issue_body(inc, item, names, user)
    if tracker == "github":
        gh = trackers.github
        assert gh is not None  # choose() checked it
        client = github_client(ctx, EXPORT_RETRY)
        try:
            result = await client.create_issue(gh.repo, title=title, body=body, labels=gh.labels)
        finally:
            await client.aclose()
        if isinstance(result, Failed):
            raise state.Refused(failure_sentence("github", f"repository {gh.repo}", result))
        ref = issue_ref(gh.repo, result.data)
        if ref is None:
            raise state.Refused("GitHub answered without the issue's number and link; nothing was saved.")
        return TrackedIssue(tracker="github", key=ref.key, url=ref.url, state=ref.state, exported_by=user)
    jira = trackers.jira
    assert jira is not None
    jclient = jira_client(ctx, jira, EXPORT_RETRY)
    try:
        result = await jclient.create_issue(
            jira.project, summary=title, description=body, issue_type=jira.issue_type, labels=jira.labels
        )
    finally:
        await jclient.aclose()
    if isinstance(result, Failed):
        raise state.Refused(failure_sentence("jira", f"project {jira.project}", result))
    key = str(result.data["key"])
    return TrackedIssue(tracker="jira", key=key, url=jclient.browse_url(key), state="open", exported_by=user)


async def export_action(
    ctx: AppContext, incident_id: str, number: int, user: str, asked: str | None = None
) -> ActionItem:
    """Open an issue for action item ``number``; the item keeps its link. Refused with a sentence
    when there is no such item, it is already exported (or being exported), or the tracker says no."""
    chosen = ctx.policy.review.trackers.choose(asked)
    if chosen not in LABELS:
        raise state.Refused(chosen)
    tracker: TrackerName = chosen  # type: ignore[assignment]
    inc = await ctx.store.get(incident_id)
    rec = ReviewRecords(ctx.redis, ctx.keys)
    item = await rec.action(inc.id, number)
    if item is None:
        raise state.Refused(
            f"{inc.id} has no action item #{number}; `/incident actions {inc.id}` lists them."
        )
    if item.issue is not None:
        raise state.Refused(
            f"Action item #{number} of {inc.id} is already tracked in {item.issue.key}: {item.issue.url}"
        )
    if not await rec.claim_export(inc.id, number):
        raise state.Refused(f"Action item #{number} of {inc.id} is being exported right now.")
    try:
        issue = await _create(ctx, tracker, inc, item, user)
        item = await rec.action(inc.id, number) or item
        item.issue = issue
        await rec.update_action(inc.id, item)
    finally:
        await rec.release_export(inc.id, number)
    await record_action_item(
        ctx,
        inc.id,
        user,
        f"Action item #{number} exported to {LABELS[tracker]}: <{issue.url}|{issue.key}>",
        {"number": number, "tracker": tracker, "key": issue.key, "url": issue.url},
    )
    return item


async def record_action_item(
    ctx: AppContext, incident_id: str, user: str, text: str, data: dict[str, Any]
) -> None:
    """An action item's change on the incident's timeline (added, exported)."""
    await ctx.store.apply(
        incident_id,
        state.record(TimelineEntry(actor=user, kind="action_item", text=text, data=data)),
    )


@dataclass
class StateRead:
    items: list[ActionItem]
    problems: list[str] = field(default_factory=list)


async def _read_state(ctx: AppContext, issue: TrackedIssue) -> tuple[str | None, str | None]:
    """(state, problem) of one exported issue."""
    trackers = ctx.policy.review.trackers
    result: CallResult
    if issue.tracker == "github":
        repo, _, number = issue.key.rpartition("#")
        gh = github_client(ctx, READ_RETRY)
        try:
            result = await gh.get_issue(repo, int(number))
        finally:
            await gh.aclose()
        if isinstance(result, Failed):
            return None, failure_sentence("github", f"issue {issue.key}", result)
        ref = issue_ref(repo, result.data)
        return (ref.state if ref else None), (
            None if ref else f"GitHub's answer for {issue.key} has no state"
        )
    if issue.tracker == "jira" and trackers.jira is not None:
        jc = jira_client(ctx, trackers.jira, READ_RETRY)
        try:
            result = await jc.get_issue(issue.key)
        finally:
            await jc.aclose()
        if isinstance(result, Failed):
            return None, failure_sentence("jira", f"issue {issue.key}", result)
        return issue_state(result.data), None
    return None, f"{issue.key}: {issue.tracker} is no longer configured; its last known state is shown"


async def refresh_states(ctx: AppContext, incident_id: str, items: list[ActionItem]) -> StateRead:
    """Read each exported item's issue state back (concurrently); a changed state is saved, a failed
    read keeps the last known state and adds a line to ``problems``."""
    exported = [a for a in items if a.issue is not None]
    if not exported:
        return StateRead(items)
    results = await asyncio.gather(
        *(_read_state(ctx, a.issue) for a in exported if a.issue), return_exceptions=True
    )
    rec = ReviewRecords(ctx.redis, ctx.keys)
    out = StateRead(items)
    for item, got in zip(exported, results, strict=True):
        assert item.issue is not None
        if isinstance(got, BaseException):
            log.error("%s #%d: reading %s failed", incident_id, item.number, item.issue.key, exc_info=got)
            out.problems.append(f"{item.issue.key}: its state could not be read ({type(got).__name__})")
            continue
        new_state, problem = got
        if problem:
            out.problems.append(f"{problem} (showing its last known state)")
        if new_state is None:
            continue
        item.issue.checked_at = utcnow()
        if new_state != item.issue.state:
            item.issue.state = new_state
            await rec.update_action(incident_id, item)
    return out
