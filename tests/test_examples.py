"""The examples in ``examples/`` run as tests (issue 12.11): the ERP that keeps its own
employees passes the OrgDirectory contract suite and drives crmkit's data scopes; the field-type
plugin installs with pip and is found by its entry point."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import create_engine

from crmkit import CRM, NotFound
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.ports import OrgDirectory
from crmkit.testing import OrgDirectoryContract

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def erp() -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(EXAMPLES / "erp_orgdirectory"))
        yield importlib.import_module("erp")


class TestErpOrgDirectory(OrgDirectoryContract):
    """The ERP's directory, with departments two levels deep and an enrolled employee."""

    @pytest.fixture(autouse=True)
    def _setup(self, erp: ModuleType, tmp_path: Path) -> None:
        self.erp_module, self.url = erp, f"sqlite:///{tmp_path / 'erp.db'}"

    def make_directory(self) -> OrgDirectory:
        module = self.erp_module
        system = module.Erp(create_engine(self.url))
        hq = system.add_department("总部")
        east = system.add_department("华东", hq)
        boss = system.hire("王总", "13800000000", hq)
        amy = system.hire("Amy", "13900000001", east, boss)
        system.link_crm_user(amy, "crm-amy")
        directory: OrgDirectory = module.ErpOrgDirectory(system.engine)
        return directory


def test_scopes_follow_the_erp_departments_and_managers(erp: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    system = erp.Erp(create_engine(url))
    storage = SqlStorage(url)
    storage.create_schema()
    crm = CRM(storage, directory=erp.ErpOrgDirectory(system.engine))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")

    hq = system.add_department("总部")
    east, south = system.add_department("华东", hq), system.add_department("华南", hq)
    boss = system.hire("王总", "13800000000", hq)
    east_lead = system.hire("李经理", "13900000001", east, boss)
    south_lead = system.hire("陈经理", "13900000002", south, boss)
    amy = system.hire("Amy", "13900000003", east, east_lead)
    system.link_crm_user(boss, admin.id)
    east_mgr = erp.enrol(crm, admin, system, east_lead, ["sales_manager"])
    south_mgr = erp.enrol(crm, admin, system, south_lead, ["sales_manager"])
    rep = erp.enrol(crm, admin, system, amy, ["sales_rep"])

    deal = crm.customers.create(rep, {"name": "甲公司"})
    assert crm.customers.get(east_mgr, deal.id).name == "甲公司"  # 本部门及下属部门 in the ERP
    with pytest.raises(NotFound):
        crm.customers.get(south_mgr, deal.id)

    system.move(amy, department_id=south, manager_id=south_lead)  # an HR change in the ERP
    assert crm.customers.get(south_mgr, deal.id).name == "甲公司"
    with pytest.raises(NotFound):
        crm.customers.get(east_mgr, deal.id)
    assert [c.name for c in crm.customers.list(rep).items] == ["甲公司"]
    storage.engine.dispose()


def test_the_field_type_plugin_installs_with_pip_and_loads_by_entry_point(tmp_path: Path) -> None:
    """``pip install examples/crmkit-uscc`` (into a target directory, crmkit itself from this
    environment), then a fresh interpreter finds the plugin through the ``crmkit`` entry-point
    group alone."""
    target, source = tmp_path / "site", tmp_path / "crmkit-uscc"
    shutil.copytree(EXAMPLES / "crmkit-uscc", source)  # the build leaves files beside it
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )
    if built.returncode != 0 and "Could not find a version" in built.stderr:
        pytest.skip("pip cannot fetch the build backend here")
    assert built.returncode == 0, built.stderr
    assert (target / "crmkit_uscc-0.1.0.dist-info" / "entry_points.txt").read_text(
        encoding="utf-8").split() == ["[crmkit]", "uscc", "=", "crmkit_uscc"]
    check = (
        "from crmkit import CRM\n"
        "from crmkit.entities.fields import FieldDefinition\n"
        "crm = CRM(load_entrypoints=True, strict_plugins=True)\n"
        "field = FieldDefinition('customer', 'code', '代码', 'Code', 'uscc')\n"
        "print(crm.field_types.source('uscc'),"
        " crm.field_types.validate_value(field, '91350100m000100y43', '$.x'))\n"
    )
    ran = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(target)}, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["uscc", "91350100M000100Y43"]
