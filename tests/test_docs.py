"""Every ```python block in docs/ (its folders too) and README.md runs, in order, one namespace
per file; every page of the guides has one. Pages of the site's frame (the index, the included
changelog, the generated reference) show no code of their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
FRAME = {"index.md", "changelog.md"}
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"doc_{page.stem}"}
    for number, block in enumerate(BLOCK.findall(page.read_text(encoding="utf-8")), 1):
        code = compile(block, f"{page.name}[block {number}]", "exec")
        exec(code, namespace)


def test_docs_have_examples() -> None:
    for page in PAGES:
        if page.parent.name == "docs" and page.name not in FRAME:
            assert BLOCK.search(page.read_text(encoding="utf-8")), f"{page.name} has no example"
