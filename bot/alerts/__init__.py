"""Alertmanager notifications as grouped, threaded Slack posts (intake → stream → worker → outbox)."""
