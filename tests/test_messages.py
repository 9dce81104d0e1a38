"""One way to raise (issue 13.4): every error is built in the same order — what (the path of a
bad field, then the stable code), then Chinese, then English:

- ``RuleViolation(code, message_zh, message_en, *, details=…)`` and every other ``CrmError``;
- ``FieldError(path, code, message_zh, message_en)`` and ``ValidationError.at(…)`` (same order);
- ``FieldValueError(code, message_zh, message_en)`` in field types;
- message catalogues map a code to ``(zh, en)``.

Checked over the source, the examples and the docs' code: wherever a message is written out, the
Chinese slot holds Chinese and the English slot none."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmkit.errors import Conflict, FieldError, RuleViolation, ValidationError

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "src" / "crmkit").rglob("*.py")),
           *sorted((ROOT / "examples").rglob("*.py"))]
CJK = re.compile(r"[\u4e00-\u9fff]")
KINDS = {"CrmError", "Conflict", "NotFound", "PermissionDenied", "RuleViolation"}
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def message_pairs(tree: ast.AST) -> Iterator[tuple[int, ast.expr, ast.expr]]:
    """``(line, zh, en)`` of every written-out message pair in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name, args = _name(node.func), node.args
            if name in KINDS and len(args) == 3:
                yield node.lineno, args[1], args[2]
            elif name in {"FieldError", "at", "_invalid"} and len(args) == 4:
                yield node.lineno, args[2], args[3]
            elif name == "FieldValueError" and len(args) == 3:
                yield node.lineno, args[1], args[2]
            elif name == "append" and args and isinstance(args[0], ast.Tuple) \
                    and len(args[0].elts) == 4:  # definition_problems' (attr, code, zh, en)
                yield node.lineno, args[0].elts[2], args[0].elts[3]
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if (isinstance(target, ast.Name) and target.id.endswith("MESSAGES")
                    and isinstance(node.value, ast.Dict)):
                for value in node.value.values:
                    if isinstance(value, ast.Tuple) and len(value.elts) == 2:
                        yield value.lineno, value.elts[0], value.elts[1]


def wrong_order(source: str, where: str) -> list[str]:
    wrong = []
    for line, zh_node, en_node in message_pairs(ast.parse(source)):
        zh = ast.get_source_segment(source, zh_node) or ""
        en = ast.get_source_segment(source, en_node) or ""
        if not (CJK.search(zh) or CJK.search(en)):
            continue  # messages passed through (no text written here)
        if CJK.search(en) or not CJK.search(zh):
            wrong.append(f"{where}:{line}")
    return wrong


def test_every_message_is_written_chinese_then_english() -> None:
    wrong = [w for path in SOURCES
             for w in wrong_order(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in BLOCK.findall(page.read_text(encoding="utf-8")):
            wrong += wrong_order(block, page.name)
    assert wrong == []


def test_the_check_sees_a_swapped_pair() -> None:
    """The checker itself: an English-first message is caught in every form."""
    for swapped in ('RuleViolation("c", "english", "中文")',
                    'ValidationError.at("$.a", "c", "english", "中文")',
                    'FieldError("$.a", "c", "english", "中文")',
                    'FieldValueError("c", "english", "中文")',
                    'MESSAGES = {"c": ("english", "中文")}'):
        assert wrong_order(swapped, "x") == ["x:1"], swapped
    assert wrong_order('RuleViolation("c", "中文", "english")', "x") == []


def test_no_other_constructor_order_remains() -> None:
    """No ``code=`` keyword and no ``ValidationError.single``: the one order is positional."""
    found = []
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and (
                    (_name(node.func) in KINDS and any(k.arg == "code" for k in node.keywords))
                    or _name(node.func) == "single"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_the_one_order_reaches_the_attributes() -> None:
    error = RuleViolation("org.rule", "中文", "english", details={"n": 1})
    assert (error.code, error.message_zh, error.message_en, error.details) == (
        "org.rule", "中文", "english", {"n": 1})
    one = ValidationError.at("$.a", "required", "必填", "is required")
    assert one.errors == (FieldError("$.a", "required", "必填", "is required"),)
    assert one.codes == {"$.a": "required"} and one.code == "validation_failed"
    with pytest.raises(TypeError):
        Conflict("the old order", "旧顺序", code="version_conflict")  # type: ignore[call-arg, misc]
