"""What an engineer types, and what the bot understands of it."""

from __future__ import annotations

import pytest

from bot.listeners import UsageError
from commands.incident import (
    ModalArgs,
    incident,
    parse_create,
    parse_list,
    parse_note,
    parse_ref_only,
    parse_role,
)
from commands.status import parse_update, status


def test_create_with_quoted_title() -> None:
    args = parse_create('critical "API gateway down"')
    assert (args.severity, args.title, args.service) == ("critical", "API gateway down", None)


def test_create_without_quotes_and_with_service() -> None:
    args = parse_create("p2 Checkout is slow service=payments")
    assert (args.severity, args.title, args.service) == ("p2", "Checkout is slow", "payments")


def test_create_keeps_apostrophes() -> None:
    assert parse_create("high Users can't log in").title == "Users can't log in"


@pytest.mark.parametrize("text", ["critical", "critical   ", 'critical ""', "--private"])
def test_create_needs_a_title(text: str) -> None:
    with pytest.raises(UsageError):
        parse_create(text)


def test_create_without_arguments_opens_the_form() -> None:
    assert isinstance(parse_create(""), ModalArgs)
    assert isinstance(parse_create("   "), ModalArgs)


def test_create_title_too_long() -> None:
    with pytest.raises(UsageError, match="title"):
        parse_create("critical " + "x" * 200)


def test_list_scopes() -> None:
    assert parse_list("").scope == "open"
    assert parse_list("ALL").scope == "all"
    with pytest.raises(UsageError):
        parse_list("closed")


def test_incident_ids_are_normalised() -> None:
    assert parse_ref_only("inc-7").incident_id == "INC-7"
    assert parse_ref_only("12").incident_id == "INC-12"
    assert parse_ref_only("").incident_id is None  # inside a war room
    with pytest.raises(UsageError):
        parse_ref_only("INC-7 extra words")


def test_role_needs_a_person() -> None:
    # the person is Slack text (a mention, @name, a name or an e-mail), resolved by the handler
    args = parse_role("INC-3 commander <@U123ABC|alice>")
    assert (args.incident_id, args.role, args.person) == ("INC-3", "commander", "<@U123ABC|alice>")
    assert parse_role("INC-3 commander Carol Chen").person == "Carol Chen"
    with pytest.raises(UsageError):
        parse_role("INC-3 commander")
    with pytest.raises(UsageError):
        parse_role("INC-3")


def test_note_needs_text() -> None:
    assert parse_note('INC-1 "rolled back v2.3"').text == "rolled back v2.3"
    with pytest.raises(UsageError):
        parse_note("INC-1")


def test_status_update_forms() -> None:
    args = parse_update('INC-123 investigating "Checking database connectivity"')
    assert (args.incident_id, args.status, args.message) == (
        "INC-123",
        "investigating",
        "Checking database connectivity",
    )
    in_room = parse_update("Identified Bad config push")
    assert (in_room.incident_id, in_room.status, in_room.message) == (None, "identified", "Bad config push")
    with pytest.raises(UsageError):
        parse_update("INC-1 monitoring")
    with pytest.raises(UsageError):
        parse_update("")


def test_routing_of_verbs() -> None:
    sub, rest = incident.route('create critical "x"')
    assert sub is not None and sub.name == "create" and rest == 'critical "x"'
    sub, rest = incident.route("frobnicate")
    assert sub is None
    sub, rest = status.route("INC-1 identified found it")  # verb optional for /status
    assert sub is not None and sub.name == "update" and rest.startswith("INC-1")
