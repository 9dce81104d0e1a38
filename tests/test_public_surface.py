"""A public surface you can see (issue 12.7): every module the docs name as public lists its
public names in ``__all__`` (each name resolves, and every public name the module itself
defines is listed — helpers are underscored), and every ``from crmkit… import …`` in the docs,
the README and the examples imports a listed name from a public module."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTION = re.compile(r"^## The public surface\n(.*?)(?=^## |\Z)", re.S | re.M)
ROW = re.compile(r"^\| (`crmkit[^|]*)\|", re.M)
MODULE = re.compile(r"`(crmkit[a-z_.]*)`")
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def public_modules() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = SECTION.search(text)
    assert section, "docs/architecture.md has a 'The public surface' section"
    return [m for cell in ROW.findall(section.group(1)) for m in MODULE.findall(cell)]


PUBLIC = public_modules()


def defined_names(module_name: str) -> set[str]:
    """Public names a module defines itself (functions, classes, module-level assignments)."""
    module = importlib.import_module(module_name)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def test_the_documented_list_is_not_empty() -> None:
    assert {"crmkit", "crmkit.errors", "crmkit.serialization", "crmkit.testing"} <= set(PUBLIC)


@pytest.mark.parametrize("module_name", PUBLIC)
def test_a_public_module_lists_its_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    listed = getattr(module, "__all__", None)
    assert isinstance(listed, list), f"{module_name} has no __all__"
    assert len(set(listed)) == len(listed), f"{module_name}.__all__ repeats a name"
    missing = [n for n in listed if not hasattr(module, n)]
    assert not missing, f"{module_name}.__all__ names what it lacks: {missing}"
    unlisted = sorted(defined_names(module_name) - set(listed))
    assert not unlisted, (f"{module_name} defines public names not in __all__ (list them or "
                          f"give them a leading underscore): {unlisted}")


def imports_in(source: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crmkit"):
            found.extend((node.module or "", alias.name) for alias in node.names)
    return found


def documented_imports() -> list[tuple[str, str, str]]:
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md",
             *sorted((ROOT / "examples").glob("*/README.md"))]
    found = [(page.name, module, name) for page in pages
             for block in BLOCK.findall(page.read_text(encoding="utf-8"))
             for module, name in imports_in(block)]
    for source in sorted((ROOT / "examples").rglob("*.py")):
        found.extend((source.name, module, name)
                     for module, name in imports_in(source.read_text(encoding="utf-8")))
    return found


def public_import(module_name: str, name: str) -> bool:
    """A listed name of a public module, or a public submodule (``from pkg import mod``)."""
    if f"{module_name}.{name}" in PUBLIC:
        return True
    module = importlib.import_module(module_name)
    return module_name in PUBLIC and name in getattr(module, "__all__", ())


def test_documented_imports_use_public_names() -> None:
    imports = documented_imports()
    assert len(imports) > 20
    wrong = [f"{where}: from {module} import {name}" for where, module, name in imports
             if not public_import(module, name)]
    assert not wrong, "imports of names that are not public:\n" + "\n".join(wrong)
