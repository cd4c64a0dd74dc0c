"""The ``oncall`` section of the policy: what happens at each rotation hand-off.

    oncall:
      handoff_channel: "#oncall"   # also post the hand-off summary there (left out: DMs only)
      handoff_dm: true             # DM the outgoing and incoming on-call
      handoff_grace: 15m           # a hand-off missed while no replica ran is still sent this late
      top_alerts: 5                # how many of the alerts that fired most to list

The rotations themselves are ``escalation.rotations`` (bot/config/oncall.py). A leaf module.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.durations import Duration


class OnCallPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handoff_channel: str | None = Field(default=None, description="Channel for the hand-off summary")
    handoff_dm: bool = True
    handoff_grace: Duration = timedelta(minutes=15)
    top_alerts: int = Field(default=5, ge=1, le=20)

    @field_validator("handoff_channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        return v or None

    @field_validator("handoff_grace")
    @classmethod
    def _grace(cls, v: timedelta) -> timedelta:
        if not timedelta(0) <= v <= timedelta(days=1):
            raise ValueError("between 0 and 1d")
        return v
