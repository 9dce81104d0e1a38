"""User-facing messages come in English and Chinese, in that order of arguments:
``ValidationError.single(path, code, message_en, message_zh)`` — checked over the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "crmkit"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_single_errors_give_english_then_chinese() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "single" and len(node.args) == 4):
                en = ast.get_source_segment(source, node.args[2]) or ""
                zh = ast.get_source_segment(source, node.args[3]) or ""
                if not (CJK.search(en) or CJK.search(zh)):
                    continue  # messages passed through (no text written here)
                if CJK.search(en) or not CJK.search(zh):
                    wrong.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert wrong == []
