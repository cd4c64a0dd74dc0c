"""Runbook collections in the layouts people keep them in (written for these tests): Hugo with YAML and
TOML front matter, MkDocs (mkdocs.yml + docs/), a flat folder of plain Markdown, nested sections.
Each loads completely: no file skipped, unknown front-matter keys listed, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.runbooks import views
from bot.runbooks.loader import SECTION_FILES, RunbookLibrary, _is_leaf_bundle
from bot.runbooks.markdown import SECTION_TEXT_LIMIT

CORPUS = Path(__file__).parent / "corpus"
LAYOUTS = {
    "hugo": {
        "runbooks": {
            "KubePodCrashLooping",
            "kube-deployment-replicas-mismatch",
            "node-not-ready",
            "disk-almost-full",
        },
        "sections": {"content", "content/docs/kubernetes", "content/docs/storage"},
    },
    "mkdocs": {"runbooks": {"high-error-rate", "slow-checkout"}, "sections": {"docs"}},
    "flat": {"runbooks": {"certificate-expiring", "Queue_Backlog", "dns-failures"}, "sections": {""}},
    "nested": {
        "runbooks": {"replication-lag", "overview", "queues/overview", "memory-alarm"},
        "sections": {"", "databases", "queues/rabbitmq"},
    },
}


def markdown_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in (".md", ".markdown")]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_loads_completely(layout: str) -> None:
    root = CORPUS / layout
    library = RunbookLibrary.load([root])
    assert library.errors == []
    assert set(library.names()) == LAYOUTS[layout]["runbooks"]
    assert {s.folder for s in library.sections} == LAYOUTS[layout]["sections"]
    # every Markdown file is a runbook or a section: nothing skipped
    loaded = {r.path for r in library.all()} | {s.path for s in library.sections}
    assert loaded == set(markdown_files(root))
    for path in markdown_files(root):
        is_section = path.name.lower() in SECTION_FILES and not (
            _is_leaf_bundle(path) and path.parent != root
        )
        assert (path in {s.path for s in library.sections}) == is_section, path


def test_hugo_front_matter_is_read_and_unknown_keys_are_listed() -> None:
    library = RunbookLibrary.load([CORPUS / "hugo"])
    crash = library.get("KubePodCrashLooping")
    assert crash is not None and crash.title == "Pod is crash looping"
    assert crash.alerts == ["KubePodCrashLooping"] and crash.section == "content/docs/kubernetes"
    assert crash.unknown_keys == ["bookHidden", "date", "draft", "tags", "weight"]
    toml = library.get("kube-deployment-replicas-mismatch")
    assert toml is not None and toml.title == "Deployment replicas mismatch"
    assert toml.unknown_keys == ["bookFlatSection", "weight"]
    unknown = library.unknown_front_matter()
    assert unknown["weight"] == [
        "KubePodCrashLooping",
        "disk-almost-full",
        "kube-deployment-replicas-mismatch",
        "node-not-ready",
    ]
    report = library.unknown_front_matter_report()
    assert any("'weight' is not used by the bot (ignored) in 4 files" in line for line in report)
    sections = {s.folder: s.title for s in library.sections}
    assert sections == {
        "content": "Operations runbooks",
        "content/docs/kubernetes": "Kubernetes",
        "content/docs/storage": "Storage",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("KubePodCrashLooping", "KubePodCrashLooping"),  # file name and alert name
        ("kube-pod-crash-looping", "KubePodCrashLooping"),
        ("Pod is crash looping", "KubePodCrashLooping"),  # title
        ("KubeDeploymentReplicasMismatch", "kube-deployment-replicas-mismatch"),  # alert name = file name
        ("node not ready", "node-not-ready"),  # leaf bundle named after its folder
        # runbook_url basenames, as Prometheus rules carry them
        ("https://runbooks.example.org/storage/KubePersistentVolumeFillingUp", "disk-almost-full"),
        ("https://wiki.example/ops/KubePodCrashLooping/", "KubePodCrashLooping"),
        (
            "https://git.example/runbooks/blob/main/README.md#alert-name-kubepodcrashlooping",
            "KubePodCrashLooping",
        ),
        ("docs/storage/disk-almost-full.md", "disk-almost-full"),
    ],
)
def test_lookup_by_name_title_alert_and_runbook_url(query: str, expected: str) -> None:
    library = RunbookLibrary.load([CORPUS / "hugo"])
    found = library.get(query)
    assert found is not None and found.name == expected


def test_for_alert_uses_alert_name_and_runbook_url() -> None:
    library = RunbookLibrary.load([CORPUS / name for name in LAYOUTS])
    assert library.errors == []
    assert library.for_alert("PostgresReplicationLag").name == "replication-lag"  # type: ignore[union-attr]
    assert library.for_alert("KubeDeploymentReplicasMismatch").name == "kube-deployment-replicas-mismatch"  # type: ignore[union-attr]
    found = library.for_alert("Unknown", "https://runbooks.example/x/queue-backlog")
    assert found is not None and found.name == "Queue_Backlog"
    assert library.closest("crashloop")[0] == "KubePodCrashLooping"
    assert library.closest("replicaton lag")[0] == "replication-lag"


def test_all_layouts_together_keep_every_file() -> None:
    roots = [CORPUS / name for name in sorted(LAYOUTS)]
    library = RunbookLibrary.load(roots)
    assert library.errors == []
    total = sum(len(markdown_files(r)) for r in roots)
    assert len(library.runbooks) + len(library.sections) == total


def test_every_corpus_runbook_renders_within_slack_limits() -> None:
    library = RunbookLibrary.load([CORPUS / name for name in LAYOUTS])
    for runbook in library.all():
        pages = views.runbook_pages(runbook)
        for page in pages:
            raw = [b.to_dict() for b in page]
            assert len(raw) <= 50
            for block in raw:
                text = block.get("text")
                if isinstance(text, dict):
                    assert len(text["text"]) <= SECTION_TEXT_LIMIT
        text = json.dumps([b.to_dict() for p in pages for b in p], ensure_ascii=False)
        assert "<!--" not in text and "TODO: add the cloud" not in text


def test_long_runbook_continues_in_the_thread_to_its_last_line(tmp_path: Path) -> None:
    steps = "\n".join(
        f"{i}. Step {i}: check shard {i} with `kubectl get pods -l shard={i}` and note <&> anything odd. "
        + "Write down what you saw. " * 8
        for i in range(1, 401)
    )
    body = f"---\ntitle: Long drill\nweight: 3\n---\n# Long drill\n\n{steps}\n\nLast line of the drill.\n"
    (tmp_path / "long-drill.md").write_text(body)
    library = RunbookLibrary.load([tmp_path])
    runbook = library.get("long drill")
    assert runbook is not None and library.errors == []
    pages = views.runbook_pages(runbook)
    assert len(pages) > 1
    shown = "\n".join(
        b.to_dict().get("text", {}).get("text", "") for page in pages for b in page if b.to_dict().get("text")
    )
    for i in range(1, 401):
        assert f"Step {i}:" in shown
    assert "Last line of the drill." in shown
    for page in pages:
        assert len(page) <= 50
        size = sum(len(b.to_dict().get("text", {}).get("text", "")) for b in page if b.to_dict().get("text"))
        assert size < 12_000 + 3000  # pagination's budget plus the header/context of the first page
