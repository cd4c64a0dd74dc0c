"""The ``review`` section of the policy: timeline pins, the post-incident review template, the
review meeting, stats and closing. Every key has a default, so the section may be left out.

No import of ``bot.config.policy`` here: the policy imports this module.
"""

from __future__ import annotations

import re
from datetime import time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config.trackers import TrackersPolicy

DEFAULT_REVIEW_TEMPLATE = """\
# Post-incident review: {{ incident.id }} — {{ incident.title }}

| | |
|---|---|
| Severity | {{ severity.label }} |
| Status | {{ status.label }} |
| Service | {{ incident.service or "—" }} |
{% for f in incident_fields %}| {{ f.label }} | {{ f.value }} |
{% endfor %}| Declared | {{ incident.created_at | datetime }} by {{ incident.created_by | person }} |
| Resolved | {{ incident.resolved_at | datetime }}\
{% if incident.resolved_by %} by {{ incident.resolved_by | person }}{% endif %} |
| Commander | {{ commander | person if commander else "—" }} |
| War room | {{ "#" ~ incident.war_room.name if incident.war_room else "—" }} |
{% if meeting_at %}| Review meeting | {{ meeting_at | datetime }} UTC (proposed) |
{% endif %}
## Summary

{{ summary or "To fill in: what happened, in two or three sentences." }}

## Impact

_To fill in: who was affected, how, and for how long \
({{ metrics.time_to_resolve }} from declaration to resolution)._

## Timeline

All times in UTC.

| Time | Event | Person |
|---|---|---|
{% for row in timeline -%}
| {{ row.at | datetime }} | {{ row.event }} | {{ row.person }} |
{% endfor %}
## Response metrics

| Metric | Value |
|---|---|
| Time to acknowledge | {{ metrics.time_to_acknowledge }} |
| Time to mitigate | {{ metrics.time_to_mitigate }} |
| Time to resolve | {{ metrics.time_to_resolve }} |
| Status updates | {{ metrics.updates }} |
| Escalations | {{ metrics.escalations }} |

## Participants

{% for p in participants -%}
- {{ p.name }}{% if p.roles %} ({{ p.roles | join(", ") }}){% endif %}
{% endfor %}
## Root cause

_To fill in: the technical cause, and why it was possible._

## What went well

_To fill in._

## What could be improved

_To fill in._

## Action items

{% if actions -%}
| # | Action | Owner | Due |
|---|---|---|---|
{% for a in actions -%}
| {{ a.number }} | {{ a.text }}\
{% if a.issue %} ([{{ a.issue.key }}]({{ a.issue.url }}), {{ a.issue.state }}){% endif %} | \
{{ a.owner | person if a.owner else "—" }} | {{ a.due or "—" }} |
{% endfor %}
{%- else -%}
_None yet: add them with `/incident action {{ incident.id }} <text> [@owner] [due YYYY-MM-DD]`._
{%- endif %}

---
_Generated {{ generated_at | datetime }} UTC by the incident bot. Fill in the sections marked "to fill in"._
"""


class ReviewPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pin_emoji: str = Field(
        default="pushpin",
        description="Reacting with this emoji in a war room adds the message to the incident's timeline",
    )
    pin_confirm: bool = Field(default=True, description="Tell the person who pinned, ephemerally")
    template: str = Field(default=DEFAULT_REVIEW_TEMPLATE, description="Jinja2 (sandboxed), Markdown out")
    filename: str = Field(default="{id}-review.md", description="File name of the uploaded review")
    meeting_offset_days: int = Field(
        default=3, ge=0, le=60, description="Propose the review meeting N days after; 0 = no proposal"
    )
    meeting_time: time = Field(default=time(14, 0), description="Meeting start, UTC (HH:MM)")
    meeting_minutes: int = Field(default=60, ge=15, le=480)
    meeting_skip_weekends: bool = True
    require_review_to_close: bool = Field(default=True, description="`/incident close` needs a review")
    stats_default_period: str = Field(default="30d", pattern=r"^\d{1,3}d$")
    stats_chart: bool = Field(default=True, description="Upload a PNG chart with /incident stats")
    trackers: TrackersPolicy = Field(
        default_factory=TrackersPolicy, description="Issue trackers for `/incident action export`"
    )

    @field_validator("pin_emoji")
    @classmethod
    def _emoji(cls, v: str) -> str:
        name = v.strip().strip(":")
        if not re.fullmatch(r"[a-z0-9_+'-]{1,100}", name):
            raise ValueError("an emoji name such as pushpin (without colons)")
        return name

    @field_validator("template")
    @classmethod
    def _template(cls, v: str) -> str:
        from bot.review.markdown import check_template

        problem = check_template(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("filename")
    @classmethod
    def _filename(cls, v: str) -> str:
        if "{id}" not in v or "/" in v or "\\" in v:
            raise ValueError("a file name containing {id}, without slashes")
        return v
