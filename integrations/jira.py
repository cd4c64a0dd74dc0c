"""Jira client: open an issue for a follow-up and read its state back (Cloud and Data Center).

POST {base_url}/rest/api/{2|3}/issue with ``{"fields": {"project": {"key"}, "summary", "issuetype":
{"name"}, "description", "labels"?}}`` answers 201 with ``{"id", "key", "self"}``. The description is
plain text in v2 and an Atlassian Document Format document in v3. GET .../issue/{key}?fields=status
answers 200 with ``fields.status`` whose ``statusCategory.key`` is ``new``, ``indeterminate`` or
``done``: done counts as closed. Authorisation: basic (e-mail and API token, Jira Cloud) or a bearer
personal access token (Data Center). Errors: 400 with ``{"errorMessages": [...], "errors": {field:
message}}``, 401 without valid credentials, 404 no such issue or project; 429 with ``Retry-After``
when rate limited (retried by the vendor base).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from integrations.failures import FailureKind
from integrations.github_issues import IssueRef
from integrations.vendor_http import CallResult, Delivered, Failed, VendorClient

SUMMARY_MAX = 255  # Jira refuses longer summaries
_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}-\d{1,12}$")
_PROJECT = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


def valid_project(key: str) -> bool:
    return bool(_PROJECT.fullmatch(key))


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document: one paragraph per non-empty line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.splitlines()
        if line.strip()
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def issue_state(data: dict[str, Any]) -> str | None:
    """``open`` or ``closed`` from an issue's ``fields.status`` (status category ``done`` is closed)."""
    fields = data.get("fields")
    status = fields.get("status") if isinstance(fields, dict) else None
    category = status.get("statusCategory") if isinstance(status, dict) else None
    key = category.get("key") if isinstance(category, dict) else None
    if not isinstance(key, str):
        return None
    return "closed" if key == "done" else "open"


class JiraClient(VendorClient):
    name = "jira"
    DEFAULT_BASE_URL = ""
    SECRET_NAME = "JIRA_API_TOKEN"

    def __init__(self, token: str, *, email: str = "", api_version: int = 3, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.email = email
        self.api_version = 3 if api_version not in (2, 3) else api_version

    def __repr__(self) -> str:
        return f"JiraClient(base_url={self.base_url!r}, api_version={self.api_version})"

    def _missing(self) -> str | None:
        if not self.base_url:
            return "JIRA_URL is not set"
        return None if self._secret else "JIRA_API_TOKEN is not set"

    def _auth_headers(self) -> dict[str, str]:
        if self.email:  # Jira Cloud: basic auth with the account's e-mail and an API token
            pair = base64.b64encode(f"{self.email}:{self._secret}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {"Authorization": f"Bearer {self._secret}"}  # Data Center personal access token

    def _answer_problem(self, result: Delivered) -> str | None:
        if result.status_code == 201:
            return None if isinstance(result.data.get("key"), str) else "answer has no issue key"
        return None if issue_state(result.data) else "answer has no issue status"

    def _api(self) -> str:
        return f"{self.base_url}/rest/api/{self.api_version}"

    def browse_url(self, key: str) -> str:
        return f"{self.base_url}/browse/{quote(key, safe='')}"

    def ref(self, key: str, state: str = "open") -> IssueRef:
        return IssueRef(key=key, url=self.browse_url(key), state=state)

    async def create_issue(
        self,
        project: str,
        *,
        summary: str,
        description: str,
        issue_type: str = "Task",
        labels: Sequence[str] = (),
    ) -> CallResult:
        if not valid_project(project):
            return Failed(
                self.name, "create issue", FailureKind.CONFIG, f"{project!r} is not a project key", 0
            )
        summary = " ".join(summary.split())[:SUMMARY_MAX]  # a summary is one line
        fields: dict[str, Any] = {
            "project": {"key": project},
            "summary": summary,
            "issuetype": {"name": issue_type},
            "description": adf(description) if self.api_version == 3 else description,
        }
        if labels:
            fields["labels"] = [label.replace(" ", "-") for label in labels]  # labels have no spaces
        return await self._request("create issue", "POST", f"{self._api()}/issue", json={"fields": fields})

    async def get_issue(self, key: str) -> CallResult:
        if not _KEY.fullmatch(key):
            return Failed(self.name, "read issue", FailureKind.CONFIG, f"{key!r} is not an issue key", 0)
        url = f"{self._api()}/issue/{quote(key, safe='')}"
        return await self._request("read issue", "GET", url, params={"fields": "status"})
