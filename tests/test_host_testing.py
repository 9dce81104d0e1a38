"""``crmkit.testing`` as a host uses it (issue 12.9): a separate project whose conftest enables
``crmkit.testing.fixtures``, whose tests use the sample org and clock, and whose own org
directory runs the shipped contract suite — collected and run by pytest in a subprocess, with
nothing but crmkit and the ``testing`` extra (pytest, hypothesis) imported."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HOST_CONFTEST = '''
pytest_plugins = ["crmkit.testing.fixtures"]
'''

HOST_TESTS = '''
import sys

from crmkit.entities import Module, OrgMember, OrgSnapshot, OrgUnit
from crmkit.testing import OrgDirectoryContract, SampleOrg


class HostDirectory:
    """The host's own employees: a boss in 总部, a rep in 华东 reporting to her."""

    def org_version(self):
        return 3

    def org_snapshot(self):
        return OrgSnapshot(3, (OrgUnit("hq", None), OrgUnit("east", "hq")),
                           (OrgMember("boss", "hq"), OrgMember("amy", "east", "boss")))


class TestHostDirectory(OrgDirectoryContract):
    def make_directory(self):
        return HostDirectory()


def test_the_sample_org_has_roles_scopes_and_a_clock(crm_org: SampleOrg, crm_clock) -> None:
    crm = crm_org.crm
    mine = crm.customers.create(crm_org.rep, {"name": "甲公司"})
    other = crm_org.user("13900000009", "钱七", crm_org.group, "sales_rep")
    crm.customers.create(other, {"name": "乙公司"})
    assert [c.name for c in crm.customers.list(crm_org.rep).items] == ["甲公司"]
    assert {c.name for c in crm.customers.list(crm_org.manager).items} == {"甲公司", "乙公司"}
    assert crm.org.visible_scope(crm_org.accountant, Module.CONTRACTS).all_records
    before = crm_clock.now()
    crm_clock.advance(days=31)
    assert crm.customers.get(crm_org.rep, mine.id).created_at == before


def test_only_pytest_and_hypothesis_beyond_crmkit() -> None:
    assert "psycopg" not in sys.modules
'''


def test_a_host_suite_uses_the_fixtures_and_runs_a_contract_suite(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(HOST_CONFTEST, encoding="utf-8")
    (tmp_path / "test_host.py").write_text(HOST_TESTS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED test_host.py::TestHostDirectory::test_snapshot_is_consistent" in done.stdout
    assert "3 passed" in done.stdout


def test_the_testing_extra_names_pytest_and_hypothesis() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = project["optional-dependencies"]["testing"]
    assert sorted(req.split(">")[0] for req in extra) == ["hypothesis", "pytest"]
