"""The documentation (issue 18.4). Every ```python block in docs/ (its folders too) and
README.md runs, in order, one namespace per file; every page of the guides has one (the site's
frame — the index, the included changelog, the generated reference — shows no code of its
own). Every name ``crmkit`` exports, every public facade method (``crm.<namespace>.<method>``)
and every plugin hook has a docstring and a place in the generated reference of the site
(docs/reference, docs/conf.py); every page is in the site's tree."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import crmkit
from crmkit import CRM, hookspecs
from security.permission_table import facade_methods

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


REFERENCE = ROOT / "docs" / "reference"
DIRECTIVE = re.compile(r"^\.\. auto(?:class|function|exception|data|module):: (\S+)$", re.M)


def load_conf() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crmkit_docs_conf", ROOT / "docs" / "conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONF = load_conf()


def documented(page: str) -> set[str]:
    """The objects a reference page hands to autodoc."""
    return set(DIRECTIVE.findall((REFERENCE / page).read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", crmkit.__all__)
def test_every_name_crmkit_exports_is_in_the_reference_with_a_docstring(name: str) -> None:
    assert f"crmkit.{name}" in documented("crmkit.md"), f"docs/reference/crmkit.md lacks {name}"
    if name != "__version__":  # a string: its text is on the page
        assert inspect.getdoc(getattr(crmkit, name)), f"crmkit.{name} has no docstring"


def test_the_crm_s_own_methods_have_docstrings() -> None:
    missing = [name for name, member in inspect.getmembers(CRM, inspect.isfunction)
               if not name.startswith("_") and not inspect.getdoc(member)]
    assert not missing, f"crmkit.CRM methods without a docstring: {missing}"


def facade_method(crm: Any, qualified: str) -> tuple[type, Any]:
    namespace, name = qualified.split(".")
    cls = type(getattr(crm, namespace))
    return cls, getattr(cls, name)


def test_every_facade_method_has_a_docstring_and_a_section_in_the_reference() -> None:
    crm = CRM()
    namespaces = CONF.facade_namespaces()
    generated = CONF.facade_reference()
    assert CONF.FACADE_MARKER in (REFERENCE / "facade.md").read_text(encoding="utf-8")
    methods = sorted(facade_methods(crm))
    assert len(methods) > 200
    undocumented, skipped = [], []
    for qualified in methods:
        cls, method = facade_method(crm, qualified)
        assert namespaces[qualified.split(".")[0]] is cls
        assert f".. autoclass:: {cls.__module__}.{cls.__qualname__}\n" in generated
        if not inspect.getdoc(method):  # autodoc leaves a member without docstring out
            undocumented.append(qualified)
        if CONF.internal(method):
            skipped.append(qualified)
    assert not undocumented, f"facade methods without a docstring: {undocumented}"
    assert not skipped, f"facade methods the reference skips as internal: {skipped}"


def test_the_reference_shows_exactly_the_facade() -> None:
    """What autodoc keeps of each service (public, documented, not taking ``op``, not a
    feature its kind refuses) is the permission table's list of facade methods."""
    crm = CRM()
    shown = set()
    for namespace, service in CONF.facade_services().items():
        hidden = set(CONF.unanswered(service))
        shown |= {f"{namespace}.{name}"
                  for name, member in inspect.getmembers(type(service), callable)
                  if not name.startswith("_") and not inspect.isclass(member)
                  and inspect.getdoc(member) and not CONF.internal(member)
                  and name not in hidden}
    assert shown == facade_methods(crm)
    assert CONF.unanswered(crm.work_logs) == ["add_team_member", "remove_team_member", "team",
                                              "transfer"]
    assert CONF.unanswered(crm.customers) == ["related_to"] and CONF.unanswered(crm.org) == []
    assert ":exclude-members: add_team_member, remove_team_member, team, transfer\n" in (
        CONF.facade_reference())


def test_the_reference_skips_only_methods_that_take_a_running_operation() -> None:
    crm = CRM()
    assert CONF.internal(crm.customers.move_owner)  # (op, records, target, …): plumbing
    assert not CONF.internal(crm.customers.get)
    assert not CONF.internal(crm.customers.transfer)


HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if hasattr(value, f"{hookspecs.PROJECT}_spec"))


def test_every_hook_is_exported_documented_and_in_the_reference() -> None:
    assert HOOKS == ["crmkit_after_commit", "crmkit_register_field_types",
                     "crmkit_validate_record"]
    assert set(HOOKS) <= set(hookspecs.__all__)
    assert "crmkit.hookspecs" in documented("hooks.md")
    page = (REFERENCE / "hooks.md").read_text(encoding="utf-8")
    assert ".. automodule:: crmkit.hookspecs\n   :members:\n" in page
    missing = [name for name in HOOKS if not inspect.getdoc(getattr(hookspecs, name))]
    assert not missing, f"hooks without a docstring: {missing}"


def test_every_docs_page_is_in_the_site_s_tree() -> None:
    """Top-level pages: named in a section or a how-to guide (docs/conf.py); pages in a
    folder: named in that folder's index."""
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")}
    placed = {*CONF.TUTORIAL, *CONF.EXPLANATION, *CONF.PROJECT, *CONF.SITE, *CONF.howto_pages()}
    assert pages == placed
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for name in [*CONF.TUTORIAL, *CONF.EXPLANATION, *CONF.PROJECT]:
        assert re.search(rf"^{re.escape(name)}$", index, re.M), f"index.md lacks {name}"
    tree = (REFERENCE / "index.md").read_text(encoding="utf-8")
    for page in REFERENCE.glob("*.md"):
        assert page.stem == "index" or re.search(rf"^{page.stem}$", tree, re.M), page.name


SPHINX_ROLES = ("class", "meth", "func", "data", "mod", "attr", "exc", "obj", "ref", "doc")


def rst_problems(text: str) -> list[str]:
    """What docutils reports on a docstring as reStructuredText (warnings and worse), with
    Sphinx's cross-reference roles known: what ``sphinx-build -W`` would fail on."""
    docutils_core = pytest.importorskip("docutils.core")  # the docs extra brings it
    nodes = pytest.importorskip("docutils.nodes")
    roles = pytest.importorskip("docutils.parsers.rst.roles")

    for name in SPHINX_ROLES:
        roles.register_generic_role(name, nodes.literal)
    doctree = docutils_core.publish_doctree(text, settings_overrides={
        "report_level": 5, "halt_level": 5, "warning_stream": False})
    return [message.astext() for message in doctree.findall(nodes.system_message)
            if message["level"] >= 2]


def test_the_docstrings_of_the_reference_are_valid_restructuredtext() -> None:
    crm = CRM()
    docs = {f"crm.{q}": inspect.getdoc(facade_method(crm, q)[1]) or ""
            for q in facade_methods(crm)}
    docs.update({f"crmkit.{n}": inspect.getdoc(getattr(crmkit, n)) or ""
                 for n in crmkit.__all__ if n != "__version__"})
    docs.update({f"hookspecs.{n}": inspect.getdoc(getattr(hookspecs, n)) or "" for n in HOOKS})
    broken = {name: problems for name, text in sorted(docs.items())
              if (problems := rst_problems(text))}
    assert not broken, f"docstrings that break the docs build: {broken}"


def test_a_broken_docstring_is_found() -> None:
    assert rst_problems("Fine ``code`` and :class:`crmkit.CRM`.") == []
    assert rst_problems("An ``unclosed literal.")
    assert rst_problems("A list:\n- one\n  two\n    three\nno blank line")
