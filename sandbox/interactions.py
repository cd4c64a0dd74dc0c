"""What users do: slash commands, button clicks, view submissions, reactions, messages.

Each builds the request Slack would send, delivers it signed to the bot, and applies the bot's ack
the way Slack does. The JSON API, the Python API and the page all come through here.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from sandbox import slack_text
from sandbox.blocks import find_action, validate_blocks, validate_view
from sandbox.core import Core, normalize_blocks
from sandbox.delivery import Delivery, DeliveryResult
from sandbox.workspace import Channel, Ephemeral, Message, User, View, Workspace

log = logging.getLogger("sandbox.interactions")

VERIFICATION_TOKEN = "sandbox-verification-token"


class InteractionError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class Interactions:
    def __init__(self, core: Core, delivery: Delivery) -> None:
        self.core = core
        self.delivery = delivery

    @property
    def ws(self) -> Workspace:
        return self.core.workspace

    # ---- lookups -------------------------------------------------------------------------------
    def user(self, ref: str | None) -> User:
        user = self.ws.find_user(ref)
        if user is None or user.is_bot:
            raise InteractionError("user_not_found", detail=f"no user {ref!r}")
        return user

    def channel(self, ref: str | None) -> Channel:
        channel = self.ws.find_channel(ref)
        if channel is None:
            raise InteractionError("channel_not_found", detail=f"no channel {ref!r}")
        return channel

    def channel_of(self, user: User, ref: str | None) -> Channel:
        """A channel ``user`` can act in: a private channel or a DM only as a member (to anyone
        else Slack shows no such channel)."""
        channel = self.channel(ref)
        if (channel.is_private or channel.is_im) and user.id not in channel.members:
            raise InteractionError("channel_not_found", detail=f"{user.name} is not a member of {ref!r}")
        return channel

    def _user_obj(self, user: User) -> dict[str, Any]:
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.ws.team_id}

    def _team_obj(self) -> dict[str, Any]:
        return {"id": self.ws.team_id, "domain": self.ws.team_domain}

    def _slack_error(self, channel: Channel, user: User, text: str, thread_ts: str | None = None) -> None:
        self.core.post_ephemeral(
            channel, user.id, text=text, thread_ts=thread_ts, source="slack", is_error=True, sender="slackbot"
        )

    def _result(self, res: DeliveryResult, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": res.ok,
            "status": res.status,
            "ack_ms": round(res.ack_ms, 2),
            "response": res.body if isinstance(res.body, dict | str) else None,
            "error": res.error,
        }
        if res.detail:
            out["detail"] = res.detail
        out.update(extra)
        return out

    # ---- slash commands ------------------------------------------------------------------------
    async def command(self, user_ref: str, channel_ref: str, command: str, text: str = "") -> dict[str, Any]:
        user = self.user(user_ref)
        channel = self.channel_of(user, channel_ref)
        command = command if command.startswith("/") else f"/{command}"
        trigger_id = self.core.issue_trigger(user.id, channel.id)
        response_url = self.core.issue_response_url(user.id, channel.id)
        rid = response_url.rsplit("/", 1)[-1]
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.ws.team_id,
            "team_domain": self.ws.team_domain,
            "channel_id": channel.id,
            "channel_name": channel.name if not channel.is_im else "directmessage",
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            # as Slack sends it: entities always, mentions/channels/links with should_escape
            "text": slack_text.encode(
                self.ws, text, slack_text.should_escape(self.ws, command, slack_text.manifest_escapes())
            ),
            "api_app_id": self.ws.bot.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        self.core.publish({"type": "command", "channel": channel.id, "user": user.id, "command": command})
        res = await self.delivery.send_form(fields, "slash_command")
        self.core.count(f"command {command}", res.error or "ok")
        if res.error:
            self._slack_error(channel, user, f'{command} failed with the error "{res.error}"')
        else:
            ack_error = self._apply_ack(channel, user, res.body, rid)
            if ack_error:
                res.error = ack_error
        return self._result(res, trigger_id=trigger_id, response_url=response_url)

    def _apply_ack(self, channel: Channel, user: User, body: Any, rid: str) -> str | None:
        """Slack shows a slash command's ack body: ephemeral by default, in the channel if asked."""
        if body is None or body == "":
            return None
        if isinstance(body, str):
            eph = self.core.post_ephemeral(
                channel, user.id, text=body, source="ack", sender=self.ws.bot.user_id
            )
            self.ws.response_urls[rid].ephemeral_id = eph.id
            return None
        if not isinstance(body, dict):
            return None
        blocks = body.get("blocks")
        text = body.get("text") or ""
        if blocks is not None:
            errors = validate_blocks(blocks)
            if errors:
                log.warning("SANDBOX: ack with invalid blocks: %s", "; ".join(errors))
                self._slack_error(channel, user, 'The app\'s response failed with the error "invalid_blocks"')
                return "invalid_blocks"
        if not text and not blocks:
            return None
        if body.get("response_type") == "in_channel":
            self.core.post_message(
                channel, user=self.ws.bot.user_id, text=text, blocks=blocks, thread_ts=body.get("thread_ts")
            )
        else:
            eph = self.core.post_ephemeral(
                channel, user.id, text=text, blocks=blocks, source="ack", sender=self.ws.bot.user_id
            )
            self.ws.response_urls[rid].ephemeral_id = eph.id
        return None

    # ---- block actions -------------------------------------------------------------------------
    def _action(self, block_id: str, el: dict[str, Any], value: Any, selected_option: Any) -> dict[str, Any]:
        kind = el.get("type", "button")
        action: dict[str, Any] = {
            "action_id": el.get("action_id"),
            "block_id": block_id,
            "type": kind,
            "action_ts": self.core.clock.next_ts(),
        }
        if kind == "button":
            action["text"] = copy.deepcopy(el.get("text"))
            action["value"] = value if value is not None else el.get("value")
            if el.get("style"):
                action["style"] = el["style"]
            if action["value"] is None:
                action.pop("value")
        elif kind in ("static_select", "overflow", "radio_buttons"):
            option = self._pick_option(el, selected_option if selected_option is not None else value)
            action["selected_option"] = option
        elif kind in ("multi_static_select", "checkboxes"):
            wanted = selected_option if isinstance(selected_option, list) else [selected_option or value]
            action["selected_options"] = [self._pick_option(el, w) for w in wanted if w is not None]
        elif kind == "users_select":
            action["selected_user"] = value
        elif kind in ("conversations_select", "channels_select"):
            action["selected_conversation" if kind == "conversations_select" else "selected_channel"] = value
        elif kind == "datepicker":
            action["selected_date"] = value
        else:
            action["value"] = value
        return action

    @staticmethod
    def _pick_option(el: dict[str, Any], wanted: Any) -> dict[str, Any]:
        if isinstance(wanted, dict):
            wanted = wanted.get("value")
        options = list(el.get("options") or [])
        for group in el.get("option_groups") or []:
            options.extend(group.get("options") or [])
        for opt in options:
            if opt.get("value") == wanted:
                return copy.deepcopy(opt)
        raise InteractionError("option_not_found", detail=f"no option with value {wanted!r}")

    async def click(
        self,
        user_ref: str,
        channel_ref: str | None,
        message_ts: str | None,
        action_id: str,
        value: Any = None,
        selected_option: Any = None,
        view_id: str | None = None,
    ) -> dict[str, Any]:
        user = self.user(user_ref)
        if view_id:
            return await self._click_in_view(user, view_id, action_id, value, selected_option)
        channel = self.channel_of(user, channel_ref)
        msg: Message | None = channel.messages.get(message_ts or "")
        eph: Ephemeral | None = None
        if msg is None:
            eph = self.ws.find_ephemeral(message_ts)
            if eph is None or eph.user != user.id or eph.channel != channel.id:
                raise InteractionError("message_not_found")
        blocks = msg.blocks if msg else eph.blocks if eph else None
        found = find_action(blocks, action_id)
        if found is None:
            raise InteractionError("action_not_found", detail=f"no element with action_id {action_id!r}")
        block_id, el = found
        ts = msg.ts if msg else eph.ts if eph else ""
        thread_ts = (msg.thread_ts if msg else eph.thread_ts if eph else None) or None
        response_url = self.core.issue_response_url(
            user.id,
            channel.id,
            message_ts=msg.ts if msg else None,
            ephemeral_id=eph.id if eph else None,
            thread_ts=thread_ts,
        )
        trigger_id = self.core.issue_trigger(user.id, channel.id)
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel.id,
            "is_ephemeral": eph is not None,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_obj(user),
            "api_app_id": self.ws.bot.app_id,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger_id,
            "team": self._team_obj(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.name},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [self._action(block_id, el, value, selected_option)],
        }
        if msg is not None:
            payload["message"] = self.ws.message_to_slack(msg)
        self.core.publish({"type": "click", "channel": channel.id, "user": user.id, "action_id": action_id})
        res = await self.delivery.send_payload(payload, "block_actions")
        self.core.count(f"action {action_id}", res.error or "ok")
        if res.error:
            self._slack_error(
                channel, user, f'The app did not respond to your click: "{res.error}"', thread_ts
            )
        return self._result(
            res, trigger_id=trigger_id, response_url=response_url, action=payload["actions"][0]
        )

    async def _click_in_view(
        self, user: User, view_id: str, action_id: str, value: Any, selected_option: Any
    ) -> dict[str, Any]:
        view = self._open_view(user, view_id)
        found = find_action(view.definition.get("blocks"), action_id)
        if found is None:
            raise InteractionError("action_not_found", detail=f"no element with action_id {action_id!r}")
        block_id, el = found
        trigger_id = self.core.issue_trigger(user.id, view.channel)
        view_json = view.to_slack()
        view_json["state"] = {"values": self._state(view, {})}
        payload = {
            "type": "block_actions",
            "user": self._user_obj(user),
            "api_app_id": self.ws.bot.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view.id},
            "trigger_id": trigger_id,
            "team": self._team_obj(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view_json,
            "actions": [self._action(block_id, el, value, selected_option)],
        }
        res = await self.delivery.send_payload(payload, "block_actions")
        self.core.count(f"action {action_id}", res.error or "ok")
        return self._result(res, trigger_id=trigger_id)

    # ---- shortcuts -----------------------------------------------------------------------------
    async def shortcut(
        self,
        user_ref: str,
        callback_id: str,
        channel_ref: str | None = None,
        message_ts: str | None = None,
    ) -> dict[str, Any]:
        """A global shortcut (``type: shortcut``: no channel, no message, no response_url) or, with a
        channel and a message, a message shortcut (``type: message_action``), in Slack's shape."""
        user = self.user(user_ref)
        if not callback_id:
            raise InteractionError("invalid_callback_id")
        trigger_id = self.core.issue_trigger(user.id, None)
        payload: dict[str, Any] = {
            "type": "shortcut",
            "token": VERIFICATION_TOKEN,
            "action_ts": self.core.clock.next_ts(),
            "team": self._team_obj(),
            "user": {"id": user.id, "username": user.name, "team_id": self.ws.team_id},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
        }
        extra: dict[str, Any] = {"trigger_id": trigger_id}
        channel: Channel | None = None
        msg: Message | None = None
        if channel_ref is not None or message_ts is not None:
            channel = self.channel(channel_ref)
            if channel.is_private and user.id not in channel.members:
                raise InteractionError("channel_not_found")
            msg = channel.messages.get(message_ts or "")
            if msg is None:
                raise InteractionError("message_not_found")
            response_url = self.core.issue_response_url(
                user.id, channel.id, message_ts=msg.ts, thread_ts=msg.thread_ts
            )
            self.ws.triggers[trigger_id].channel = channel.id
            payload.update(
                type="message_action",
                channel={"id": channel.id, "name": channel.name},
                message_ts=msg.ts,
                message=self.ws.message_to_slack(msg),
                response_url=response_url,
            )
            payload["user"]["name"] = user.name
            extra["response_url"] = response_url
        self.core.publish(
            {
                "type": "shortcut",
                "user": user.id,
                "callback_id": callback_id,
                "channel": channel and channel.id,
            }
        )
        res = await self.delivery.send_payload(payload, payload["type"])
        self.core.count(f"shortcut {callback_id}", res.error or "ok")
        if res.error and channel is not None and msg is not None:
            self._slack_error(
                channel, user, f'The app did not respond to your shortcut: "{res.error}"', msg.thread_ts
            )
        return self._result(res, payload=payload, **extra)

    # ---- views ---------------------------------------------------------------------------------
    def _open_view(self, user: User, view_id: str) -> View:
        view = self.ws.views.get(view_id)
        if view is None or view.user != user.id or not view.is_open or view.type != "modal":
            raise InteractionError("view_not_found")
        return view

    def _state(self, view: View, values: dict[str, Any]) -> dict[str, Any]:
        """Slack's view.state.values from the user's input (by block_id→action_id, or by action_id)."""
        state: dict[str, Any] = {}
        for block in view.definition.get("blocks") or []:
            elements: list[dict[str, Any]] = []
            if block.get("type") == "input" and isinstance(block.get("element"), dict):
                elements = [block["element"]]
            elif block.get("type") == "actions":
                elements = [e for e in block.get("elements") or [] if e.get("type") != "button"]
            elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
                acc = block["accessory"]
                elements = [acc] if acc.get("type") != "button" else []
            for el in elements:
                bid, aid = block.get("block_id", ""), el.get("action_id", "")
                given: Any = None
                by_block = values.get(bid)
                if isinstance(by_block, dict) and aid in by_block:
                    given = by_block[aid]
                elif aid in values:
                    given = values[aid]
                state.setdefault(bid, {})[aid] = self._element_state(el, given)
        return state

    def _element_state(self, el: dict[str, Any], given: Any) -> dict[str, Any]:
        kind = el.get("type", "")
        if isinstance(given, dict) and "type" in given:
            return copy.deepcopy(given)
        if kind in ("static_select", "radio_buttons"):
            if given is None:
                opt = copy.deepcopy(el.get("initial_option"))
            else:
                opt = self._pick_option(el, given)
            return {"type": kind, "selected_option": opt}
        if kind in ("multi_static_select", "checkboxes"):
            if given is None:
                opts = copy.deepcopy(el.get("initial_options") or [])
            else:
                opts = [self._pick_option(el, g) for g in (given if isinstance(given, list) else [given])]
            return {"type": kind, "selected_options": opts}
        if kind == "users_select":
            return {"type": kind, "selected_user": given if given is not None else el.get("initial_user")}
        if kind == "multi_users_select":
            return {
                "type": kind,
                "selected_users": given if given is not None else el.get("initial_users", []),
            }
        if kind == "conversations_select":
            return {"type": kind, "selected_conversation": given or el.get("initial_conversation")}
        if kind == "channels_select":
            return {"type": kind, "selected_channel": given or el.get("initial_channel")}
        if kind == "datepicker":
            return {"type": kind, "selected_date": given or el.get("initial_date")}
        value = given if given is not None else el.get("initial_value")
        return {"type": kind, "value": None if value in (None, "") else str(value)}

    def _missing_required(self, view: View, state: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for block in view.definition.get("blocks") or []:
            if block.get("type") != "input" or block.get("optional"):
                continue
            bid = block.get("block_id", "")
            for entry in state.get(bid, {}).values():
                empty = all(entry.get(k) in (None, "", []) for k in entry if k != "type")
                if empty:
                    errors[bid] = "Please fill out this field."
        return errors

    async def submit(
        self, user_ref: str, view_id: str, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        user = self.user(user_ref)
        view = self._open_view(user, view_id)
        state = self._state(view, values or {})
        missing = self._missing_required(view, state)
        if missing:
            view.errors = missing
            self.core.publish({"type": "view_updated", "user": user.id, "view_id": view.id})
            return {
                "ok": False,
                "error": "missing_required",
                "errors": missing,
                "status": None,
                "ack_ms": 0.0,
            }
        view_json = view.to_slack()
        view_json["state"] = {"values": state}
        payload = {
            "type": "view_submission",
            "team": self._team_obj(),
            "user": self._user_obj(user),
            "api_app_id": self.ws.bot.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.core.issue_trigger(user.id, view.channel),
            "view": view_json,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        res = await self.delivery.send_payload(payload, "view_submission")
        self.core.count(f"view_submission {view.definition.get('callback_id', '')}", res.error or "ok")
        extra: dict[str, Any] = {"view_id": view.id}
        if res.error:
            view.errors = {"": f'We had some trouble connecting. Try again? ("{res.error}")'}
        else:
            outcome = self._apply_view_ack(view, res.body)
            extra.update(outcome)
            if outcome.get("ack_error"):
                res.error = outcome["ack_error"]
        self.core.publish({"type": "view_updated", "user": user.id, "view_id": view.id})
        return self._result(res, **extra)

    def _apply_view_ack(self, view: View, body: Any) -> dict[str, Any]:
        action = body.get("response_action") if isinstance(body, dict) else None
        if action == "errors":
            errors = body.get("errors") or {}
            view.errors = {str(k): str(v) for k, v in errors.items()}
            return {"response_action": "errors", "errors": view.errors}
        if action in ("update", "push"):
            new_def = body.get("view")
            problems = validate_view(new_def)
            if problems:
                log.warning("SANDBOX: view_submission ack with invalid view: %s", "; ".join(problems))
                view.errors = {"": "The app answered with an invalid view."}
                return {"response_action": action, "ack_error": "invalid_arguments", "messages": problems}
            assert isinstance(new_def, dict)
            new_def = copy.deepcopy(new_def)
            new_def["blocks"] = normalize_blocks(new_def.get("blocks", [])) or []
            if action == "update":
                view.definition = new_def
                view.errors = None
                return {"response_action": "update"}
            pushed = View(
                id=self.core.ids.new("V"),
                team_id=view.team_id,
                type="modal",
                user=view.user,
                app_id=view.app_id,
                bot_id=view.bot_id,
                definition=new_def,
                hash=view.hash,
                root_view_id=view.root_view_id,
                previous_view_id=view.id,
                channel=view.channel,
            )
            self.ws.views[pushed.id] = pushed
            return {"response_action": "push", "pushed_view_id": pushed.id}
        if action == "clear":
            for v in self.ws.views.values():
                if v.root_view_id == view.root_view_id:
                    v.is_open = False
            return {"response_action": "clear"}
        view.is_open = False
        view.errors = None
        return {"response_action": None}

    async def close_view(self, user_ref: str, view_id: str) -> dict[str, Any]:
        user = self.user(user_ref)
        view = self._open_view(user, view_id)
        view.is_open = False
        self.core.publish({"type": "view_closed", "user": user.id, "view_id": view.id})
        if not view.definition.get("notify_on_close"):
            return {"ok": True, "delivered": False}
        payload = {
            "type": "view_closed",
            "team": self._team_obj(),
            "user": self._user_obj(user),
            "api_app_id": self.ws.bot.app_id,
            "token": VERIFICATION_TOKEN,
            "view": view.to_slack(),
            "is_cleared": False,
            "is_enterprise_install": False,
        }
        res = await self.delivery.send_payload(payload, "view_closed")
        return self._result(res, delivered=True)

    # ---- events --------------------------------------------------------------------------------
    def _envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        now = self.core.clock.now()
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.ws.team_id,
            "api_app_id": self.ws.bot.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": self.core.ids.new("Ev"),
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.ws.team_id,
                    "user_id": self.ws.bot.user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    async def react(self, user_ref: str, channel_ref: str, ts: str, name: str) -> dict[str, Any]:
        user = self.user(user_ref)
        channel = self.channel(channel_ref)
        msg = channel.messages.get(ts)
        if msg is None:
            raise InteractionError("message_not_found")
        name = name.strip().strip(":")
        if not name:
            raise InteractionError("invalid_name")
        users = msg.reactions.setdefault(name, [])
        if user.id in users:
            raise InteractionError("already_reacted")
        users.append(user.id)
        self.core.publish(
            {"type": "message_changed", "channel": channel.id, "ts": msg.ts, "thread_ts": msg.thread_ts}
        )
        event = {
            "type": "reaction_added",
            "user": user.id,
            "reaction": name,
            "item_user": msg.user,
            "item": {"type": "message", "channel": channel.id, "ts": msg.ts},
            "event_ts": self.core.clock.next_ts(),
        }
        res = await self.delivery.send_event(self._envelope(event))
        self.core.count("event reaction_added", res.error or "ok")
        return self._result(res, event=event)

    async def say(
        self, user_ref: str, channel_ref: str, text: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A user posts a plain message; the bot gets ``message`` (and ``app_mention``) events."""
        user = self.user(user_ref)
        channel = self.channel_of(user, channel_ref)
        if not text.strip():
            raise InteractionError("no_text")
        if channel.is_archived:
            raise InteractionError("is_archived")
        if thread_ts and thread_ts not in channel.messages:
            raise InteractionError("thread_not_found")
        if thread_ts:
            parent = channel.messages[thread_ts]
            thread_ts = parent.thread_ts or parent.ts
        msg = self.core.post_message(channel, user=user.id, text=text, thread_ts=thread_ts, as_bot=False)
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel.id,
            "user": user.id,
            "text": msg.text,
            "ts": msg.ts,
            "event_ts": msg.ts,
            "channel_type": "im" if channel.is_im else "group" if channel.is_private else "channel",
            "team": self.ws.team_id,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        res = await self.delivery.send_event(self._envelope(event))
        results = [self._result(res)]
        if f"<@{self.ws.bot.user_id}>" in text:
            mention = {**event, "type": "app_mention"}
            mention.pop("channel_type", None)
            res2 = await self.delivery.send_event(self._envelope(mention))
            results.append(self._result(res2))
        return {**results[0], "ts": msg.ts, "deliveries": results}
