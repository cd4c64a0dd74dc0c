"""What a workflow step tells the user: the incident after it, and one line per Slack problem."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.core.models import Incident, StatusUpdate
from bot.slack.errors import SlackCallError

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    incident: Incident
    problems: list[str] = field(default_factory=list)
    announcement_link: str | None = None
    update: StatusUpdate | None = None

    def problem(self, what: str, exc: Exception) -> None:
        reason = exc.error if isinstance(exc, SlackCallError) else str(exc)
        log.warning("%s: %s failed: %s", self.incident.id, what, reason)
        self.problems.append(f"{what} failed: {reason}")
