"""The App Home part: stops the Home publishes still waiting for their turn (bot/incidents/home.py)."""

from __future__ import annotations

from bot.context import AppContext
from bot.incidents import home
from bot.parts import BotApp


class HomePart:
    name = "home"

    def __init__(self) -> None:
        self._ctx: AppContext | None = None

    def routes(self, app: BotApp) -> None:
        return None

    async def start(self, ctx: AppContext) -> None:
        self._ctx = ctx

    async def stop(self) -> None:
        if self._ctx is not None:
            await home.stop(self._ctx)
            self._ctx = None


def make_part() -> HomePart:
    return HomePart()
