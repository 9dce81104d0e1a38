"""A CRM per storage backend (memory, SQLite, PostgreSQL) with a small sample organisation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import attrs
import pytest

from crmkit import CRM
from crmkit.adapters.basics import FixedClock, OutboxNotifier, SequentialIds
from crmkit.adapters.memory import MemoryStorage
from crmkit.entities import Department, User
from crmkit.ports import Storage

BACKENDS = ["memory", "sqlite", "postgres"]


def make_storage(kind: str, request: pytest.FixtureRequest) -> Storage:
    if kind == "memory":
        return MemoryStorage()
    from crmkit.adapters.sqlalchemy import SqlStorage, metadata

    if kind == "sqlite":
        storage = SqlStorage("sqlite://")
    else:
        url = request.getfixturevalue("pg_url")
        storage = SqlStorage(url)
        metadata.drop_all(storage.engine)
    storage.create_schema()
    return storage


@attrs.define
class Org:
    """The sample org: 办公室 → 销售部 → 一组; 办公室 → 财务部."""

    crm: CRM
    clock: FixedClock
    notifier: OutboxNotifier
    admin: User
    top: Department
    sales: Department
    group: Department
    finance: Department
    manager: User
    rep: User
    roles: dict[str, str]

    def user(self, mobile: str, name: str, dept: Department, *roles: str, **kw: object) -> User:
        return self.crm.org.add_user(self.admin, {
            "mobile": mobile, "name": name, "department_id": dept.id,
            "role_ids": [self.roles[r] for r in roles], **kw,
        })


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Storage]:
    storage = make_storage(request.param, request)
    yield storage
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def org(backend: Storage) -> Org:
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    notifier = OutboxNotifier()
    crm = CRM(backend, clock=clock, ids=SequentialIds("id"), notifier=notifier)
    admin = crm.org.setup(
        admin_mobile="13800000000", admin_name="王总", admin_password="s3cret-pass"
    )
    top = crm.org.list_departments(admin)[0]
    roles = {r.code or r.name: r.id for r in crm.org.list_roles(admin)}
    sales = crm.org.add_department(admin, {"name": "销售部", "parent_id": top.id})
    group = crm.org.add_department(admin, {"name": "销售一组", "parent_id": sales.id})
    finance = crm.org.add_department(admin, {"name": "财务部", "parent_id": top.id})
    o = Org(crm, clock, notifier, admin, top, sales, group, finance, admin, admin, roles)
    o.manager = o.user("13900000001", "李经理", sales, "sales_manager", supervisor_id=admin.id)
    o.rep = o.user("13900000002", "张三", group, "sales_rep", supervisor_id=o.manager.id)
    return o
