"""``review.trackers`` in the policy: where ``/incident action export`` opens issues for follow-ups.

    review:
      trackers:
        default: github            # the tracker `/incident action export INC-1 3` uses
        github: {repo: acme/ops, labels: [incident-follow-up]}
        jira: {project: OPS, issue_type: Task, api_version: 3, labels: [incident]}

The secrets are settings, never policy: ``GITHUB_TOKEN``; ``JIRA_URL``, ``JIRA_API_TOKEN`` and, for
Jira Cloud's basic auth, ``JIRA_EMAIL``. A leaf module: it imports no other policy module.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TrackerName = Literal["github", "jira"]
TRACKERS: tuple[TrackerName, ...] = ("github", "jira")


class GitHubTracker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str = Field(description="owner/name of the repository that gets the issues")
    labels: list[str] = Field(default_factory=lambda: ["incident-follow-up"])

    @field_validator("repo")
    @classmethod
    def _repo(cls, v: str) -> str:
        v = v.strip()
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}", v):
            raise ValueError("a repository as owner/name, e.g. acme/ops")
        return v


class JiraTracker(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str = Field(description="the project key, e.g. OPS")
    issue_type: str = "Task"
    api_version: Literal[2, 3] = 3
    labels: list[str] = Field(default_factory=lambda: ["incident-follow-up"])

    @field_validator("project")
    @classmethod
    def _project(cls, v: str) -> str:
        v = v.strip()
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,49}", v):
            raise ValueError("a Jira project key: capital letters, digits or _, starting with a letter")
        return v


class TrackersPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: TrackerName | None = None  # None: the only one configured
    github: GitHubTracker | None = None
    jira: JiraTracker | None = None

    @model_validator(mode="after")
    def _default_is_configured(self) -> TrackersPolicy:
        if self.default is not None and getattr(self, self.default) is None:
            raise ValueError(
                f"default is {self.default!r} but review.trackers.{self.default} is not configured"
            )
        return self

    def configured(self) -> list[TrackerName]:
        return [name for name in TRACKERS if getattr(self, name) is not None]

    def choose(self, asked: str | None) -> TrackerName | str:
        """The tracker to use: the one asked for, else the default, else the only one configured.
        Returns a sentence (not a tracker name) when none fits."""
        configured = self.configured()
        if not configured:
            return "No issue tracker is configured: add `review.trackers.github` or `review.trackers.jira` to the policy."
        if asked:
            word = asked.strip().lower()
            if word not in TRACKERS:
                return f"`{asked}` is not a tracker: use github or jira."
            if word not in configured:
                return f"{word} is not configured in the policy (configured: {', '.join(configured)})."
            return word  # type: ignore[return-value]
        if self.default is not None:
            return self.default
        if len(configured) == 1:
            return configured[0]
        return f"Both trackers are configured and no default is set: name one ({', '.join(configured)})."
