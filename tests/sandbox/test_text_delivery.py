"""Slash-command text arrives as Slack sends it (https://api.slack.com/interactivity/slash-commands,
"Escaping"; https://api.slack.com/reference/surfaces/formatting, "Escaping text"): entities always,
mentions, channels and links encoded when the command has ``should_escape`` in the manifest."""

from __future__ import annotations

from pathlib import Path

from sandbox import Sandbox
from sandbox.slack_text import manifest_escapes
from tests.sandbox.receiver import Receiver


async def _delivered_text(sandbox: Sandbox, receiver: Receiver, command: str, text: str) -> str:
    before = len(receiver.requests)
    result = await sandbox.command("alice", "#incidents", command, text)
    assert result["ok"], result
    assert len(receiver.requests) == before + 1
    got = receiver.requests[-1]
    assert got.verified
    return got.form["text"]


def test_should_escape_comes_from_the_apps_manifest(tmp_path: Path) -> None:
    assert manifest_escapes() == {"/incident": True, "/status": True, "/runbook": True, "/escalate": True}
    manifest = tmp_path / "manifest.yml"
    manifest.write_text(
        "features:\n  slash_commands:\n    - command: /x\n    - command: /y\n      should_escape: true\n"
    )
    assert manifest_escapes(manifest) == {"/x": False, "/y": True}  # Slack's default is false
    assert manifest_escapes(tmp_path / "missing.yml") == {}


async def test_ampersands_and_angle_brackets_are_always_entities(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    text = await _delivered_text(sandbox, receiver, "/incident", 'create critical "R&D <portal> down"')
    assert text == 'create critical "R&amp;D &lt;portal&gt; down"'
    # a control sequence typed by hand is text, never a broadcast
    text = await _delivered_text(sandbox, receiver, "/status", "update identified <!channel> <@U0FRANK006>")
    assert text == "update identified &lt;!channel&gt; &lt;@U0FRANK006&gt;"


async def test_with_should_escape_people_channels_groups_and_links_are_encoded(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    typed = "update identified Paging @carol and @sre-oncall, see #incidents and https://status.example.com/a?b=1&c=2."
    text = await _delivered_text(sandbox, receiver, "/status", typed)
    assert text == (
        "update identified Paging <@U0CAROL003|carol> and <!subteam^S0SREONCALL|@sre-oncall>, see "
        "<#C0INCIDENTS|incidents> and <https://status.example.com/a?b=1&amp;c=2>."
    )


async def test_special_mentions_are_encoded_and_unknown_names_stay_typed(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    text = await _delivered_text(
        sandbox, receiver, "/status", "update x @here @nobody #no-such-channel bob@example.com"
    )
    assert text == "update x <!here> @nobody #no-such-channel bob@example.com"


async def test_without_should_escape_text_stays_as_typed_but_encoded(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    for c in sandbox.core.workspace.slash_commands:
        if c["command"] == "/status":
            c["should_escape"] = False  # a seed may override the manifest, as a different app would
    text = await _delivered_text(
        sandbox, receiver, "/status", "update x @carol #incidents https://x.test/?a&b"
    )
    assert text == "update x @carol #incidents https://x.test/?a&amp;b"
