"""Process metrics, registered once on prometheus-client's default registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SLACK_CALLS = Counter("chatops_slack_calls_total", "Slack Web API calls", ["method", "outcome"])
SLACK_CALL_SECONDS = Histogram(
    "chatops_slack_call_seconds",
    "Slack Web API call latency",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SLACK_RATELIMITED = Counter("chatops_slack_ratelimited_total", "HTTP 429 answers from Slack", ["method"])
SLACK_PACING_WAIT = Counter(
    "chatops_slack_pacing_wait_seconds_total", "Time spent waiting for per-channel pacing", ["method"]
)
COMMANDS = Counter("chatops_commands_total", "Slash commands handled", ["command", "outcome"])
ACTIONS = Counter("chatops_actions_total", "Interactive actions handled", ["action", "outcome"])
LISTENER_REQUESTS = Counter(
    "chatops_listener_requests_total",
    "Slack requests through the listener pipeline (name is 'unknown' when no listener matched)",
    ["kind", "name", "outcome"],
)
LISTENER_SECONDS = Histogram(
    "chatops_listener_seconds",
    "Time from a Slack request's arrival to its audit record (its handler's work included)",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INCIDENTS_OPEN = Gauge("chatops_incidents_open", "Incidents not yet resolved (as last counted)")
