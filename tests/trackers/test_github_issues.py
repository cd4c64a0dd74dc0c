"""The GitHub Issues client against a local server that answers as GitHub's REST API does."""

from __future__ import annotations

import time

from integrations.failures import FailureKind
from integrations.github_issues import GitHubIssuesClient, issue_ref
from integrations.vendor_http import Delivered, Failed, RetryPolicy, rate_limit_wait
from tests.pagers.vendor_server import Scripted, SleepRecorder
from tests.trackers.tracker_server import GITHUB_TOKEN, TrackerServer


def client(
    server: TrackerServer, policy: RetryPolicy, sleeps: SleepRecorder, token: str = GITHUB_TOKEN
) -> GitHubIssuesClient:
    return GitHubIssuesClient(token, base_url=server.base_url, policy=policy, sleep=sleeps)


async def test_create_then_read_back_open_and_closed(trackers, fast_policy, sleeps) -> None:
    gh = client(trackers, fast_policy, sleeps)
    try:
        created = await gh.create_issue(
            "acme/ops",
            title="[INC-3] Alert on queue depth",
            body="Follow-up #1",
            labels=["incident-follow-up"],
        )
        assert isinstance(created, Delivered) and created.status_code == 201
        ref = issue_ref("acme/ops", created.data)
        assert ref is not None and ref.key == "acme/ops#1" and ref.state == "open"
        assert ref.url == "https://github.example/acme/ops/issues/1"
        trackers.close_github("acme/ops", 1)
        read = await gh.get_issue("acme/ops", 1)
    finally:
        await gh.aclose()
    assert isinstance(read, Delivered) and read.data["state"] == "closed"
    post, get = trackers.of("github")
    assert (post.method, post.path) == ("POST", "/repos/acme/ops/issues")
    assert (get.method, get.path) == ("GET", "/repos/acme/ops/issues/1")
    for rec in (post, get):  # the headers GitHub documents for the REST API
        assert rec.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
        assert rec.headers["Accept"] == "application/vnd.github+json"
        assert rec.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert rec.headers["User-Agent"]
    assert post.body == {
        "title": "[INC-3] Alert on queue depth",
        "body": "Follow-up #1",
        "labels": ["incident-follow-up"],
    }
    assert trackers.gh_issues[("acme/ops", 1)].labels == ["incident-follow-up"]


async def test_bad_credentials_401_is_not_retried(trackers, fast_policy, sleeps) -> None:
    gh = client(trackers, fast_policy, sleeps, token="ghp_wrong")
    try:
        result = await gh.create_issue("acme/ops", title="x", body="y")
    finally:
        await gh.aclose()
    assert isinstance(result, Failed)
    assert (result.status_code, result.attempts, result.kind) == (401, 1, FailureKind.REJECTED)
    assert "Bad credentials" in result.detail
    assert GITHUB_TOKEN not in repr(gh) and "ghp_wrong" not in repr(gh)
    assert trackers.gh_issues == {}


async def test_unknown_repository_404_and_unknown_issue_404(trackers, fast_policy, sleeps) -> None:
    gh = client(trackers, fast_policy, sleeps)
    try:
        created = await gh.create_issue("acme/missing", title="x", body="y")
        read = await gh.get_issue("acme/ops", 99)
    finally:
        await gh.aclose()
    assert isinstance(created, Failed) and created.status_code == 404 and created.attempts == 1
    assert isinstance(read, Failed) and read.status_code == 404 and "Not Found" in read.detail


async def test_validation_failed_422_names_the_field(trackers, fast_policy, sleeps) -> None:
    gh = client(trackers, fast_policy, sleeps)
    try:
        result = await gh.create_issue("acme/ops", title="   ", body="no title")
    finally:
        await gh.aclose()
    assert isinstance(result, Failed) and result.status_code == 422 and result.attempts == 1
    assert "Validation Failed" in result.detail and "title" in result.detail


async def test_429_with_retry_after_waits_that_long_then_creates_once(trackers, fast_policy, sleeps) -> None:
    trackers.answer_next(
        Scripted(429, {"Retry-After": "7"}, {"message": "You have exceeded a secondary rate limit."})
    )
    gh = client(trackers, fast_policy, sleeps)
    try:
        result = await gh.create_issue("acme/ops", title="t", body="b")
    finally:
        await gh.aclose()
    assert isinstance(result, Delivered) and result.attempts == 2
    assert sleeps.waits == [7.0]
    assert [r.answered for r in trackers.of("github")] == [429, 201]
    assert len(trackers.gh_issues) == 1


async def test_403_rate_limit_waits_until_x_ratelimit_reset(trackers, fast_policy, sleeps) -> None:
    reset = int(time.time()) + 20
    trackers.answer_next(
        Scripted(
            403,
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
            {"message": "API rate limit exceeded for user ID 1."},
        )
    )
    gh = client(trackers, fast_policy, sleeps)
    try:
        result = await gh.create_issue("acme/ops", title="t", body="b")
    finally:
        await gh.aclose()
    assert isinstance(result, Delivered) and result.attempts == 2
    assert len(sleeps.waits) == 1 and 17.0 <= sleeps.waits[0] <= 20.0


async def test_403_without_rate_limit_headers_is_a_refusal(trackers, fast_policy, sleeps) -> None:
    trackers.answer_next(
        Scripted(
            403,
            {"X-RateLimit-Remaining": "4999"},
            {"message": "Resource not accessible by personal access token"},
        )
    )
    gh = client(trackers, fast_policy, sleeps)
    try:
        result = await gh.create_issue("acme/ops", title="t", body="b")
    finally:
        await gh.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.REJECTED and result.attempts == 1
    assert sleeps.waits == []


async def test_rate_limited_every_time_ends_as_rate_limited(trackers, fast_policy, sleeps) -> None:
    trackers.answer_next(*[Scripted(429, {"Retry-After": "1"}) for _ in range(3)])
    gh = client(trackers, fast_policy, sleeps)
    try:
        result = await gh.create_issue("acme/ops", title="t", body="b")
    finally:
        await gh.aclose()
    assert isinstance(result, Failed) and result.kind is FailureKind.RATE_LIMITED and result.attempts == 3
    assert trackers.gh_issues == {}


def test_rate_limit_wait_reads_retry_after_then_reset() -> None:
    now = 1_700_000_000.0
    assert (
        rate_limit_wait(
            {"Retry-After": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000090"}, now=now
        )
        == 30
    )
    assert rate_limit_wait({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000090"}, now=now) == 90
    assert (
        rate_limit_wait({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2023-11-14T22:14:20Z"}, now=now)
        == 60.0
    )
    assert (
        rate_limit_wait({"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "1700000090"}, now=now) is None
    )
    assert rate_limit_wait({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"}, now=now) is None
    assert rate_limit_wait({}, now=now) is None


async def test_without_a_token_nothing_is_sent(trackers, fast_policy, sleeps) -> None:
    gh = client(trackers, fast_policy, sleeps, token="")
    try:
        result = await gh.create_issue("acme/ops", title="t", body="b")
        bad_repo = GitHubIssuesClient(GITHUB_TOKEN, base_url=trackers.base_url)
        wrong = await bad_repo.create_issue("not a repo", title="t", body="b")
        await bad_repo.aclose()
    finally:
        await gh.aclose()
    assert (
        isinstance(result, Failed) and result.kind is FailureKind.CONFIG and "GITHUB_TOKEN" in result.detail
    )
    assert isinstance(wrong, Failed) and wrong.kind is FailureKind.CONFIG
    assert trackers.requests == []
