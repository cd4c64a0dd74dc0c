"""War-room names follow Slack's channel-name rules whatever the title."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.channels import is_valid_channel_name, war_room_name


def test_plain_title() -> None:
    assert war_room_name("inc", 12, "API gateway down") == "inc-12-api-gateway-down"


def test_accents_symbols_and_case() -> None:
    assert war_room_name("inc", 3, "Café: 50% of *Checkout* FAILS!!") == "inc-3-cafe-50-of-checkout-fails"


def test_long_titles_are_cut_to_80_with_room_for_a_suffix() -> None:
    name = war_room_name("inc", 123456, "word " * 40, suffix="-2")
    assert len(name) <= 80 and name.endswith("-2") and name.startswith("inc-123456-word")


def test_title_with_nothing_usable() -> None:
    assert war_room_name("inc", 9, "🔥🔥🔥") == "inc-9"


@given(st.text(max_size=300), st.integers(min_value=1, max_value=10**8), st.sampled_from(["", "-2", "-19"]))
def test_always_valid(title: str, number: int, suffix: str) -> None:
    assert is_valid_channel_name(war_room_name("inc", number, title, suffix))
