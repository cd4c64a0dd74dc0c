"""The load generator, run in its own process: closed-loop users over aiohttp, one JSON line out.

``slash``: signed slash commands (Slack's form body and v0 signature) to ``/slack/events``; the
latency of each request is its acknowledgement time. ``alerts``: Alertmanager webhook notifications
to ``/alerts/alertmanager``; counts the ones answered 200.

    python -m bench.loadgen slash --url http://127.0.0.1:3000/slack/events --concurrency 10 \
        --duration 3 --warmup 1 --secret S --response-url http://127.0.0.1:9000/r
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier


def slash_body(n: int, response_url: str, command: str, text: str) -> bytes:
    """A slash command as Slack posts it (unique trigger_id: every request is a new command)."""
    user = f"U0BENCH{n % 100:03d}"
    return urlencode(
        {
            "token": "unused-verification-token",
            "team_id": "T0SANDBOX",
            "team_domain": "sandbox",
            "channel_id": "C0BENCH001",
            "channel_name": "incidents",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0CHATOPS",
            "is_enterprise_install": "false",
            "response_url": f"{response_url}/{n}",
            "trigger_id": f"{n}.{uuid.uuid4().hex}",
        }
    ).encode()


async def run(args: argparse.Namespace, bodies: list[bytes]) -> dict[str, Any]:
    signer = SignatureVerifier(args.secret or "unused")
    counter = itertools.count()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    measure_from = started + args.warmup
    stop_at = measure_from + args.duration
    measured_ok = 0
    ok_total = 0  # every 200, warm-up included (the intake bench checks each one is in Redis)
    answered_in_ack = 0  # slash: 200s whose body carried the answer itself (no response_url POST)
    limit = args.requests

    async def user(http: aiohttp.ClientSession) -> None:
        nonlocal measured_ok, ok_total, answered_in_ack
        while True:
            n = next(counter)
            if limit and n >= limit:
                return
            if not limit and time.perf_counter() >= stop_at:
                return
            if args.mode == "slash":
                body = slash_body(n, args.response_url, args.command, args.text)
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": signer.generate_signature(timestamp=ts, body=body),
                }
            else:
                body = bodies[n % len(bodies)]
                headers = {"Content-Type": "application/json"}
            t0 = time.perf_counter()
            try:
                async with http.post(args.url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    status = str(resp.status)
                    if args.mode == "slash" and resp.status == 200 and raw.strip():
                        answered_in_ack += 1
            except (aiohttp.ClientError, OSError) as exc:
                status = type(exc).__name__
            t1 = time.perf_counter()
            ok_total += status == "200"
            if limit or t0 >= measure_from:
                statuses[status] += 1
                latencies.append((t1 - t0) * 1000)
                if status == "200":
                    measured_ok += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(user(http) for _ in range(args.concurrency)))
    elapsed = (time.perf_counter() - started) if limit else args.duration
    return {
        "mode": args.mode,
        "concurrency": args.concurrency,
        "requests": len(latencies),
        "ok": measured_ok,
        "statuses": dict(statuses),
        "seconds": elapsed,
        "per_second": measured_ok / elapsed if elapsed else 0.0,
        "latencies_ms": latencies,
        "ok_total": ok_total,
        "answered_in_ack": answered_in_ack,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("mode", choices=("slash", "alerts"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds (after warm-up)")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--requests", type=int, default=0, help="send exactly this many instead (no warm-up)")
    parser.add_argument("--secret", default="")
    parser.add_argument("--response-url", default="http://127.0.0.1:9/r")
    parser.add_argument("--command", default="/incident")
    parser.add_argument("--text", default="list")
    parser.add_argument("--bodies", help="alerts: a file with one JSON notification per line")
    args = parser.parse_args()
    if args.mode == "alerts" and not args.bodies:
        parser.error("alerts mode needs --bodies")
    bodies: list[bytes] = []
    if args.mode == "alerts":
        with open(args.bodies, "rb") as f:
            bodies = [line.rstrip(b"\n") for line in f if line.strip()]
    result = asyncio.run(run(args, bodies))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
