from __future__ import annotations

import email.utils

from integrations.vendor_http import parse_retry_after


def test_delta_seconds() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-3") == 0.0


def test_http_date_relative_to_now() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(header, now=now) == 42.0
    past = email.utils.formatdate(now - 10, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_missing_or_garbage() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
