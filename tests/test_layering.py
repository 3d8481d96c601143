"""The registry's tables are read by other domains through ``people.joins`` and written
only by people (docs/architecture.md). import-linter holds the imports (``make lint``);
this holds the writes: no module outside ``people/`` builds an INSERT, UPDATE or DELETE of
a registry table, or a new registry row."""

from __future__ import annotations

import ast
from pathlib import Path

import fangkong
from fangkong.people import joins

SRC = Path(fangkong.__file__).parent
REGISTRY = set(joins.__all__)
WRITES = {"insert", "update", "delete"}


def _registry_names(tree: ast.Module) -> set[str]:
    """The registry's mapped classes this module imports (under their local names)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in (
            "fangkong.people.joins",
            "fangkong.people.models",
        ):
            names.update(a.asname or a.name for a in node.names if a.name in REGISTRY)
    return names


def _writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    registry = _registry_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        name = node.func.id
        if name in registry:
            found.append(f"{path.relative_to(SRC)}:{node.lineno} creates a {name}")
        first = node.args[0] if node.args else None
        if name in WRITES and isinstance(first, ast.Name) and first.id in registry:
            found.append(f"{path.relative_to(SRC)}:{node.lineno} {name}({first.id})")
    return found


def test_only_people_writes_the_registry() -> None:
    outside = [p for p in SRC.rglob("*.py") if "people" not in p.relative_to(SRC).parts]
    assert outside  # the walk found the package
    assert [w for p in outside for w in _writes(p)] == []


def test_the_check_sees_a_write() -> None:
    """The check itself can fail: a write of the registry in people/ is seen as one."""
    assert any("Person" in w for w in _writes(SRC / "people" / "service.py"))


def _pages() -> list[Path]:
    """Every page module: ``pages.py`` or a module of a ``pages/`` package."""
    return [p for p in SRC.rglob("*.py") if p.stem == "pages" or p.parent.name == "pages"]


def _rollbacks(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "rollback"
    ]


def test_pages_undo_forms_through_the_forms_helper() -> None:
    """A page that stops a form undoes its work with ``web.forms.undone_on_error`` (or
    ``attempt``), never by hand (docs/architecture.md, "Forms on pages")."""
    pages = _pages()
    assert len(pages) > 8  # the walk found the pages
    assert [r for p in pages for r in _rollbacks(p)] == []


def test_the_rollback_check_sees_one() -> None:
    assert _rollbacks(SRC / "web" / "forms.py")  # the helper itself rolls back
