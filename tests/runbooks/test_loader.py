"""Loading runbooks from directories: front matter, plain Markdown, lookup and closest matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runbooks.loader import RunbookLibrary, parse_runbook

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_the_shipped_runbooks_load_with_diagnostics() -> None:
    library = RunbookLibrary.load([REPO_RUNBOOKS])
    assert library.errors == []
    assert library.names() == ["high-error-rate", "pod-crash-loop", "service-down", "slow-database"]
    for runbook in library.all():
        assert runbook.diagnostics, runbook.name
        kinds = {d.type for d in runbook.diagnostics}
        assert "promql" in kinds and kinds - {"promql"}, runbook.name  # PromQL and Kubernetes checks
        assert any(d.graph for d in runbook.diagnostics), runbook.name


def test_plain_markdown_takes_title_from_first_heading_and_name_from_file(tmp_path: Path) -> None:
    write(tmp_path, "Disk_Full.md", "Some intro\n\n## Disk almost full\n\nDelete old logs.\n")
    write(tmp_path, "no-heading.md", "just text\n")
    library = RunbookLibrary.load([tmp_path])
    disk = library.get("disk full")
    assert disk is not None
    assert (disk.name, disk.title, disk.diagnostics) == ("Disk_Full", "Disk almost full", [])
    bare = library.get("NO_HEADING")
    assert bare is not None and bare.title == "No Heading"


@pytest.mark.parametrize(
    "query",
    [
        "KubePodCrashLooping",
        "kube-pod-crash-looping",
        "kube_pod_crash_looping",
        "POD-CRASH-LOOP",
        "crashloop",
        "Pod Crash Loop",
        "pod-crash-loop.md",
    ],
)
def test_lookup_is_case_and_separator_insensitive(query: str) -> None:
    library = RunbookLibrary.load([REPO_RUNBOOKS])
    found = library.get(query)
    assert found is not None and found.name == "pod-crash-loop"


def test_file_named_after_the_alert_matches_both_spellings(tmp_path: Path) -> None:
    write(tmp_path, "KubePodCrashLooping.md", "# Crash looping\n")
    write(tmp_path, "kube-node-not-ready.md", "# Node not ready\n")
    library = RunbookLibrary.load([tmp_path])
    assert library.get("kube-pod-crash-looping").name == "KubePodCrashLooping"  # type: ignore[union-attr]
    assert library.get("KubeNodeNotReady").name == "kube-node-not-ready"  # type: ignore[union-attr]


def test_alert_mapping_from_policy_and_front_matter(tmp_path: Path) -> None:
    library = RunbookLibrary.load([REPO_RUNBOOKS], alert_map={"CheckoutSlow": "slow-database"})
    assert library.for_alert("CheckoutSlow").name == "slow-database"  # type: ignore[union-attr]
    assert library.for_alert("KubePodCrashLooping").name == "pod-crash-loop"  # type: ignore[union-attr]
    assert library.get("checkout-slow").name == "slow-database"  # type: ignore[union-attr]
    assert library.for_alert("SomethingElse") is None


def test_unknown_name_gives_closest_matches() -> None:
    library = RunbookLibrary.load([REPO_RUNBOOKS])
    assert library.get("crash") is None
    assert library.closest("crash")[0] == "pod-crash-loop"
    assert library.closest("databse-slow")[0] == "slow-database"
    assert library.closest("high-eror-rate")[0] == "high-error-rate"
    assert library.closest("zzzzzz") == []


def test_several_directories_and_bad_files_are_reported_not_fatal(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write(first, "one.md", "# One\n")
    write(second, "one.md", "# Other one\n")
    write(second, "two.md", "# Two\n")
    write(second, "broken.md", "---\ntitle: [unclosed\n---\n# Broken\n")
    write(second, "bad-diag.md", "---\ndiagnostics:\n  - name: x\n    type: pods\n---\n# Bad\n")
    library = RunbookLibrary.load([first, second, tmp_path / "missing"])
    # no file is skipped: a clash of names is solved by the directory, a bad front matter is reported
    # and the text still loads (without the diagnostics it could not read)
    assert library.names() == ["b/one", "bad-diag", "broken", "one", "two"]
    assert library.get("one").title == "One"  # type: ignore[union-attr]
    assert library.get("b/one").title == "Other one"  # type: ignore[union-attr]
    assert library.get("broken").title == "Broken"  # type: ignore[union-attr]
    assert library.get("bad-diag").diagnostics == []  # type: ignore[union-attr]
    errors = "\n".join(library.errors)
    assert "broken.md: front matter is not valid YAML" in errors
    assert (
        "bad-diag.md: diagnostics.0: Value error, diagnostic 'x': pods needs params ['namespace']" in errors
    )
    assert "missing: runbook directory not found" in errors


def test_unknown_and_loosely_typed_front_matter_never_skips_a_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.md",
        "---\ntitle: 42\nweight: 3\nalerts: SingleAlert\nbookCollapseSection: true\n---\nx\n",
    )
    library = RunbookLibrary.load([tmp_path])
    assert library.errors == []
    runbook = library.get("SingleAlert")
    assert runbook is not None and runbook.title == "42" and runbook.alerts == ["SingleAlert"]
    assert runbook.unknown_keys == ["bookCollapseSection", "weight"]


def test_front_matter_fields(tmp_path: Path) -> None:
    runbook = parse_runbook(
        "---\ntitle: Queue backlog\naliases: [backlog]\nalerts: [QueueBacklog]\nservice: worker\n"
        "diagnostics:\n  - name: depth\n    type: promql\n    query: queue_depth\n"
        "    unit: count\n    graph: true\n"
        "---\n# Ignored heading\nbody\n",
        tmp_path / "queue.md",
    )
    assert (runbook.title, runbook.aliases, runbook.alerts, runbook.service) == (
        "Queue backlog",
        ["backlog"],
        ["QueueBacklog"],
        "worker",
    )
    assert runbook.diagnostics[0].graph and runbook.body.startswith("# Ignored heading")
