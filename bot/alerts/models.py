"""Pydantic model of Alertmanager's webhook payload, version 4.

Strict enough to reject garbage with a clear reason: unknown versions, wrong statuses, missing
fields, non-string label values and impossible timestamps all fail validation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

LabelName = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
LabelValue = Annotated[str, StringConstraints(max_length=8192)]
Labels = dict[LabelName, LabelValue]

# Alertmanager sends this for "not set" (Go zero time).
ZERO_TIME = "0001-01-01T00:00:00Z"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class WebhookAlert(_Model):
    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL", max_length=8192)
    fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=128)]

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


class WebhookPayload(_Model):
    version: Literal["4"]
    group_key: Annotated[str, StringConstraints(min_length=1, max_length=8192)] = Field(alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=1024)
    group_labels: Labels = Field(alias="groupLabels")
    common_labels: Labels = Field(alias="commonLabels")
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL", max_length=8192)
    alerts: list[WebhookAlert] = Field(min_length=1)


def validation_reason(exc: ValidationError, limit: int = 5) -> str:
    """A short, human-readable reason for a rejected payload (no input echoed back)."""
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"(+{more} more)")
    return "; ".join(parts)
