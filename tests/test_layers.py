"""The layer rule, checked: the domain core loads no infrastructure."""

from __future__ import annotations

import subprocess
import sys

INFRASTRUCTURE = ("sqlalchemy", "psycopg", "cattrs", "pluggy", "crmkit.adapters", "crmkit.workflow")


def loaded_after(statement: str) -> list[str]:
    code = (
        f"{statement}\nimport sys\n"
        f"print('\\n'.join(m for m in sys.modules if m.startswith({INFRASTRUCTURE!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_entities_and_policies_load_no_infrastructure() -> None:
    assert loaded_after("import crmkit.entities, crmkit.policies") == []


def test_ports_and_errors_load_no_infrastructure() -> None:
    assert loaded_after("import crmkit.ports, crmkit.errors, crmkit") == []


def test_the_facade_alone_loads_no_database_driver() -> None:
    loaded = loaded_after("from crmkit import CRM; CRM()")
    assert not [m for m in loaded if m.startswith(("sqlalchemy", "psycopg"))]


def test_import_linter_contracts_hold() -> None:
    lint = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
         "lint_imports_command()"], capture_output=True, text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
