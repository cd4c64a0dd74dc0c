"""The Jira client (REST v2 and v3) against a local server that answers as Jira's REST API does."""

from __future__ import annotations

import base64

from integrations.failures import FailureKind
from integrations.jira import JiraClient, adf, issue_state
from integrations.vendor_http import Delivered, Failed, RetryPolicy
from tests.pagers.vendor_server import Scripted, SleepRecorder
from tests.trackers.tracker_server import JIRA_EMAIL, JIRA_TOKEN, TrackerServer


def client(
    server: TrackerServer,
    policy: RetryPolicy,
    sleeps: SleepRecorder,
    *,
    version: int = 3,
    email: str = JIRA_EMAIL,
    token: str = JIRA_TOKEN,
) -> JiraClient:
    return JiraClient(
        token, email=email, api_version=version, base_url=server.base_url, policy=policy, sleep=sleeps
    )


async def test_v3_create_with_basic_auth_and_read_state_back(trackers, fast_policy, sleeps) -> None:
    jira = client(trackers, fast_policy, sleeps)
    try:
        created = await jira.create_issue(
            "OPS",
            summary="[INC-4] Add a\nreadiness probe",
            description="Follow-up #2 of INC-4\n\nOwner: Bob",
            labels=["incident follow-up"],
        )
        assert isinstance(created, Delivered) and created.status_code == 201
        key = created.data["key"]
        first = await jira.get_issue(key)
        trackers.move_jira(key, "indeterminate")
        second = await jira.get_issue(key)
        trackers.move_jira(key, "done")
        third = await jira.get_issue(key)
    finally:
        await jira.aclose()
    assert key == "OPS-1" and jira.browse_url(key) == f"{trackers.base_url}/browse/OPS-1"
    assert [issue_state(r.data) for r in (first, second, third)] == ["open", "open", "closed"]  # type: ignore[union-attr]
    post = trackers.of("jira")[0]
    assert (post.method, post.path) == ("POST", "/rest/api/3/issue")
    basic = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    assert post.headers["Authorization"] == f"Basic {basic}"
    assert post.headers["Content-Type"].startswith("application/json")
    fields = post.body["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "[INC-4] Add a readiness probe"  # one line, as Jira wants it
    assert fields["description"] == adf("Follow-up #2 of INC-4\n\nOwner: Bob")
    assert [p["content"][0]["text"] for p in fields["description"]["content"]] == [
        "Follow-up #2 of INC-4",
        "Owner: Bob",
    ]
    assert fields["labels"] == ["incident-follow-up"]
    get = trackers.of("jira")[1]
    assert (get.method, get.path, get.query) == ("GET", "/rest/api/3/issue/OPS-1", {"fields": "status"})


async def test_v2_create_with_bearer_token_sends_plain_description(trackers, fast_policy, sleeps) -> None:
    jira = client(trackers, fast_policy, sleeps, version=2, email="")
    try:
        created = await jira.create_issue("OPS", summary="s", description="plain text", issue_type="Bug")
    finally:
        await jira.aclose()
    assert isinstance(created, Delivered) and created.data["key"] == "OPS-1"
    post = trackers.of("jira")[0]
    assert post.path == "/rest/api/2/issue" and post.headers["Authorization"] == f"Bearer {JIRA_TOKEN}"
    assert post.body["fields"]["description"] == "plain text"
    assert trackers.jira_issues["OPS-1"].issue_type == "Bug"


async def test_unknown_project_and_issue_type_400_names_the_fields(trackers, fast_policy, sleeps) -> None:
    jira = client(trackers, fast_policy, sleeps)
    try:
        result = await jira.create_issue("NOPE", summary="s", description="d", issue_type="Epicness")
    finally:
        await jira.aclose()
    assert isinstance(result, Failed) and result.status_code == 400 and result.attempts == 1
    assert "project" in result.detail and "issuetype" in result.detail


async def test_wrong_token_401_and_unknown_issue_404(trackers, fast_policy, sleeps) -> None:
    wrong = client(trackers, fast_policy, sleeps, token="nope")
    right = client(trackers, fast_policy, sleeps)
    try:
        denied = await wrong.create_issue("OPS", summary="s", description="d")
        missing = await right.get_issue("OPS-404")
    finally:
        await wrong.aclose()
        await right.aclose()
    assert isinstance(denied, Failed) and denied.status_code == 401 and denied.attempts == 1
    assert "authenticated" in denied.detail
    assert isinstance(missing, Failed) and missing.status_code == 404
    assert "does not exist" in missing.detail
    assert trackers.jira_issues == {}


async def test_429_retry_after_is_honoured(trackers, fast_policy, sleeps) -> None:
    trackers.answer_next(Scripted(429, {"Retry-After": "5", "X-RateLimit-Reset": "2030-01-01T00:00Z"}))
    jira = client(trackers, fast_policy, sleeps)
    try:
        result = await jira.create_issue("OPS", summary="s", description="d")
    finally:
        await jira.aclose()
    assert isinstance(result, Delivered) and result.attempts == 2
    assert sleeps.waits == [5.0] and len(trackers.jira_issues) == 1


async def test_not_configured_sends_nothing(trackers, fast_policy, sleeps) -> None:
    no_url = JiraClient(JIRA_TOKEN, policy=fast_policy)
    no_token = client(trackers, fast_policy, sleeps, token="")
    try:
        a = await no_url.create_issue("OPS", summary="s", description="d")
        b = await no_token.create_issue("OPS", summary="s", description="d")
        c = await no_token.get_issue("not a key")
    finally:
        await no_url.aclose()
        await no_token.aclose()
    assert isinstance(a, Failed) and a.kind is FailureKind.CONFIG and "JIRA_URL" in a.detail
    assert isinstance(b, Failed) and b.kind is FailureKind.CONFIG and "JIRA_API_TOKEN" in b.detail
    assert isinstance(c, Failed) and c.kind is FailureKind.CONFIG
    assert trackers.requests == []
