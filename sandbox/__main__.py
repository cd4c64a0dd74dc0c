"""``python -m sandbox``: run the Slack sandbox alone (the bot runs elsewhere)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from sandbox.config import SandboxConfig
from sandbox.server import run_sandbox


async def _main(args: argparse.Namespace) -> None:
    config = SandboxConfig(rate_limits=not args.no_rate_limits)
    sandbox = await run_sandbox(args.host, args.port, args.bot_url, config=config, seed_path=args.seed)
    print(
        f"Slack sandbox: {sandbox.url}  (Web API {sandbox.api_url}, bot token {sandbox.bot_token})",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--bot-url", default="http://127.0.0.1:3000/slack/events")
    parser.add_argument("--seed", default=None, help="workspace seed YAML (default: the packaged seed)")
    parser.add_argument("--no-rate-limits", action="store_true")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(_main(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
