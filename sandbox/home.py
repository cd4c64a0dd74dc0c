"""The App Home tab: a person opens it, the app gets ``app_home_opened``; what the app published
with ``views.publish`` is what the person sees; clicks in it are ``block_actions`` from a view.

Shapes as Slack documents them:

* https://api.slack.com/events/app_home_opened: ``{"type": "app_home_opened", "user", "channel"
  (the app's DM with the person), "tab": "home" | "messages", "event_ts", "view"}``; ``view`` only
  once the app has published one for that person.
* https://api.slack.com/surfaces/app-home: the Home is one ``home`` view per person, replaced by each
  ``views.publish``; no ``trigger_id`` comes with opening it.
* https://api.slack.com/reference/interaction-payloads/block-actions: a click in a Home is
  ``block_actions`` with ``container: {"type": "view", "view_id"}``, the ``view`` (its ``type``
  ``home``), a ``trigger_id``, and neither ``channel`` nor ``response_url``.

JSON API: ``POST /sandbox/home/open {user, tab?}``, ``GET /sandbox/home?user=``, ``POST
/sandbox/home/click {user, action_id, value?, selected_option?}``, ``GET /sandbox/shortcuts`` (the
app's shortcuts from its manifest, for the page's menus), ``POST /sandbox/shortcut {user,
callback_id, channel?, message_ts?}`` (a global shortcut, or a message's with channel and ts).
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sandbox.blocks import find_action
from sandbox.core import Core
from sandbox.delivery import Delivery
from sandbox.interactions import VERIFICATION_TOKEN, InteractionError, Interactions
from sandbox.slack_text import MANIFEST
from sandbox.workspace import User, View

log = logging.getLogger("sandbox.home")

TABS = ("home", "messages")


@functools.lru_cache(maxsize=4)
def manifest_shortcuts(path: Path = MANIFEST) -> list[dict[str, str]]:
    """The app's shortcuts (``features.shortcuts``): name, type (global/message), callback_id."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("SANDBOX: no app manifest at %s (%s): no shortcuts", path, exc)
        return []
    found = ((data.get("features") or {}).get("shortcuts")) or []
    out = []
    for item in found:
        if isinstance(item, dict) and item.get("callback_id") and item.get("type") in ("global", "message"):
            out.append(
                {
                    "name": str(item.get("name") or item["callback_id"]),
                    "type": str(item["type"]),
                    "callback_id": str(item["callback_id"]),
                    "description": str(item.get("description") or ""),
                }
            )
    return out


class HomeTab:
    def __init__(self, core: Core, delivery: Delivery, actions: Interactions) -> None:
        self.core = core
        self.delivery = delivery
        self.actions = actions

    # ---- state ---------------------------------------------------------------------------------
    def _view_of(self, user: User) -> View | None:
        return next(
            (v for v in self.core.workspace.views.values() if v.user == user.id and v.type == "home"), None
        )

    def view(self, user_ref: str) -> dict[str, Any] | None:
        """The Home view the app published for this person (Slack's shape), or None."""
        view = self._view_of(self.actions.user(user_ref))
        return view.to_slack() if view else None

    # ---- a person opens the tab ----------------------------------------------------------------
    async def open(self, user_ref: str, tab: str = "home") -> dict[str, Any]:
        user = self.actions.user(user_ref)
        if tab not in TABS:
            raise InteractionError("invalid_tab", detail=f"tab is one of {', '.join(TABS)}")
        ws = self.core.workspace
        dm = ws.dm_channel(user)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user.id,
            "channel": dm.id,
            "tab": tab,
            "event_ts": self.core.clock.next_ts(),
        }
        published = self._view_of(user)
        if published is not None:
            event["view"] = published.to_slack()
        self.core.publish({"type": "home_opened", "user": user.id, "tab": tab})
        res = await self.delivery.send_event(self.actions._envelope(event))
        self.core.count("event app_home_opened", res.error or "ok")
        return self.actions._result(res, event=event)

    # ---- a click in the Home -------------------------------------------------------------------
    async def click(
        self, user_ref: str, action_id: str, value: Any = None, selected_option: Any = None
    ) -> dict[str, Any]:
        user = self.actions.user(user_ref)
        view = self._view_of(user)
        if view is None:
            raise InteractionError("view_not_found", detail="the app has published no Home for this user")
        found = find_action(view.definition.get("blocks"), action_id)
        if found is None:
            raise InteractionError("action_not_found", detail=f"no element with action_id {action_id!r}")
        block_id, el = found
        trigger_id = self.core.issue_trigger(user.id, None)
        view_json = view.to_slack()
        view_json["state"] = {"values": self.actions._state(view, {})}
        act = self.actions._action(block_id, el, value, selected_option)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": user.id,
                "username": user.name,
                "name": user.name,
                "team_id": self.core.workspace.team_id,
            },
            "api_app_id": self.core.workspace.bot.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view.id},
            "trigger_id": trigger_id,
            "team": {"id": self.core.workspace.team_id, "domain": self.core.workspace.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view_json,
            "actions": [act],
        }
        self.core.publish({"type": "click", "user": user.id, "action_id": action_id, "view_id": view.id})
        res = await self.delivery.send_payload(payload, "block_actions")
        self.core.count(f"action {action_id}", res.error or "ok")
        return self.actions._result(res, trigger_id=trigger_id, action=act)

    # ---- JSON API ------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/sandbox/home", self._get),
            web.post("/sandbox/home/open", self._open),
            web.post("/sandbox/home/click", self._click),
            web.get("/sandbox/shortcuts", self._shortcuts),
            web.post("/sandbox/shortcut", self._shortcut),
        ]

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"ok": False, "error": "invalid_json"}), content_type="application/json"
            )
        return data

    @staticmethod
    def _error(exc: InteractionError) -> web.Response:
        status = 404 if exc.error in ("user_not_found", "view_not_found", "action_not_found") else 400
        return web.json_response({"ok": False, "error": exc.error, **exc.extra}, status=status)

    async def _get(self, request: web.Request) -> web.Response:
        try:
            view = self.view(request.query.get("user", ""))
        except InteractionError as exc:
            return self._error(exc)
        return web.json_response({"ok": True, "view": view})

    async def _open(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        if not data.get("user"):
            return web.json_response({"ok": False, "error": "missing_field", "fields": ["user"]}, status=400)
        try:
            result = await self.open(str(data["user"]), str(data.get("tab") or "home"))
        except InteractionError as exc:
            return self._error(exc)
        return web.json_response(result)

    async def _click(self, request: web.Request) -> web.Response:
        data = await self._body(request)
        missing = [k for k in ("user", "action_id") if not data.get(k)]
        if missing:
            return web.json_response({"ok": False, "error": "missing_field", "fields": missing}, status=400)
        try:
            result = await self.click(
                str(data["user"]),
                str(data["action_id"]),
                value=data.get("value"),
                selected_option=data.get("selected_option"),
            )
        except InteractionError as exc:
            return self._error(exc)
        return web.json_response(result)

    async def _shortcut(self, request: web.Request) -> web.Response:
        """Use a global shortcut (``user, callback_id``) or a message's (plus ``channel, message_ts``)."""
        data = await self._body(request)
        missing = [k for k in ("user", "callback_id") if not data.get(k)]
        if missing:
            return web.json_response({"ok": False, "error": "missing_field", "fields": missing}, status=400)
        try:
            result = await self.actions.shortcut(
                str(data["user"]), str(data["callback_id"]), data.get("channel"), data.get("message_ts")
            )
        except InteractionError as exc:
            status = 404 if exc.error in ("user_not_found", "channel_not_found", "message_not_found") else 400
            return web.json_response({"ok": False, "error": exc.error, **exc.extra}, status=status)
        result.pop("payload", None)
        return web.json_response(result)

    async def _shortcuts(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "shortcuts": manifest_shortcuts()})
