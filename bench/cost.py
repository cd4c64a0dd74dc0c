"""7. Command cost: distinct commands per second and CPU per command, the bot against the floor.

Every request is a new slash command (its own ``trigger_id``, so the bot claims, checks, handles,
audits and answers each one), 100 closed-loop users, ``/incident help`` (a real command that needs
no incident, so what is measured is the command path itself). The floor is a bare Bolt AsyncApp
that only acks, served the same way. Bot and floor alternate A B A B in one run (bench/ack.py); the
figure that matters is the ratio measured in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.ack import AckLevel, bench_ack
from bench.harness import Spread, spread


@dataclass
class CostResult:
    level: AckLevel
    command: str
    answered: int
    acked: int
    answered_in_ack: int

    @property
    def ratio_rps(self) -> Spread:
        bot, floor = self.level.bot["rps"].values, self.level.floor["rps"].values
        return spread(b / f for b, f in zip(bot, floor, strict=True))


async def bench_cost(repeats: int = 2, duration: float = 3.0, users: int = 100) -> CostResult:
    result = await bench_ack((users,), repeats, duration, text="help")
    (level,) = result.levels
    return CostResult(
        level,
        result.command,
        result.responses_sent + result.answered_in_ack,
        result.bot_acked,
        result.answered_in_ack,
    )
