"""A real aiohttp server on a loopback port that answers as GitHub's REST API (issues) and Jira's
REST API v2/v3 (issues) do, closely enough to check our requests against their documented shapes.

GitHub: ``POST /repos/{owner}/{repo}/issues`` and ``GET .../issues/{number}``; it wants a bearer (or
``token``) credential, a User-Agent (GitHub refuses requests without one), JSON, a ``title``, and
``labels``/``assignees`` as lists of strings; it answers 201 with ``number``, ``html_url``, ``state``,
401 ``Bad credentials``, 404 ``Not Found`` for a repository it does not know, 422 ``Validation
Failed`` with ``errors``. Jira: ``POST /rest/api/{2,3}/issue`` and ``GET .../issue/{key}``; basic
(e-mail:token) or bearer credentials, ``fields.project.key``, ``summary`` (one line, at most 255),
``issuetype.name``, a string description in v2 and an Atlassian Document in v3; it answers 201 with
``id``, ``key``, ``self``, 400 with ``errorMessages``/``errors``, 401, 404.

Either can be scripted (``answer_next``) to answer the next requests with a status and headers (429
with Retry-After, 403 with X-RateLimit-Remaining: 0 and X-RateLimit-Reset, ...).
"""

from __future__ import annotations

import base64
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.pagers.vendor_server import Recorded, Scripted

GITHUB_TOKEN = "ghp_testtoken0123456789"
JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-api-token-xyz"
JIRA_TYPES = {"Task", "Bug", "Story"}


@dataclass
class GHIssue:
    repo: str
    number: int
    title: str
    body: str
    labels: list[str]
    state: str = "open"


@dataclass
class JiraIssue:
    id: str
    key: str
    summary: str
    issue_type: str
    description: Any
    labels: list[str] = field(default_factory=list)
    category: str = "new"  # new, indeterminate, done


class TrackerServer:
    def __init__(
        self, *, repos: tuple[str, ...] = ("acme/ops",), projects: tuple[str, ...] = ("OPS",)
    ) -> None:
        self.repos = set(repos)
        self.projects = set(projects)
        self.requests: list[Recorded] = []
        self.script: deque[Scripted] = deque()
        self.gh_issues: dict[tuple[str, int], GHIssue] = {}
        self.jira_issues: dict[str, JiraIssue] = {}
        self._gh_numbers: dict[str, itertools.count[int]] = {}
        self._jira_ids = itertools.count(10000)
        self._jira_numbers: dict[str, itertools.count[int]] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/repos/{owner}/{repo}/issues", self._gh_create)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number}", self._gh_get)
        app.router.add_post("/rest/api/{version}/issue", self._jira_create)
        app.router.add_get("/rest/api/{version}/issue/{key}", self._jira_get)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def answer_next(self, *behaviours: Scripted) -> None:
        self.script.extend(behaviours)

    def of(self, vendor: str) -> list[Recorded]:
        return [r for r in self.requests if r.vendor == vendor]

    def close_github(self, repo: str, number: int) -> None:
        self.gh_issues[(repo, number)].state = "closed"

    def move_jira(self, key: str, category: str) -> None:
        self.jira_issues[key].category = category

    # -- shared ----------------------------------------------------------------------------------
    async def _record(self, vendor: str, request: web.Request) -> tuple[Recorded, Any, web.Response | None]:
        raw = await request.read()
        body: Any = None
        early: web.Response | None = None
        if raw:
            try:
                body = await request.json()
            except ValueError:
                body = raw.decode(errors="replace")
                early = web.json_response({"message": "Problems parsing JSON"}, status=400)
        rec = Recorded(vendor, request.method, request.path, dict(request.query), dict(request.headers), body)
        self.requests.append(rec)
        if early is None and raw and request.content_type != "application/json":
            early = web.json_response(
                {"message": f"unsupported Content-Type {request.content_type}"}, status=415
            )
        if early is None and self.script:
            scripted = self.script.popleft()
            rec.answered = scripted.status
            early = web.json_response(
                scripted.body if scripted.body is not None else {"message": "scripted"},
                status=scripted.status,
                headers=scripted.headers,
            )
        return rec, body, early

    @staticmethod
    def _answer(
        rec: Recorded, payload: Any, status: int, headers: dict[str, str] | None = None
    ) -> web.Response:
        rec.answered = status
        return web.json_response(payload, status=status, headers=headers)

    # -- GitHub ----------------------------------------------------------------------------------
    def _gh_denied(self, rec: Recorded) -> web.Response | None:
        if not rec.headers.get("User-Agent"):
            return self._answer(rec, {"message": "Request forbidden by administrative rules."}, 403)
        auth = rec.headers.get("Authorization", "")
        if auth not in (f"Bearer {GITHUB_TOKEN}", f"token {GITHUB_TOKEN}"):
            return self._answer(
                rec,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
                401,
            )
        return None

    def _gh_not_found(self, rec: Recorded) -> web.Response:
        return self._answer(
            rec,
            {
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/issues/issues",
                "status": "404",
            },
            404,
        )

    def _gh_json(self, issue: GHIssue) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{issue.repo}/issues/{issue.number}"
        return {
            "id": 1000 + issue.number,
            "number": issue.number,
            "url": api,
            "html_url": f"https://github.example/{issue.repo}/issues/{issue.number}",
            "state": issue.state,
            "state_reason": "completed" if issue.state == "closed" else None,
            "title": issue.title,
            "body": issue.body,
            "labels": [{"name": name} for name in issue.labels],
        }

    async def _gh_create(self, request: web.Request) -> web.Response:
        rec, body, early = await self._record("github", request)
        if early is not None:
            return early
        denied = self._gh_denied(rec)
        if denied is not None:
            return denied
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if repo not in self.repos:
            return self._gh_not_found(rec)
        errors: list[dict[str, str]] = []
        if not isinstance(body, dict):
            return self._answer(rec, {"message": "Invalid request.\n\nBody must be an object."}, 422)
        title = body.get("title")
        if not isinstance(title, str | int) or not str(title).strip():
            errors.append({"resource": "Issue", "code": "missing_field", "field": "title"})
        if "body" in body and not isinstance(body["body"], str | None):
            errors.append({"resource": "Issue", "code": "invalid", "field": "body"})
        for name in ("labels", "assignees"):
            value = body.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append({"resource": "Issue", "code": "invalid", "field": name})
        if errors:
            return self._answer(
                rec,
                {
                    "message": "Validation Failed",
                    "errors": errors,
                    "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                    "status": "422",
                },
                422,
            )
        number = next(self._gh_numbers.setdefault(repo, itertools.count(1)))
        issue = GHIssue(repo, number, str(title), body.get("body") or "", list(body.get("labels", [])))
        self.gh_issues[(repo, number)] = issue
        data = self._gh_json(issue)
        return self._answer(rec, data, 201, {"Location": data["url"]})

    async def _gh_get(self, request: web.Request) -> web.Response:
        rec, _, early = await self._record("github", request)
        if early is not None:
            return early
        denied = self._gh_denied(rec)
        if denied is not None:
            return denied
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        number = request.match_info["number"]
        issue = self.gh_issues.get((repo, int(number))) if number.isdigit() else None
        if issue is None:
            return self._gh_not_found(rec)
        return self._answer(rec, self._gh_json(issue), 200)

    # -- Jira ------------------------------------------------------------------------------------
    def _jira_denied(self, rec: Recorded) -> web.Response | None:
        basic = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
        if rec.headers.get("Authorization") not in (f"Basic {basic}", f"Bearer {JIRA_TOKEN}"):
            rec.answered = 401
            return web.Response(status=401, text="Client must be authenticated to access this resource.")
        return None

    @staticmethod
    def _adf_ok(doc: Any) -> bool:
        return (
            isinstance(doc, dict)
            and doc.get("type") == "doc"
            and doc.get("version") == 1
            and isinstance(doc.get("content"), list)
            and all(isinstance(n, dict) and isinstance(n.get("type"), str) for n in doc["content"])
        )

    async def _jira_create(self, request: web.Request) -> web.Response:
        rec, body, early = await self._record("jira", request)
        if early is not None:
            return early
        denied = self._jira_denied(rec)
        if denied is not None:
            return denied
        version = request.match_info["version"]
        if version not in ("2", "3"):
            return self._answer(rec, {"errorMessages": ["No API version " + version], "errors": {}}, 404)
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return self._answer(
                rec, {"errorMessages": ["Can not deserialize: fields is missing"], "errors": {}}, 400
            )
        errors: dict[str, str] = {}
        project = fields.get("project")
        key = project.get("key") if isinstance(project, dict) else None
        if key not in self.projects:
            errors["project"] = "Specify a valid project ID or key"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        elif "\n" in summary:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        issuetype = fields.get("issuetype")
        if not isinstance(issuetype, dict) or issuetype.get("name") not in JIRA_TYPES:
            errors["issuetype"] = "Specify an issue type"
        description = fields.get("description")
        if description is not None:
            if version == "3" and not self._adf_ok(description):
                errors["description"] = (
                    "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                )
            if version == "2" and not isinstance(description, str):
                errors["description"] = "Operation value must be a string"
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(v, str) and " " not in v for v in labels):
            errors["labels"] = "Labels must be strings without spaces"
        if errors:
            return self._answer(rec, {"errorMessages": [], "errors": errors}, 400)
        number = next(self._jira_numbers.setdefault(str(key), itertools.count(1)))
        issue = JiraIssue(
            id=str(next(self._jira_ids)),
            key=f"{key}-{number}",
            summary=str(summary),
            issue_type=str(issuetype["name"]),  # type: ignore[index]
            description=description,
            labels=list(labels),
        )
        self.jira_issues[issue.key] = issue
        payload = {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.base_url}/rest/api/{version}/issue/{issue.id}",
        }
        return self._answer(rec, payload, 201)

    async def _jira_get(self, request: web.Request) -> web.Response:
        rec, _, early = await self._record("jira", request)
        if early is not None:
            return early
        denied = self._jira_denied(rec)
        if denied is not None:
            return denied
        issue = self.jira_issues.get(request.match_info["key"])
        if issue is None:
            return self._answer(
                rec,
                {
                    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                    "errors": {},
                },
                404,
            )
        names = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
        status = {
            "name": names[issue.category],
            "statusCategory": {"key": issue.category, "name": names[issue.category]},
        }
        fields: dict[str, Any] = {"status": status}
        wanted = request.query.get("fields")
        if not wanted or wanted in ("*all", "*navigable"):
            fields.update(summary=issue.summary, labels=issue.labels, issuetype={"name": issue.issue_type})
        return self._answer(rec, {"id": issue.id, "key": issue.key, "fields": fields}, 200)
