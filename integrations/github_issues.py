"""GitHub Issues client: open an issue for a follow-up and read its state back.

POST {base_url}/repos/{owner}/{repo}/issues with ``{"title", "body", "labels"?, "assignees"?}`` answers
201 with the issue (``number``, ``html_url``, ``state``); GET .../issues/{number} answers 200 with the
same shape, ``state`` being ``open`` or ``closed``. Headers as GitHub documents them:
``Authorization: Bearer <token>``, ``Accept: application/vnd.github+json``,
``X-GitHub-Api-Version: 2022-11-28`` and a ``User-Agent``. 401 bad credentials, 404 no such
repository (or no access to it), 410 issues disabled, 422 validation failed; rate limits answer 403
or 429 with ``Retry-After`` or ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (retried by the
vendor base).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from integrations.failures import FailureKind
from integrations.vendor_http import CallResult, Delivered, Failed, VendorClient

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TITLE_MAX = 256  # GitHub takes longer titles, but lists cut them; keep it readable
BODY_MAX = 65536  # GitHub refuses bodies over 65,536 characters with 422
_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class IssueRef:
    """A created or read issue: where it lives and whether it is still open."""

    key: str  # "owner/repo#12"
    url: str  # the page a person opens
    state: str  # "open" or "closed"


def valid_repository(repo: str) -> bool:
    return bool(_REPO.fullmatch(repo))


def issue_ref(repo: str, data: dict[str, Any]) -> IssueRef | None:
    number, url, state = data.get("number"), data.get("html_url"), data.get("state")
    if not isinstance(number, int) or not isinstance(url, str) or state not in ("open", "closed"):
        return None
    return IssueRef(key=f"{repo}#{number}", url=url, state=str(state))


class GitHubIssuesClient(VendorClient):
    name = "github"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    SECRET_NAME = "GITHUB_TOKEN"

    def _auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._secret}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "chatops-incident-bot",
        }

    def _answer_problem(self, result: Delivered) -> str | None:
        number, url = result.data.get("number"), result.data.get("html_url")
        return None if isinstance(number, int) and isinstance(url, str) else "answer has no issue number"

    def _issues_url(self, repo: str) -> str:
        owner, name = repo.split("/", 1)
        return f"{self.base_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/issues"

    async def create_issue(
        self,
        repo: str,
        *,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> CallResult:
        if not valid_repository(repo):
            return Failed(self.name, "create issue", FailureKind.CONFIG, f"{repo!r} is not owner/name", 0)
        payload: dict[str, Any] = {"title": title[:TITLE_MAX], "body": body[:BODY_MAX]}
        if labels:
            payload["labels"] = list(labels)
        if assignees:
            payload["assignees"] = list(assignees)
        return await self._request("create issue", "POST", self._issues_url(repo), json=payload)

    async def get_issue(self, repo: str, number: int) -> CallResult:
        if not valid_repository(repo):
            return Failed(self.name, "read issue", FailureKind.CONFIG, f"{repo!r} is not owner/name", 0)
        return await self._request("read issue", "GET", f"{self._issues_url(repo)}/{int(number)}")
