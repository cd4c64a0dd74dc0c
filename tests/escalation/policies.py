"""Policy files for the escalation tests (YAML text), with timers of a few seconds."""

from __future__ import annotations

ALICE, BOB, CAROL, DAVE, ERIN = "U0ALICE001", "U0BOB00002", "U0CAROL003", "U0DAVE0004", "U0ERIN0005"

LEVELS = f"""
  rotations:
    - {{name: primary, members: [{ALICE}, {BOB}], shift: 1w, handoff_time: "09:00", timezone: Europe/Berlin,
       start: 2024-01-01}}
    - {{name: secondary, members: [{DAVE}], shift: 1d, start: 2024-01-01}}
  levels:
    - level: 1
      name: On-call
      aliases: [oncall]
      targets: [{{name: primary, rotation: primary}}, {{name: secondary, rotation: secondary}}]
    - level: 2
      name: Team lead
      aliases: [team-lead]
      targets: [{{name: lead, users: [{CAROL}]}}]
    - level: 3
      name: Engineering manager
      aliases: [manager]
      targets: [{{name: manager, usergroups: [platform-leads], channel: alerts}}]
  roles:
    tech-lead: {{level: 2}}
    support: {{users: [{ERIN}]}}
"""


def policy(timers: str = "  timers: []", extra: str = "") -> str:
    return f"escalation:{LEVELS}{timers}\n{extra}"


def messages(sandbox: object, channel: str) -> list[dict[str, object]]:
    """A channel's messages, or none yet (a DM channel exists from the bot's first message on)."""
    try:
        found: list[dict[str, object]] = sandbox.messages(channel)  # type: ignore[attr-defined]
    except KeyError:
        return []
    return found
