"""Views: pure functions from state to Block Kit (slack_sdk.models). No I/O here."""
