"""``chatops sandbox``: the bot against a local Slack workspace, with a real store.

The store is the Redis at ``REDIS_URL`` when one answers (the sandbox then keeps its keys under
``chatops-sandbox:``, never production's ``chatops:``), otherwise an embedded Valkey server
(:mod:`chatops.embedded`) whose files live in ``--data-dir``. The workspace is saved in the same
directory, and the workspace and the bot's state always start together: both kept, or (with
``--fresh``, or when they no longer belong together) both cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import webbrowser
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from bot.config.policy import Policy
from bot.context import build_context
from bot.settings import Settings
from chatops.embedded import DEFAULT_DATA_DIR, Store, open_store
from chatops.startup import load_checked_policy

log = logging.getLogger("chatops.sandbox")

PRODUCTION_PREFIX = "chatops"
SANDBOX_PREFIX = "chatops-sandbox"
DEFAULT_PORT = 8800
DEFAULT_BOT_PORT = 8801
WORKSPACE_FILE = "workspace.json"
GENERATION_KEY = "sandbox:generation"  # under the prefix: ties the bot's state to one saved workspace


@dataclass
class SandboxOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    bot_port: int = DEFAULT_BOT_PORT
    open_browser: bool = True
    socket: bool = False
    data_dir: Path = field(default_factory=lambda: DEFAULT_DATA_DIR)
    fresh: bool = False
    config: str | None = None  # None: the demo policy
    demo: bool = False


def demo_policy_path() -> Path:
    """The policy the sandbox runs with unless ``--config`` names another (package data)."""
    return Path(str(resources.files("sandbox").joinpath("demo-policy.yml")))


def sandbox_prefix(configured: str) -> str:
    """The sandbox's key prefix: ``CHATOPS_REDIS_PREFIX`` when it names something other than
    production's, else ``chatops-sandbox``."""
    configured = configured.strip().rstrip(":")
    return SANDBOX_PREFIX if configured in ("", PRODUCTION_PREFIX) else configured


async def clear_prefix(client: aioredis.Redis, prefix: str) -> int:
    """Delete the sandbox's keys (``<prefix>:*``) and its escalation jobs in arq (``arq:*:<prefix>:*``)."""
    deleted = 0
    for pattern in (f"{prefix}:*", f"arq:*:{prefix}:*"):
        batch: list[str] = []
        async for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += int(await client.delete(*batch))
                batch = []
        if batch:
            deleted += int(await client.delete(*batch))
    return deleted


async def align_state(
    client: aioredis.Redis, prefix: str, saved: dict[str, Any] | None, fresh: bool
) -> tuple[str, str | None]:
    """The generation to run with, and why the state was cleared (None when it is kept).

    Kept when the saved workspace and the store carry the same generation; otherwise (``--fresh``,
    no saved workspace, a store that lost its state) both start clean under a new generation."""
    key = f"{prefix}:{GENERATION_KEY}"
    stored = await client.get(key)
    saved_gen = saved.get("generation") if saved else None
    reason: str | None = None
    if fresh:
        reason = "--fresh"
    elif saved_gen is None and stored is None:
        reason = "first start"
    elif saved_gen is None:
        reason = "no saved workspace for the bot's state"
    elif stored != saved_gen:
        reason = "the store does not hold the saved workspace's state"
    if reason is None:
        return str(saved_gen), None
    await clear_prefix(client, prefix)
    generation = secrets.token_hex(8)
    await client.set(key, generation)
    return generation, reason


def command_hints() -> list[dict[str, Any]]:
    """The bot's own slash commands with their usage lines (from its registry, in order, each line
    once), for the page's composer: the page can never suggest what the bot refuses."""
    from bot import listeners

    return [
        {
            "command": name,
            "description": cmd.summary,
            "usage": list(dict.fromkeys(line.strip() for line in cmd.usage_lines() if line.strip())),
        }
        for name, cmd in listeners.REGISTRY.items()
    ]


async def run(settings: Settings, opts: SandboxOptions) -> None:
    from chatops.product import assemble
    from chatops.trial import TrialRoutes
    from sandbox import Sandbox
    from sandbox.snapshot import WorkspaceFile, restore

    parts = assemble()  # a missing part or command module stops here, before anything is opened
    policy_path = opts.config or str(demo_policy_path())
    policy: Policy = load_checked_policy(policy_path, settings)  # a bad policy: its report, exit 2
    data_dir = opts.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    workspace_path = data_dir / WORKSPACE_FILE
    if opts.fresh:
        workspace_path.unlink(missing_ok=True)

    store: Store = await open_store(settings.redis_url, data_dir, fresh=opts.fresh)
    prefix = sandbox_prefix(settings.redis_prefix)
    admin = aioredis.from_url(store.url, decode_responses=True)
    try:
        saved = WorkspaceFile.read(workspace_path)
        generation, cleared = await align_state(admin, prefix, saved, opts.fresh)
    finally:
        await admin.aclose()

    sb = Sandbox()
    if cleared is None and saved is not None:
        try:
            restore(sb.core, saved)
        except ValueError as exc:  # an older or foreign file: start both clean instead
            log.error("saved workspace %s not used: %s", workspace_path, exc)
            admin = aioredis.from_url(store.url, decode_responses=True)
            try:
                generation, cleared = await align_state(admin, prefix, None, True)
            finally:
                await admin.aclose()
            cleared = f"the saved workspace could not be read ({exc})"
    trial = TrialRoutes(sb)
    trial.add_to(sb.app)  # before start: the router freezes then
    await sb.start(host=opts.host, port=opts.port)
    saver = WorkspaceFile(sb.core, workspace_path, generation)
    saver.start()

    settings = settings.model_copy(
        update={
            "slack_api_url": sb.api_url,
            "slack_bot_token": type(settings.slack_bot_token)(sb.bot_token),
            "slack_signing_secret": type(settings.slack_signing_secret)(sb.signing_secret),
            "slack_app_token": type(settings.slack_app_token)(sb.app_token if opts.socket else ""),
            "redis_url": store.url,  # every client (bot, job queue, its worker) uses this one store
            "redis_prefix": prefix,
            "chatops_config": policy_path,
        }
    )
    from bot.app import build_web_app

    app = build_web_app(build_context(settings, policy), parts)
    runner = web.AppRunner(app, access_log=None)
    handler = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    demo_task: asyncio.Task[Any] | None = None
    try:
        await runner.setup()
        await web.TCPSite(runner, opts.host, opts.bot_port).start()
        bound = runner.addresses[0][1] if runner.addresses else opts.bot_port
        shown_host = "127.0.0.1" if opts.host in ("0.0.0.0", "") else opts.host
        bot_base = f"http://{shown_host}:{bound}"
        if opts.socket:  # Slack's requests reach the bot over Socket Mode, not POST /slack/events
            from chatops.socket_mode import socket_handler

            handler = socket_handler(app, settings)
            await handler.connect_async()
        else:
            sb.bot_url = f"{bot_base}/slack/events"
        trial.configure(
            bot_url=bot_base,
            webhook_url=f"{bot_base}/alerts/alertmanager",
            policy=policy_path,
            demo_policy=opts.config is None,
            store=store.describe(),
            prefix=prefix,
            hints=command_hints(),
        )
        for line in startup_lines(sb.url, bot_base, store, prefix, policy_path, opts, cleared, data_dir):
            print(line)
        sys.stdout.flush()
        if opts.demo:
            demo_task = asyncio.create_task(trial.play_demo(), name="sandbox-demo")
        if opts.open_browser:
            try:
                webbrowser.open(sb.url)
            except Exception as exc:  # no browser or display: the URL above is enough
                log.info("no browser opened: %s", exc)
        await stop.wait()
        print("Stopping the sandbox (its workspace and the bot's state are kept).", flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if demo_task is not None:
            demo_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await demo_task
        if handler is not None:
            await handler.close_async()
        await runner.cleanup()
        await saver.stop()
        await sb.stop()
        await store.close()


def startup_lines(
    page: str,
    bot: str,
    store: Store,
    prefix: str,
    policy_path: str,
    opts: SandboxOptions,
    cleared: str | None,
    data_dir: Path,
) -> list[str]:
    """What the sandbox prints when it is ready (the first line names the page's URL)."""
    lines = [f"Sandbox Slack workspace: {page}   (bot on {bot})"]
    lines.append(store.describe())
    if store.kind == "redis":
        lines.append(f"  the sandbox keeps its keys under `{prefix}:` (a deployment's are under `chatops:`)")
    lines.append(
        f"Workspace saved in {data_dir / WORKSPACE_FILE}"
        + (f"; started clean ({cleared})" if cleared else "; continued from the last run")
        + "  (--fresh starts clean)"
    )
    if opts.config is None:
        lines.append(f"Policy: the demo policy {policy_path}  (--config FILE for your own)")
    else:
        lines.append(f"Policy: {policy_path}")
    lines.append(
        f'Alertmanager webhook: {bot}/alerts/alertmanager   ("Fire demo alerts" in the page sends to it)'
    )
    lines.append('Open the page and type  /incident create critical "API gateway down"  in #incidents.')
    return lines
