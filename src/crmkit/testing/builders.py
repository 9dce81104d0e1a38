"""Builders for a host's tests: a fixed clock and a CRM with a small sample organisation.

The sample org is the one crmkit's own workflow tests use::

    办公室 (王总, 超级管理员)
    ├── 销售部 (李经理, 销售经理 — sees the department tree; supervisor of 张三)
    │   └── 销售一组 (张三, 销售员 — sees own records)
    └── 财务部 (赵会计, 财务 — sees every contract and payment)

Everything is built through the public facade, so it works on any storage a host passes in.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.app import CRM
from crmkit.entities import Department, User
from crmkit.ports import Storage

__all__ = [
    "DEFAULT_START",
    "FixedClock",
    "SampleOrg",
    "add_user",
    "fixed_clock",
    "sample_crm",
    "sample_org",
]

DEFAULT_START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
"""A Monday morning in Beijing: the sample clock's start."""


def fixed_clock(start: datetime = DEFAULT_START) -> FixedClock:
    """A clock the test moves by hand (``set``, ``advance(days=…)``); starts at ``start``."""
    return FixedClock(start)


def sample_crm(storage: Storage | None = None, *, clock: FixedClock | None = None,
               plugins: tuple[object, ...] = ()) -> CRM:
    """A CRM on ``storage`` (memory by default) with a fixed clock and sequential ids."""
    return CRM(storage, clock=clock or fixed_clock(), ids=SequentialIds("t"), plugins=plugins)


@attrs.define
class SampleOrg:
    """The sample organisation: its CRM, clock, departments, people and role ids by code."""

    crm: CRM
    clock: FixedClock
    admin: User
    top: Department
    sales: Department
    group: Department
    finance: Department
    manager: User
    rep: User
    roles: dict[str, str]
    accountant: User | None = None

    def user(self, mobile: str, name: str, department: Department, *role_codes: str,
             **fields: object) -> User:
        """Add a user with the given role codes (``sales_rep``, ``sales_manager``, ``finance``,
        ``super_admin``) — e.g. a second rep for a scope test."""
        return add_user(self.crm, self.admin, self.roles, mobile, name, department, *role_codes,
                        **fields)


def add_user(crm: CRM, admin: User, roles: dict[str, str], mobile: str, name: str,
             department: Department, *role_codes: str, **fields: object) -> User:
    """Add a user through the facade, roles named by code (``roles``: code → role id)."""
    return crm.org.add_user(admin, {
        "mobile": mobile, "name": name, "department_id": department.id,
        "role_ids": [roles[code] for code in role_codes], **fields,
    })


def sample_org(crm: CRM | None = None, *, clock: FixedClock | None = None,
               admin_password: str | None = None, accountant: bool = True) -> SampleOrg:
    """Set up the sample organisation in ``crm`` (a fresh :func:`sample_crm` by default).

    ``crm`` must be empty (no organisation yet); pass ``clock`` when it runs on one you hold.
    ``admin_password`` gives 王总 a password; ``accountant=False`` leaves 赵会计 out.
    """
    if crm is None:
        clock = clock or fixed_clock()
        crm = sample_crm(clock=clock)
    elif clock is None:
        found = crm.runtime.clock
        clock = found if isinstance(found, FixedClock) else fixed_clock()
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总",
                          admin_password=admin_password)
    top = crm.org.list_departments(admin)[0]
    roles = {r.code or r.name: r.id for r in crm.org.list_roles(admin)}
    sales = crm.org.add_department(admin, {"name": "销售部", "parent_id": top.id})
    group = crm.org.add_department(admin, {"name": "销售一组", "parent_id": sales.id})
    finance = crm.org.add_department(admin, {"name": "财务部", "parent_id": top.id})
    org = SampleOrg(crm, clock, admin, top, sales, group, finance, admin, admin, roles)
    org.manager = org.user("13900000001", "李经理", sales, "sales_manager",
                           supervisor_id=admin.id)
    org.rep = org.user("13900000002", "张三", group, "sales_rep", supervisor_id=org.manager.id)
    if accountant:
        org.accountant = org.user("13900000003", "赵会计", finance, "finance")
    return org
