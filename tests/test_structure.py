"""Guards on the shape of the code: no import circles, no module past 400 lines.

The import graph is read from the source (AST), not from what Python happens to
import: every ``import`` counts, at module level, inside functions (imported on
call) and under ``if TYPE_CHECKING:``, because a circle is a circle in the design
even where Python does not see one at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("worker", "local_endpoint", "lessons", "demo_models")
SIZE_LIMITED = ("worker", "local_endpoint")
MAX_LINES = 400


def modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``, by dotted name."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules that module ``name`` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod; `from mod import f` imports mod
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        out |= {t for t in targets if t in known and t != name}
    return out


def import_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def describe(group: list[str], graph: dict[str, set[str]]) -> str:
    members = set(group)
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & members))}" for m in group)


def test_no_module_of_the_project_imports_itself_back_through_others():
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles (TYPE_CHECKING and imports inside functions count):\n" + "\n".join(
        describe(group, graph) for group in found)


def test_the_circle_finder_sees_a_circle_hidden_behind_type_checking_and_a_late_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "app.py").write_text("from pkg import routes\n")
    (pkg / "routes.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.app import App\n")
    (pkg / "store.py").write_text("def later():\n    from . import helpers\n")
    (pkg / "helpers.py").write_text("import pkg.store\n")
    (pkg / "alone.py").write_text("import os\nfrom pkg.store import later\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert sorted(circles(graph)) == [["pkg.app", "pkg.routes"], ["pkg.helpers", "pkg.store"]]


@pytest.mark.parametrize("package", SIZE_LIMITED)
def test_no_module_passes_400_lines(package):
    too_long = {str(path.relative_to(ROOT)): n for path in sorted((ROOT / package).rglob("*.py"))
                if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines (split them by what they do): {too_long}"
