"""Sphinx configuration of crmkit's documentation site (``make docs``; issue 18.4).

The pages are MyST markdown in this folder. The site is laid out after Diátaxis: a tutorial,
how-to guides, explanation and the reference generated from docstrings. The how-to toctree is
filled here: every top-level page not named in another section is a how-to guide, so a new page
joins the site without touching the tree (``HOWTO_ORDER`` only orders the known ones). The build
is offline (no intersphinx) and fails on any warning in CI (``sphinx-build -W``).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import crmkit  # noqa: E402  (after the path: the docs build without an install too)
from crmkit.entities.kinds import RecordKind  # noqa: E402
from crmkit.workflow.record_ownership import FEATURE_METHODS, answers  # noqa: E402

project = "crmkit"
author = "the crmkit team"
copyright = "crmkit contributors, MIT licence"
version = release = crmkit.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["myst.header"]  # pages start at '#'; a '###' under '#' is fine in Markdown

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "show-inheritance": False}

html_theme = "alabaster"
html_title = f"crmkit {release}"
html_static_path: list[str] = []
html_show_sourcelink = False

# The sections other than the how-to guides, by page name (without .md).
TUTORIAL = ["tutorial"]
EXPLANATION = ["architecture", "concepts", "performance", "security", "testing"]
PROJECT = ["deprecations", "changelog"]
SITE = ["index"]
HOWTO_ORDER = [
    "quickstart", "org-and-scopes", "custom-fields", "records", "leads", "customers",
    "contacts", "products", "opportunities", "pool", "approvals", "contracts", "tasks",
    "schedules-and-logs", "reminders", "timeline", "dashboard", "reports", "import-export",
    "embedding", "examples",
]
HOWTO_MARKER = "HOWTO_PAGES"


def howto_pages() -> list[str]:
    """Every top-level page that no other section names: the known ones in reading order,
    then any newer page by name."""
    taken = {*TUTORIAL, *EXPLANATION, *PROJECT, *SITE}
    pages = {p.stem for p in HERE.glob("*.md")} - taken
    known = [name for name in HOWTO_ORDER if name in pages]
    return known + sorted(pages - set(known))


FACADE_MARKER = "FACADE_NAMESPACES"
NOT_NAMESPACES = {"runtime", "field_types"}  # the operation runner, the plugins' type registry


def facade_services() -> dict[str, Any]:
    """``crm.<namespace>`` → its service, read off a memory CRM (so a new namespace is in the
    reference the day it is wired)."""
    crm = crmkit.CRM()
    return {name: service for name, service in vars(crm).items()
            if not name.startswith("_") and name not in NOT_NAMESPACES
            and type(service).__module__.startswith("crmkit.workflow")}


def facade_namespaces() -> dict[str, type]:
    """``crm.<namespace>`` → its service class."""
    return {name: type(service) for name, service in facade_services().items()}


def unanswered(service: Any) -> list[str]:
    """The shared record methods this service's kind does not take part in (e.g. ``transfer``
    of work logs): they refuse, so the reference leaves them out."""
    declaration = getattr(service, "declaration", None)
    if not isinstance(declaration, RecordKind):
        return []
    return sorted(m for m in FEATURE_METHODS
                  if hasattr(service, m) and not answers(declaration, m))


def facade_reference() -> str:
    """One section per namespace: the service class with its methods, inherited ones too."""
    sections = []
    for name, service in sorted(facade_services().items()):
        cls = type(service)
        hidden = unanswered(service)
        sections.append(f"## `crm.{name}`\n\n```{{eval-rst}}\n"
                        f".. autoclass:: {cls.__module__}.{cls.__qualname__}\n"
                        "   :members:\n   :inherited-members:\n"
                        + (f"   :exclude-members: {', '.join(hidden)}\n" if hidden else "")
                        + "```\n")
    return "\n".join(sections)


def internal(obj: Any) -> bool:
    """A method that takes a running operation (``op``) first is crmkit's own plumbing."""
    try:
        params = list(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0 if params[0] != "self" else 1:][:1] == ["op"]


def _skip_internal(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool:
    return skip or (callable(obj) and internal(obj))


def _hide_service_constructor(app: Any, what: str, name: str, obj: Any, options: Any,
                              signature: str | None, return_annotation: str | None
                              ) -> tuple[str, str | None] | None:
    """A facade service is built by the CRM, never by a host: its section shows no
    constructor arguments."""
    if what == "class" and obj in _SERVICE_CLASSES:
        return "", return_annotation
    return None


_SERVICE_CLASSES = set(facade_namespaces().values())


def _fill_generated(app: Any, docname: str, source: list[str]) -> None:
    if docname == root_doc:
        source[0] = source[0].replace(HOWTO_MARKER, "\n".join(howto_pages()))
    elif docname == "reference/facade":
        source[0] = source[0].replace(FACADE_MARKER, facade_reference())


def setup(app: Any) -> None:
    app.connect("source-read", _fill_generated)
    app.connect("autodoc-skip-member", _skip_internal)
    app.connect("autodoc-process-signature", _hide_service_constructor)
