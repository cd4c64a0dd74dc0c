"""Load runbooks from directories of Markdown files and find them by name, alias or alert name."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.runbooks.model import FrontMatter, Runbook, lookup_key, words_key

log = logging.getLogger(__name__)

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)


class RunbookError(ValueError):
    """A runbook file that cannot be used; the message names the file and the problem."""


def parse_runbook(text: str, path: Path) -> Runbook:
    name = path.stem
    body = text
    meta = FrontMatter()
    match = _FRONT_MATTER.match(text)
    if match:
        body = text[match.end() :]
        try:
            data = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise RunbookError(
                f"{path}: front matter is not valid YAML: {' '.join(str(exc).split())}"
            ) from exc
        if not isinstance(data, dict):
            raise RunbookError(f"{path}: front matter must be a mapping of keys")
        try:
            meta = FrontMatter.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'front matter'}: {err['msg']}"
                for err in exc.errors()
            )
            raise RunbookError(f"{path}: {problems}") from exc
    heading = _HEADING.search(body)
    title = meta.title or (
        heading.group(1).strip() if heading else name.replace("-", " ").replace("_", " ").title()
    )
    return Runbook(
        name=name,
        title=title,
        path=path,
        body=body.strip("\n"),
        aliases=meta.aliases,
        alerts=meta.alerts,
        service=meta.service,
        summary=meta.summary,
        diagnostics=meta.diagnostics,
    )


@dataclass
class RunbookLibrary:
    """All runbooks of the configured directories, indexed by name, alias and alert name."""

    runbooks: dict[str, Runbook] = field(default_factory=dict)  # by name
    errors: list[str] = field(default_factory=list)  # files that could not be loaded, one line each
    alert_map: dict[str, str] = field(default_factory=dict)  # policy alert name → runbook name
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
            for path in sorted(root.rglob("*.md")):
                if path.name.lower() == "readme.md":
                    continue
                try:
                    runbook = parse_runbook(path.read_text(encoding="utf-8"), path)
                except (RunbookError, OSError, UnicodeDecodeError) as exc:
                    library.errors.append(str(exc) if isinstance(exc, RunbookError) else f"{path}: {exc}")
                    log.warning("runbook skipped: %s", library.errors[-1])
                    continue
                library.add(runbook)
        return library

    def add(self, runbook: Runbook) -> None:
        if runbook.name in self.runbooks:
            self.errors.append(
                f"{runbook.path}: a runbook named {runbook.name!r} was already loaded; kept the first"
            )
            log.warning("duplicate runbook: %s", self.errors[-1])
            return
        self.runbooks[runbook.name] = runbook
        # The file name wins over aliases and alert names of other runbooks.
        self._index[lookup_key(runbook.name)] = runbook.name
        for key in (*runbook.aliases, *runbook.alerts, runbook.title):
            self._index.setdefault(lookup_key(key), runbook.name)

    def names(self) -> list[str]:
        return sorted(self.runbooks)

    def all(self) -> list[Runbook]:
        return [self.runbooks[n] for n in self.names()]

    def get(self, name: str) -> Runbook | None:
        """By file name, alias, alert name or title, case- and separator-insensitively."""
        key = lookup_key(name)
        if not key:
            return None
        found = self._index.get(key)
        if found is None:
            mapped = {lookup_key(a): r for a, r in self.alert_map.items()}.get(key)
            if mapped is not None:
                found = self._index.get(lookup_key(mapped))
        return self.runbooks.get(found) if found else None

    def for_alert(self, alertname: str) -> Runbook | None:
        """The runbook the policy maps an alert to, else the one whose front matter lists it."""
        for alert, runbook_name in self.alert_map.items():
            if lookup_key(alert) == lookup_key(alertname):
                return self.get(runbook_name)
        key = lookup_key(alertname)
        for runbook in self.all():
            if key in {lookup_key(a) for a in runbook.alerts}:
                return runbook
        return None

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
