"""``chatops check-config`` on a policy whose runbooks come from a Hugo collection: the front-matter keys
the bot does not use are reported once each, as notes (never a problem, never a warning that
``--strict`` fails on), and no runbook is skipped for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runbooks.loader import RunbookLibrary
from chatops.main import main

HUGO = Path(__file__).parent / "corpus" / "hugo"


def test_unknown_front_matter_is_a_note_once_per_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(f"runbooks:\n  paths: ['{HUGO}']\n")
    assert main(["check-config", "--strict", str(policy)]) == 0
    out = capsys.readouterr().out.splitlines()
    notes = [line.strip() for line in out if line.strip().startswith("note:")]
    weight = [n for n in notes if "front-matter key 'weight'" in n]
    assert weight == [
        "note: runbooks: front-matter key 'weight' is not used by the bot (ignored) in 4 files, "
        "e.g. KubePodCrashLooping"
    ]
    keys = [n.split("front-matter key '", 1)[1].split("'", 1)[0] for n in notes]
    assert keys == sorted(set(keys)) and {"draft", "tags", "bookToc"} <= set(keys)
    assert not [line for line in out if "warning:" in line]
    assert out[-1].endswith(": OK")
    library = RunbookLibrary.load([HUGO])
    assert library.errors == [] and "KubePodCrashLooping" in library.names()


def test_no_note_without_unknown_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(f"runbooks:\n  paths: ['{tmp_path / 'none'}']\n")
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "disk-full.md").write_text(
        "---\ntitle: Disk full\n---\n# Disk full\n\nFree space.\n"
    )
    assert main(["check-config", str(policy)]) == 0
    assert "note:" not in capsys.readouterr().out
