"""Load runbooks from directories of Markdown files and find them by name, alias or alert name."""

from __future__ import annotations

import difflib
import logging
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.runbooks.model import (
    KNOWN_KEYS,
    FrontMatter,
    Runbook,
    RunbookKeys,
    Section,
    lookup_key,
    reference_keys,
    words_key,
)

log = logging.getLogger(__name__)

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_TOML_FRONT_MATTER = re.compile(r"\A\ufeff?\+\+\+[ \t]*\r?\n(.*?)\r?\n\+\+\+[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
SECTION_FILES = frozenset({"_index.md", "index.md", "readme.md"})
_MARKDOWN_SUFFIXES = (".md", ".markdown")


class RunbookError(ValueError):
    """A runbook file that cannot be used; the message names the file and the problem."""


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], str, list[str]]:
    """(front-matter mapping, body, problems): YAML between ``---`` lines or TOML between ``+++`` (Hugo).

    A front matter that cannot be read is a problem reported for the file, whose text still loads."""
    match = _FRONT_MATTER.match(text)
    toml_match = None if match else _TOML_FRONT_MATTER.match(text)
    if match is None and toml_match is None:
        return {}, text.lstrip("\ufeff"), []
    found = match or toml_match
    assert found is not None
    body = text[found.end() :]
    try:
        data: Any = yaml.safe_load(found.group(1)) if match else tomllib.loads(found.group(1))
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        kind = "YAML" if match else "TOML"
        return {}, body, [f"{path}: front matter is not valid {kind}: {' '.join(str(exc).split())}"]
    if data is None:
        return {}, body, []
    if not isinstance(data, dict):
        return {}, body, [f"{path}: front matter must be a mapping of keys"]
    return {str(k): v for k, v in data.items()}, body, []


def _problems(path: Path, exc: ValidationError) -> str:
    return f"{path}: " + "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'front matter'}: {err['msg']}" for err in exc.errors()
    )


def _meta(data: dict[str, Any], path: Path) -> tuple[FrontMatter, list[str]]:
    """The keys the bot uses; a bad value of one of them drops that key (reported), not the file."""
    known = {k: v for k, v in data.items() if k in KNOWN_KEYS}
    try:
        return FrontMatter.model_validate(known), []
    except ValidationError as exc:
        problems = [_problems(path, exc)]
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]} or set(known)
    try:
        return FrontMatter.model_validate({k: v for k, v in known.items() if k not in bad}), problems
    except ValidationError as exc2:  # a whole-model rule (e.g. unique diagnostic names)
        problems.append(_problems(path, exc2))
        keep = {k: v for k, v in known.items() if k not in bad and k != "diagnostics"}
        return FrontMatter.model_validate(keep), problems


def _title(meta_title: str | None, body: str, name: str) -> str:
    heading = _HEADING.search(body)
    if meta_title and meta_title.strip():
        return meta_title.strip()
    if heading:
        return heading.group(1).strip()
    return name.replace("-", " ").replace("_", " ").strip().title() or name


def read_runbook(
    text: str, path: Path, *, name: str | None = None, section: str = ""
) -> tuple[Runbook, list[str]]:
    """A runbook from a file's text and the problems met (never fatal: the text always loads)."""
    name = name or path.stem
    data, body, problems = _front_matter(text, path)
    meta, meta_problems = _meta(data, path)
    problems += meta_problems
    runbook = Runbook(
        name=name,
        title=_title(meta.title, body, name),
        path=path,
        body=body.strip("\n"),
        **{key: getattr(meta, key) for key in RunbookKeys.model_fields},
        section=section,
        unknown_keys=sorted(k for k in data if k not in KNOWN_KEYS),
    )
    return runbook, problems


def parse_runbook(text: str, path: Path) -> Runbook:
    """One file as a runbook; raises :class:`RunbookError` naming the file when its front matter has
    a problem (the library loader reports such problems and loads the text anyway)."""
    runbook, problems = read_runbook(text, path)
    if problems:
        raise RunbookError("; ".join(problems))
    return runbook


def _markdown_files(root: Path) -> list[Path]:
    """Every Markdown file below ``root`` (sorted), outside hidden folders (.git, .github)."""
    files = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in _MARKDOWN_SUFFIXES:
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix().lower())


def _is_leaf_bundle(path: Path) -> bool:
    """Hugo's page bundle: ``my-runbook/index.md`` alone in its folder is a page named after the folder."""
    if path.name.lower() != "index.md":
        return False
    siblings = [p for p in path.parent.rglob("*") if p.suffix.lower() in _MARKDOWN_SUFFIXES and p != path]
    return not siblings


@dataclass
class RunbookLibrary:
    """All runbooks of the configured directories, indexed by name, alias, title, alert name and the
    basename of their ``runbook_url``; folder index pages are sections."""

    runbooks: dict[str, Runbook] = field(default_factory=dict)  # by name
    errors: list[str] = field(default_factory=list)  # problems met while loading, one line each
    alert_map: dict[str, str] = field(default_factory=dict)  # policy alert name → runbook name
    sections: list[Section] = field(default_factory=list)
    _index: dict[str, str] = field(default_factory=dict)  # lookup key → runbook name

    @classmethod
    def load(cls, paths: Iterable[str | Path], alert_map: dict[str, str] | None = None) -> RunbookLibrary:
        library = cls(alert_map=dict(alert_map or {}))
        for directory in paths:
            root = Path(directory)
            if not root.is_dir():
                library.errors.append(f"{root}: runbook directory not found")
                log.warning("runbook directory not found: %s", root)
                continue
            for path in _markdown_files(root):
                library._load_file(root, path)
        return library

    def _load_file(self, root: Path, path: Path) -> None:
        rel = path.relative_to(root)
        folder = rel.parent.as_posix() if rel.parent != Path(".") else ""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.errors.append(f"{path}: cannot be read: {exc}")
            log.warning("runbook unreadable: %s", self.errors[-1])
            return
        leaf = _is_leaf_bundle(path) and folder != ""
        if path.name.lower() in SECTION_FILES and not leaf:
            runbook, problems = read_runbook(text, path, name=folder or root.name)
            self.sections.append(Section(folder=folder, title=runbook.title, path=path, body=runbook.body))
        else:
            stem = path.parent.name if leaf else path.stem
            parent = path.parent.parent if leaf else path.parent
            section = parent.relative_to(root).as_posix() if parent != root else ""
            name = stem
            if name in self.runbooks:  # same file name in another folder: named by its path
                name = f"{section}/{stem}" if section else stem
                if name in self.runbooks:
                    name = f"{root.name}/{name}"
            runbook, problems = read_runbook(text, path, name=name, section=section)
            if name in self.runbooks:
                problems.append(f"{path}: a runbook named {name!r} was already loaded; kept the first")
            else:
                self.add(runbook)
        for problem in problems:
            self.errors.append(problem)
            log.warning("runbook problem: %s", problem)

    def add(self, runbook: Runbook) -> None:
        if runbook.name in self.runbooks:
            self.errors.append(
                f"{runbook.path}: a runbook named {runbook.name!r} was already loaded; kept the first"
            )
            log.warning("duplicate runbook: %s", self.errors[-1])
            return
        self.runbooks[runbook.name] = runbook
        # The file name wins over aliases, titles and alert names of other runbooks.
        self._index[lookup_key(runbook.name)] = runbook.name
        self._index.setdefault(lookup_key(runbook.path.stem), runbook.name)
        for key in (*runbook.aliases, *runbook.alerts, runbook.title):
            self._index.setdefault(lookup_key(key), runbook.name)
        if runbook.runbook_url:
            for key in reference_keys(runbook.runbook_url):
                self._index.setdefault(key, runbook.name)

    def unknown_front_matter(self) -> dict[str, list[str]]:
        """Front-matter key the bot does not use → the runbooks that carry it (for check-config)."""
        found: dict[str, list[str]] = {}
        for runbook in self.all():
            for key in runbook.unknown_keys:
                found.setdefault(key, []).append(runbook.name)
        return dict(sorted(found.items()))

    def unknown_front_matter_report(self) -> list[str]:
        """One line per unknown front-matter key: ignored, never a reason to skip a file."""
        return [
            f"runbooks: front-matter key {key!r} is not used by the bot (ignored) in {len(names)} "
            f"file{'s' if len(names) != 1 else ''}, e.g. {names[0]}"
            for key, names in self.unknown_front_matter().items()
        ]

    def names(self) -> list[str]:
        return sorted(self.runbooks)

    def all(self) -> list[Runbook]:
        return [self.runbooks[n] for n in self.names()]

    def get(self, name: str) -> Runbook | None:
        """By file name, alias, alert name, title or ``runbook_url`` (its last part), case- and
        separator-insensitively."""
        keys = [lookup_key(name)]
        if "/" in name or "#" in name:
            keys += reference_keys(name)
        for key in keys:
            if not key:
                continue
            found = self._index.get(key)
            if found is None:
                mapped = {lookup_key(a): r for a, r in self.alert_map.items()}.get(key)
                if mapped is not None:
                    found = self._index.get(lookup_key(mapped))
            if found is not None:
                return self.runbooks.get(found)
        return None

    def for_alert(self, alertname: str, runbook_url: str | None = None) -> Runbook | None:
        """The runbook the policy maps an alert to, else the one whose front matter lists it, else the
        one named like the alert or its ``runbook_url``."""
        for alert, runbook_name in self.alert_map.items():
            if lookup_key(alert) == lookup_key(alertname):
                return self.get(runbook_name)
        key = lookup_key(alertname)
        for runbook in self.all():
            if key in {lookup_key(a) for a in runbook.alerts}:
                return runbook
        found = self._index.get(key)
        if found is None and runbook_url:
            found = next((self._index[k] for k in reference_keys(runbook_url) if k in self._index), None)
        return self.runbooks.get(found) if found else None

    def closest(self, name: str, n: int = 3) -> list[str]:
        """Runbook names closest to an unknown name (by name, alias, alert name or title)."""
        query = words_key(name)
        candidates: dict[str, str] = {}
        for runbook in self.all():
            for label in (runbook.name, *runbook.aliases, *runbook.alerts, runbook.title):
                candidates.setdefault(words_key(label), runbook.name)
        scored: dict[str, float] = {}
        for label, runbook_name in candidates.items():
            ratio = difflib.SequenceMatcher(None, query, label).ratio()
            # A shared word counts for a lot: "crash" should find pod-crash-loop.
            if set(query.split()) & set(label.split()):
                ratio += 0.3
            scored[runbook_name] = max(scored.get(runbook_name, 0.0), ratio)
        ranked = sorted((s, r) for r, s in scored.items() if s >= 0.45)
        return [r for _, r in sorted(ranked, key=lambda sr: (-sr[0], sr[1]))][:n]
