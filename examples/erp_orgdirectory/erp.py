"""An ERP whose employees and departments live in its own tables, with crmkit reading them
through the :class:`~crmkit.ports.OrgDirectory` port.

The ERP owns who works where: ``erp_departments`` (a tree), ``erp_employees`` (department,
manager) and ``erp_hr_version`` (a counter bumped by every HR change, so crmkit's scope cache
knows when to rebuild). crmkit owns logins and roles: :func:`enrol` gives an employee a crmkit
user and keeps its id in ``erp_employees.crm_user_id``. Data scopes (本部门, 本人及下属 …) are
then resolved from the ERP's departments and managers — moving an employee in the ERP moves the
visibility of their customers with them, without touching crmkit's tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

from crmkit import CRM
from crmkit.entities import OrgMember, OrgSnapshot, OrgUnit, User

metadata = MetaData()
departments = Table(
    "erp_departments", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("parent_id", Integer, ForeignKey("erp_departments.id")),
)
employees = Table(
    "erp_employees", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("mobile", String(20), nullable=False, unique=True),
    Column("department_id", Integer, ForeignKey("erp_departments.id"), nullable=False),
    Column("manager_id", Integer, ForeignKey("erp_employees.id")),
    Column("crm_user_id", String(64), unique=True),
)
hr_version = Table(
    "erp_hr_version", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)


class Erp:
    """The ERP's HR side: departments and employees in its own tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)
        with engine.begin() as conn:
            if conn.execute(select(hr_version.c.version)).first() is None:
                conn.execute(insert(hr_version).values(id=1, version=1))

    def add_department(self, name: str, parent_id: int | None = None) -> int:
        return self._change(insert(departments).values(name=name, parent_id=parent_id))

    def hire(self, name: str, mobile: str, department_id: int,
             manager_id: int | None = None) -> int:
        return self._change(insert(employees).values(
            name=name, mobile=mobile, department_id=department_id, manager_id=manager_id))

    def move(self, employee_id: int, *, department_id: int, manager_id: int | None) -> None:
        """Transfer an employee to another department and manager."""
        self._change(update(employees).where(employees.c.id == employee_id)
                     .values(department_id=department_id, manager_id=manager_id))

    def link_crm_user(self, employee_id: int, crm_user_id: str) -> None:
        """Remember the employee's crmkit user (their id in the directory from now on)."""
        self._change(update(employees).where(employees.c.id == employee_id)
                     .values(crm_user_id=crm_user_id))

    def employee(self, employee_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(employees).where(employees.c.id == employee_id)).one()

    def _change(self, statement: Any) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(statement)
            conn.execute(update(hr_version).values(version=hr_version.c.version + 1))
            keys = result.inserted_primary_key if statement.is_insert else None
            return int(keys[0]) if keys else 0


def _department(dept_id: int) -> str:
    return f"d{dept_id}"


class ErpOrgDirectory:
    """crmkit's OrgDirectory over the ERP tables.

    Departments are ``d<id>``; an employee is their crmkit user id once enrolled, ``e<id>``
    before (they own nothing, but still link a manager chain through them).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def org_version(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(hr_version.c.version)).scalar_one())

    def org_snapshot(self) -> OrgSnapshot:
        with self._engine.begin() as conn:  # one transaction: version and rows agree
            version = int(conn.execute(select(hr_version.c.version)).scalar_one())
            units = conn.execute(select(departments.c.id, departments.c.parent_id)).all()
            people = conn.execute(select(employees.c.id, employees.c.department_id,
                                         employees.c.manager_id, employees.c.crm_user_id)).all()
        ident = {p.id: p.crm_user_id or f"e{p.id}" for p in people}
        return OrgSnapshot(
            version,
            tuple(OrgUnit(_department(u.id), _department(u.parent_id) if u.parent_id else None)
                  for u in units),
            tuple(OrgMember(ident[p.id], _department(p.department_id),
                            ident[p.manager_id] if p.manager_id else None)
                  for p in people),
        )


def enrol(crm: CRM, admin: User, erp: Erp, employee_id: int, role_codes: Iterable[str]) -> User:
    """Give an ERP employee a crmkit login with the given role codes; the ERP keeps the link.

    crmkit's own department and supervisor of the user are not used for scopes (the directory
    answers those); the user sits in crmkit's top department.
    """
    person = erp.employee(employee_id)
    roles = {r.code: r.id for r in crm.org.list_roles(admin)}
    top = crm.org.list_departments(admin)[0]
    user = crm.org.add_user(admin, {"mobile": person.mobile, "name": person.name,
                                    "department_id": top.id,
                                    "role_ids": [roles[code] for code in role_codes]})
    erp.link_crm_user(employee_id, user.id)
    return user
