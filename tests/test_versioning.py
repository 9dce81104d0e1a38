"""One version (issue 18.5): ``crmkit.__version__`` is the source, the package metadata reads
it, the changelog's newest release names it; every ``DeprecationWarning`` in the source is
listed on the deprecations page."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import crmkit

ROOT = Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d\d-\d\d))?$", re.M)
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_the_version_is_semver_and_has_one_source() -> None:
    assert SEMVER.match(crmkit.__version__), crmkit.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"], "pyproject.toml repeats the version"
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "crmkit.__version__"}
    assert importlib.metadata.version("crmkit") == crmkit.__version__, (
        "installed metadata is stale: reinstall (make .venv/bin/.installed)")


def test_the_changelog_s_newest_release_is_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = [(m["version"], m["date"]) for m in RELEASE.finditer(text)]
    assert releases[0] == ("Unreleased", None), "the changelog starts with [Unreleased]"
    version, day = releases[1]
    assert version == crmkit.__version__ and day is not None
    versions = [tuple(map(int, v.split("."))) for v, _ in releases[1:]]
    assert versions == sorted(versions, reverse=True), "releases newest first"
    kinds = set(re.findall(r"^### (.+)$", text, re.M))
    assert kinds <= SECTIONS, f"not a Keep a Changelog section: {kinds - SECTIONS}"


def deprecating_modules() -> set[str]:
    """Modules of src/crmkit whose code warns with DeprecationWarning."""
    src = ROOT / "src"
    return {".".join(path.relative_to(src).with_suffix("").parts)
            for path in src.rglob("*.py")
            if re.search(r"\bwarn\((?:[^()]|\([^()]*\))*DeprecationWarning",
                         path.read_text(encoding="utf-8"), re.S)}


def test_every_deprecation_in_the_source_is_on_the_deprecations_page() -> None:
    page = (ROOT / "docs" / "deprecations.md").read_text(encoding="utf-8")
    section = page.split("## Deprecations in force", 1)[1]
    listed = set(re.findall(r"\| `(crmkit[\w.]*)` \|$", section, re.M))
    found = deprecating_modules()
    assert found, "the source's deprecations were not found (the search is broken)"
    assert listed == found, f"page lists {sorted(listed)}, source warns in {sorted(found)}"
