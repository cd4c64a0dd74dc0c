"""The ``chatops`` command: serve, socket, worker, sandbox, check-config, audit.

The process's entry point (``chatops = "chatops.main:main"``; also ``python -m chatops``). It builds
the settings, the context and the product (:mod:`chatops.product`) and serves it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import webbrowser
from collections.abc import Sequence

from aiohttp import web

from bot import audit_cli
from bot.app import build_web_app
from bot.config.policy import PolicyError, load_policy
from bot.context import AppContext, build_context
from bot.logs import setup_logging
from bot.settings import Settings
from chatops.product import StartupError, assemble
from chatops.socket_mode import SocketModeConfigError

log = logging.getLogger("chatops")


def _context(settings: Settings, redis: object | None = None) -> AppContext:
    try:
        policy = load_policy(settings.chatops_config)
    except PolicyError as exc:
        print("The policy file has errors:\n" + "\n".join(f"  {p}" for p in exc.problems), file=sys.stderr)
        raise SystemExit(2) from exc
    return build_context(settings, policy, redis=redis)  # type: ignore[arg-type]


async def _serve(settings: Settings, host: str, port: int) -> None:
    parts = assemble()  # a missing part or command module stops here, before anything is opened
    app = build_web_app(_context(settings), parts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("chatops listening on http://%s:%s (Slack API at %s)", host, port, settings.api_base)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


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


async def _redis_or_fake(url: str) -> tuple[object, bool]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, decode_responses=True, socket_connect_timeout=1)
    try:
        await client.ping()
        return client, True
    except Exception:
        await client.aclose()
        import fakeredis

        return fakeredis.FakeAsyncRedis(decode_responses=True), False


async def _sandbox(
    settings: Settings, host: str, port: int, bot_port: int, open_browser: bool, socket: bool = False
) -> None:
    from sandbox import Sandbox

    parts = assemble()
    sb = Sandbox()
    await sb.start(host=host, port=port)
    settings = settings.model_copy(
        update={
            "slack_api_url": sb.api_url,
            "slack_bot_token": type(settings.slack_bot_token)(sb.bot_token),
            "slack_signing_secret": type(settings.slack_signing_secret)(sb.signing_secret),
            "slack_app_token": type(settings.slack_app_token)(sb.app_token if socket else ""),
        }
    )
    redis, durable = await _redis_or_fake(settings.redis_url)
    if not durable:
        print(
            f"No Redis answers at {settings.redis_url}: using an in-process store. "
            "State is NOT durable: it is gone when this process stops."
        )
    app = build_web_app(_context(settings, redis), parts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, bot_port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else bot_port
    handler = None
    if socket:  # Slack's requests reach the bot over Socket Mode, not POST /slack/events
        from chatops.socket_mode import socket_handler

        handler = socket_handler(app, settings)
        await handler.connect_async()
        print("The bot is connected to the sandbox over Socket Mode.")
    else:
        sb.bot_url = f"http://{host}:{bound}/slack/events"
    print(f"Sandbox Slack workspace: {sb.url}   (bot on http://{host}:{bound})")
    print('Open it in a browser and type  /incident create critical "API gateway down"  in #incidents.')
    if open_browser:
        try:
            webbrowser.open(sb.url)
        except Exception as exc:  # no browser or display: the URL above is enough
            log.info("no browser opened: %s", exc)
    try:
        await asyncio.Event().wait()
    finally:
        if handler is not None:
            await handler.close_async()
        await runner.cleanup()
        await sb.stop()


def check_config(path: str, settings: Settings, *, strict: bool = False) -> int:
    """Print the policy's problems and warnings (e.g. a configured pager whose secret is not set
    here); exit 1 on a problem, or on a warning with ``--strict``."""
    from bot.config_check import review

    report = review(path, settings)
    for w in report.warnings:
        print(f"  warning: {w}")
    failing = report.problems + (report.warnings if strict else [])
    if failing:
        print(f"{path}: {len(report.problems)} problem(s), {len(report.warnings)} warning(s)")
        for p in report.problems:
            print(f"  {p}")
        return 1
    print(f"{path}: OK" + (f" ({len(report.warnings)} warning(s))" if report.warnings else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatops", description="ChatOps incident-response bot for Slack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("serve", "serve Slack over HTTP at /slack/events"), ("socket", "Socket Mode")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--host", default="0.0.0.0")
        p.add_argument("--port", type=int, default=3000)
    p = sub.add_parser("worker", help="only the background work: alert worker and outbound queue")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3001, help="health and metrics")
    p = sub.add_parser("sandbox", help="a local Slack workspace in your browser, with the bot")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8800)
    p.add_argument("--bot-port", type=int, default=0)
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
            asyncio.run(_serve(settings, args.host, args.port))
        elif args.cmd == "worker":
            asyncio.run(_serve(settings.model_copy(update={"role": "worker"}), args.host, args.port))
        elif args.cmd == "socket":
            asyncio.run(_socket(settings, args.host, args.port))
        elif args.cmd == "sandbox":
            asyncio.run(
                _sandbox(settings, args.host, args.port, args.bot_port, not args.no_browser, args.socket)
            )
    except KeyboardInterrupt:
        return 0
    except StartupError as exc:
        print(f"chatops cannot start: {exc}", file=sys.stderr)
        return 2
    except SocketModeConfigError as exc:
        print(f"chatops cannot start Socket Mode: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
