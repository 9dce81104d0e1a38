"""The storage contract: subclass :class:`StorageContract`, implement ``make_storage``, run pytest.

Every adapter crmkit ships (memory, SQLite, PostgreSQL) runs exactly these tests; a host's own
adapter proves itself the same way::

    class TestMyStorage(StorageContract):
        def make_storage(self):
            return MyStorage(...)   # empty, schema created
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from crmkit.entities import (
    CustomDepartment,
    DataScope,
    Department,
    FieldChange,
    Gender,
    Module,
    Operation,
    OperationLogEntry,
    OrgMember,
    OrgUnit,
    Role,
    ScopeLevel,
    User,
    UserStatus,
)
from crmkit.errors import Conflict
from crmkit.ports import Storage, UnitOfWork

T0 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def sample_department(dept_id: str = "d1", parent_id: str | None = None) -> Department:
    return Department(id=dept_id, name=f"dept {dept_id}", parent_id=parent_id)


def sample_user(user_id: str, mobile: str, department_id: str = "d1", **kw: object) -> User:
    fields: dict[str, object] = {
        "id": user_id,
        "mobile": mobile,
        "name": f"user {user_id}",
        "department_id": department_id,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(kw)
    return User(**fields)  # type: ignore[arg-type]


def sample_role(role_id: str = "r1", name: str = "销售员", **kw: object) -> Role:
    fields: dict[str, object] = {
        "id": role_id,
        "name": name,
        "permissions": {Module.LEADS: frozenset({Operation.VIEW, Operation.CREATE})},
        "scopes": {
            Module.LEADS: DataScope(ScopeLevel.SELF),
            Module.CUSTOMERS: DataScope(
                ScopeLevel.CUSTOM,
                departments=frozenset({CustomDepartment("d1", False), CustomDepartment("d2")}),
                users=frozenset({"u9"}),
            ),
        },
    }
    fields.update(kw)
    return Role(**fields)  # type: ignore[arg-type]


class Boom(Exception):
    """Raised inside a transaction to force a rollback."""


class StorageSuite:
    """What the storage contract suites share: subclasses implement ``make_storage``; the
    ``storage`` fixture is that storage, empty, schema created."""

    def make_storage(self) -> Storage:
        raise NotImplementedError

    @pytest.fixture
    def storage(self) -> Storage:
        store = self.make_storage()
        store.create_schema()
        return store

    @contextlib.contextmanager
    def discarded(self, storage: Storage) -> Iterator[UnitOfWork]:
        """A unit of work whose writes are rolled back at the end (raises and swallows
        :class:`Boom`)."""
        with contextlib.suppress(Boom), storage.transaction() as uow:
            yield uow
            raise Boom


class StorageContract(StorageSuite):
    """Behaviour every :class:`~crmkit.ports.Storage` adapter must show."""

    @pytest.fixture
    def org(self, storage: Storage) -> Storage:
        with storage.transaction() as uow:
            uow.departments.add(sample_department("d1"))
            uow.departments.add(sample_department("d2", "d1"))
            uow.roles.add(sample_role())
        return storage

    # -- round trips ---------------------------------------------------------------------------
    def test_department_round_trip(self, org: Storage) -> None:
        with org.transaction() as uow:
            assert uow.departments.get("d2") == sample_department("d2", "d1")
            assert uow.departments.get("nope") is None
            assert [d.id for d in uow.departments.list()] == ["d1", "d2"]
            assert uow.departments.count_children("d1") == 1
            assert uow.departments.count_children("d2") == 0

    def test_user_round_trip_keeps_every_field(self, org: Storage) -> None:
        user = sample_user(
            "u1", "13800000001", "d2", gender=Gender.FEMALE, email="a@b.cn", position="经理",
            role_ids=frozenset({"r1"}), password_hash="scrypt$x", status=UserStatus.DISABLED,
            created_at=T0, updated_at=T0 + timedelta(seconds=1), version=3,
        )
        with org.transaction() as uow:
            uow.users.add(user)
        with org.transaction() as uow:
            loaded = uow.users.get("u1")
            assert loaded == user
            assert loaded is not None and loaded.created_at is not None
            assert loaded.created_at.utcoffset() == timedelta(0)
            assert uow.users.get_by_mobile("13800000001") == user
            assert uow.users.get_by_mobile("13800000002") is None
            assert uow.users.names(["zz", "u1", "u1"]) == {"u1": user.name}
            assert uow.users.names([]) == {}
            many = [f"x{n}" for n in range(2500)]  # beyond any inline IN list
            assert uow.users.names([*many, "u1"]) == {"u1": user.name}

    def test_role_round_trip_keeps_permissions_and_scopes(self, org: Storage) -> None:
        with org.transaction() as uow:
            assert uow.roles.get("r1") == sample_role()
            assert uow.roles.get_by_code("none") is None
            uow.roles.add(sample_role("r2", "经理", code="mgr"))
            assert uow.roles.get_by_code("mgr") == sample_role("r2", "经理", code="mgr")
            assert [r.id for r in uow.roles.get_many(["r2", "r1", "zz"])] == ["r1", "r2"]
            assert [r.id for r in uow.roles.list()] == ["r1", "r2"]

    # -- atomicity -----------------------------------------------------------------------------
    def test_exception_rolls_everything_back(self, org: Storage) -> None:
        with pytest.raises(Boom), org.transaction() as uow:
            uow.departments.add(sample_department("d3", "d1"))
            uow.users.add(sample_user("u1", "13800000001"))
            uow.bump_org_version()
            uow.oplog.add_many([OperationLogEntry("l1", "user", "u1", None, T0, "create")])
            raise Boom
        with org.transaction() as uow:
            assert uow.departments.get("d3") is None
            assert uow.users.get("u1") is None
            assert uow.org_version() == 0
            assert uow.oplog.for_record("user", "u1") == []

    def test_nested_transaction_joins_the_outer_one(self, org: Storage) -> None:
        """A transaction opened inside another (same thread) sees its writes, commits with it,
        and on an exception undoes only its own writes."""
        with org.transaction() as outer:
            outer.departments.add(sample_department("d3", "d1"))
            with org.transaction() as inner:
                assert inner.departments.get("d3") is not None
                inner.departments.add(sample_department("d4", "d1"))
            with pytest.raises(Boom), org.transaction() as failing:
                failing.departments.add(sample_department("d5", "d1"))
                raise Boom
            assert outer.departments.get("d4") is not None
            assert outer.departments.get("d5") is None
        with pytest.raises(Boom), org.transaction() as outer:
            with org.transaction() as inner:
                inner.departments.add(sample_department("d6", "d1"))
            raise Boom
        with org.transaction() as uow:
            assert [d.id for d in uow.departments.list()] == ["d1", "d2", "d3", "d4"]

    def test_after_commit_effects_wait_for_the_outermost_commit(self, org: Storage) -> None:
        """``uow.after_commit`` effects run once, in order, after the outermost commit; a nested
        transaction that rolls back drops its own, an outer one that rolls back drops all."""
        ran: list[str] = []
        with org.transaction() as outer:
            outer.after_commit(lambda: ran.append("outer"))
            with org.transaction() as inner:
                inner.after_commit(lambda: ran.append("inner"))
            with pytest.raises(Boom), org.transaction() as failing:
                failing.after_commit(lambda: ran.append("failing"))
                raise Boom
            assert ran == []
        assert ran == ["outer", "inner"]
        with pytest.raises(Boom), org.transaction() as outer:
            with org.transaction() as inner:
                inner.after_commit(lambda: ran.append("dropped"))
            raise Boom
        assert ran == ["outer", "inner"]

    # -- optimistic locking and uniqueness -----------------------------------------------------
    def test_update_needs_the_current_version(self, org: Storage) -> None:
        with org.transaction() as uow:
            uow.users.add(sample_user("u1", "13800000001"))
        renamed = sample_user("u1", "13800000001", name="new", version=2)
        with pytest.raises(Conflict), org.transaction() as uow:
            uow.users.update(renamed, expected_version=2)
        with org.transaction() as uow:
            uow.users.update(renamed, expected_version=1)
        with org.transaction() as uow:
            assert uow.users.get("u1") == renamed

    def test_update_of_missing_entity_conflicts(self, org: Storage) -> None:
        with pytest.raises(Conflict), org.transaction() as uow:
            uow.departments.update(sample_department("zz", "d1"), expected_version=1)

    def test_mobile_is_unique(self, org: Storage) -> None:
        with org.transaction() as uow:
            uow.users.add(sample_user("u1", "13800000001"))
            uow.users.add(sample_user("u2", "13800000002"))
        with pytest.raises(Conflict) as caught, org.transaction() as uow:
            uow.users.add(sample_user("u3", "13800000001"))
        assert caught.value.code == "user.mobile_taken"
        with pytest.raises(Conflict) as caught, org.transaction() as uow:
            uow.users.update(sample_user("u2", "13800000001", version=2), expected_version=1)
        assert caught.value.code == "user.mobile_taken"
        with org.transaction() as uow:
            assert uow.users.get_by_mobile("13800000002") is not None

    def test_role_name_is_unique(self, org: Storage) -> None:
        with pytest.raises(Conflict) as caught, org.transaction() as uow:
            uow.roles.add(sample_role("r2", "销售员"))
        assert caught.value.code == "role.name_taken"

    # -- queries -------------------------------------------------------------------------------
    def test_user_listing_filters(self, org: Storage) -> None:
        with org.transaction() as uow:
            uow.users.add(sample_user("u1", "13800000001", "d1", role_ids=frozenset({"r1"})))
            uow.users.add(sample_user("u2", "13800000002", "d2", status=UserStatus.DISABLED))
            uow.users.add(sample_user("u3", "13800000003", "d2", role_ids=frozenset({"r1"})))
        with org.transaction() as uow:
            assert [u.id for u in uow.users.list()] == ["u1", "u2", "u3"]
            assert [u.id for u in uow.users.list(department_id="d2")] == ["u2", "u3"]
            assert [u.id for u in uow.users.list(role_id="r1")] == ["u1", "u3"]
            assert [u.id for u in uow.users.list(status=UserStatus.ACTIVE)] == ["u1", "u3"]
            assert [
                u.id for u in uow.users.list(department_id="d2", status=UserStatus.ACTIVE)
            ] == ["u3"]
            assert uow.users.count_in_department("d2") == 2

    def test_role_membership_can_change(self, org: Storage) -> None:
        with org.transaction() as uow:
            uow.roles.add(sample_role("r2", "经理"))
            uow.users.add(sample_user("u1", "13800000001", role_ids=frozenset({"r1"})))
        with org.transaction() as uow:
            user = uow.users.get("u1")
            assert user is not None
            moved = sample_user("u1", "13800000001", role_ids=frozenset({"r2"}), version=2)
            uow.users.update(moved, expected_version=1)
        with org.transaction() as uow:
            assert [u.id for u in uow.users.list(role_id="r1")] == []
            assert [u.id for u in uow.users.list(role_id="r2")] == ["u1"]
            uow.roles.delete("r1")
            assert uow.roles.get("r1") is None

    def test_department_delete(self, org: Storage) -> None:
        with org.transaction() as uow:
            uow.departments.delete("d2")
        with org.transaction() as uow:
            assert uow.departments.get("d2") is None
            assert uow.departments.count_children("d1") == 0

    def test_operation_log_newest_first(self, org: Storage) -> None:
        entries = [
            OperationLogEntry("l1", "user", "u1", "a", T0, "create"),
            OperationLogEntry(
                "l2", "user", "u1", "a", T0 + timedelta(minutes=1), "update",
                (FieldChange("name", "x", "y"), FieldChange("roles", ["r1"], None)),
                note="备注",
            ),
            OperationLogEntry("l3", "user", "u2", None, T0, "create"),
            OperationLogEntry("l4", "user", "u1", "a", T0 + timedelta(minutes=1), "disable"),
        ]
        with org.transaction() as uow:
            uow.oplog.add_many(entries)
        with org.transaction() as uow:
            assert uow.oplog.for_record("user", "u1") == [entries[3], entries[1], entries[0]]
            assert uow.oplog.for_record("user", "u1", limit=1) == [entries[3]]
            assert uow.oplog.for_record("department", "u1") == []

    # -- org directory -------------------------------------------------------------------------
    def test_org_version_and_snapshot(self, org: Storage) -> None:
        with org.transaction() as uow:
            assert uow.org_version() == 0
            uow.users.add(sample_user("u1", "13800000001", "d2"))
            uow.users.add(sample_user("u2", "13800000002", "d2", supervisor_id="u1"))
            assert uow.bump_org_version() == 1
        with org.transaction() as uow:
            snap = uow.org_snapshot()
            assert snap.version == uow.org_version() == 1
            assert set(snap.units) == {OrgUnit("d1", None), OrgUnit("d2", "d1")}
            assert set(snap.members) == {
                OrgMember("u1", "d2", None, True),
                OrgMember("u2", "d2", "u1", True),
            }
