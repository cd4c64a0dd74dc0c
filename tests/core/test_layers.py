"""The layers point down (docs/architecture.md): read from the code's own imports, so a change that
breaks the layering fails here, not in a reviewer's memory.

chatops/ (composition root) → commands/ → bot/<feature>/ → bot/ core and Slack layer → integrations/.
Imports inside ``if TYPE_CHECKING:`` are names for the type checker and are not counted; imports inside
functions are (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chatops", "commands", "bot", "integrations")
FEATURES = ("incidents", "alerts", "escalation", "runbooks", "review")
# the one upward import the layout allows: the review policy checks its template with the review
# feature's own Markdown renderer, lazily, when check-config asks
ALLOWED_UPWARD = {("bot.config.review", "bot.review.markdown")}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def walk(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for orelse in child.orelse:
                    yield from walk(orelse)
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package
                    for _ in range(child.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                for alias in child.names:
                    # ``from package import module`` depends on that module; ``from module import name``
                    # on the module that defines the name
                    submodule = f"{base}.{alias.name}"
                    yield submodule if submodule in MODULES else base
            else:
                yield from walk(child)

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name in walk(tree):
        owner = _owner(name)
        if owner and owner != module:
            yield owner


GRAPH = {module: set(_imported(module, path)) for module, path in MODULES.items()}


def _rank(module: str) -> int:
    top = module.split(".")[0]
    if top == "chatops":
        return 4
    if top == "commands":
        return 3
    if top == "integrations":
        return 0
    parts = module.split(".")
    return 2 if len(parts) > 1 and parts[1] in FEATURES else 1


def test_imports_only_point_down() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _rank(target) > _rank(module) and (module, target) not in ALLOWED_UPWARD
    )
    assert upward == []


def test_policy_schemas_are_a_leaf() -> None:
    reaching = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.startswith("bot.config.") or module == "bot.config"
        for target in targets
        if _rank(target) >= 2 and (module, target) not in ALLOWED_UPWARD
    )
    assert reaching == []


def test_no_feature_imports_a_command_and_integrations_stand_alone() -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if (module.startswith("bot") and target.split(".")[0] in ("commands", "chatops"))
        or (module.startswith("integrations") and target.split(".")[0] != "integrations")
    )
    assert wrong == []


def _cycles() -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_check_sees_the_code() -> None:
    # guards the guard: the graph must hold the modules and the edges everyone knows exist
    assert "bot.pipeline" in GRAPH and "commands.incident" in GRAPH
    assert "bot.listeners" in GRAPH["commands.incident"]
    assert _rank("commands.incident") > _rank("bot.incidents.workflow") > _rank("bot.listeners")
