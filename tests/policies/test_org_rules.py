"""Org structure rules (DESIGN §3): acyclic department tree and supervisor forest, and at least
one active 超级管理员."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmkit.entities import SUPER_ADMIN_CODE, Role, User, UserStatus
from crmkit.errors import RuleViolation
from crmkit.policies import (
    active_super_admins,
    check_department_parent,
    check_super_admin_kept,
    check_supervisor,
)
from crmkit.testing.strategies import member_ids, org_snapshots, unit_ids

from ._oracle import descendants_or_self, subordinates_or_self

NOWHERE = "no-such-id"


def rejects(check: Callable[..., None], *args: object) -> RuleViolation | None:
    """The RuleViolation ``check(*args)`` raises, or None when it accepts."""
    try:
        check(*args)
    except RuleViolation as error:
        return error
    return None


def is_forest(links: dict[str, str | None]) -> bool:
    """Following links from any node ends at None without revisiting a node."""
    for node in links:
        seen: set[str] = set()
        current: str | None = node
        while current is not None:
            if current in seen:
                return False
            seen.add(current)
            current = links.get(current)
    return True


# ---------------------------------------------------------------------------------------------
# Department tree
# ---------------------------------------------------------------------------------------------


@given(st.data())
def test_department_move_rejected_exactly_when_it_would_create_a_cycle(
    data: st.DataObject,
) -> None:
    snapshot = data.draw(org_snapshots(max_departments=10, max_users=0))
    department = data.draw(unit_ids(snapshot), label="department")
    new_parent = data.draw(unit_ids(snapshot), label="new parent")
    parents = {u.id: u.parent_id for u in snapshot.units}

    error = rejects(check_department_parent, parents, department, new_parent)
    cycle = new_parent in descendants_or_self(snapshot, department)
    assert (error is not None) == cycle
    if error is not None:
        assert error.code == "org.department_cycle"
        assert error.message_zh and error.message_en

    moved = {**parents, department: new_parent}
    assert is_forest(moved) == (not cycle)
    if not cycle:
        # still one tree under the same top department
        assert [d for d, p in moved.items() if p is None] == [
            d for d, p in parents.items() if p is None
        ]


@given(st.data())
def test_department_check_accepts_any_mapping_and_does_not_mutate_it(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=8, max_users=0))
    department = data.draw(unit_ids(snapshot), label="department")
    new_parent = data.draw(unit_ids(snapshot), label="new parent")
    parents = {u.id: u.parent_id for u in snapshot.units}
    copy = dict(parents)
    as_dict = rejects(check_department_parent, parents, department, new_parent)
    as_proxy = rejects(check_department_parent, MappingProxyType(parents), department, new_parent)
    assert (as_dict is None) == (as_proxy is None)
    assert parents == copy


@given(st.data())
def test_department_move_under_unknown_parent_is_not_a_cycle(data: st.DataObject) -> None:
    """Existence is checked elsewhere; the cycle rule alone must not misfire."""
    snapshot = data.draw(org_snapshots(max_departments=6, max_users=0))
    department = data.draw(unit_ids(snapshot), label="department")
    check_department_parent({u.id: u.parent_id for u in snapshot.units}, department, NOWHERE)


# 办公室 office ─┬─ 销售部 sales ─┬─ 销售一组 s1 ── 大客户小组 s1a
#               │               └─ 销售二组 s2
#               └─ 财务部 finance
PARENTS: dict[str, str | None] = {
    "office": None,
    "sales": "office",
    "s1": "sales",
    "s1a": "s1",
    "s2": "sales",
    "finance": "office",
}


@pytest.mark.parametrize(
    ("department", "new_parent"),
    [
        ("sales", "sales"),  # under itself
        ("sales", "s1"),  # under its child
        ("sales", "s1a"),  # under its grandchild
        ("office", "finance"),  # the top under anything
        ("office", "office"),
        ("s1", "s1a"),
    ],
)
def test_named_department_moves_rejected(department: str, new_parent: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_department_parent(PARENTS, department, new_parent)
    assert caught.value.code == "org.department_cycle"
    assert "部门" in caught.value.message_zh


@pytest.mark.parametrize(
    ("department", "new_parent"),
    [
        ("s2", "finance"),
        ("s1a", "office"),  # up two levels
        ("s1a", "s2"),  # sideways
        ("s1", "s2"),  # a subtree under its sibling
        ("finance", "s1a"),  # down into another branch
        ("sales", "office"),  # to where it already is
    ],
)
def test_named_department_moves_allowed(department: str, new_parent: str) -> None:
    check_department_parent(PARENTS, department, new_parent)


# ---------------------------------------------------------------------------------------------
# Supervisor forest
# ---------------------------------------------------------------------------------------------


@given(st.data())
def test_supervisor_rejected_exactly_when_it_would_create_a_cycle(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=3, max_users=12, min_users=1))
    user = data.draw(member_ids(snapshot), label="user")
    supervisor = data.draw(st.none() | member_ids(snapshot), label="supervisor")
    supervisors = {m.id: m.supervisor_id for m in snapshot.members}

    error = rejects(check_supervisor, supervisors, user, supervisor)
    cycle = supervisor is not None and supervisor in subordinates_or_self(snapshot, user)
    assert (error is not None) == cycle
    if error is not None:
        assert error.code == "org.supervisor_cycle"
        assert error.message_zh and error.message_en
    assert is_forest({**supervisors, user: supervisor}) == (not cycle)


@given(st.data())
def test_supervisor_none_or_unknown_is_never_a_cycle(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=3, max_users=8, min_users=1))
    user = data.draw(member_ids(snapshot), label="user")
    supervisors = {m.id: m.supervisor_id for m in snapshot.members}
    check_supervisor(supervisors, user, None)
    check_supervisor(supervisors, user, NOWHERE)
    # …and a brand-new user (not yet in the mapping) may report to anyone
    for member in snapshot.members:
        check_supervisor(supervisors, NOWHERE, member.id)


SUPERVISORS: dict[str, str | None] = {
    "zhang": None,
    "li": "zhang",
    "wang": "li",
    "zhao": "wang",
    "qian": "li",
    "wu": None,
}


@pytest.mark.parametrize(
    ("user", "supervisor", "allowed"),
    [
        ("wang", "wang", False),  # oneself
        ("li", "zhao", False),  # a transitive subordinate
        ("zhang", "qian", False),
        ("li", "wang", False),  # a direct report
        ("zhao", "qian", True),  # sideways
        ("zhao", "zhang", True),  # skip levels
        ("zhang", "wu", True),  # under someone outside the chain
        ("wang", None, True),
        ("wu", "zhao", True),
    ],
)
def test_named_supervisor_choices(user: str, supervisor: str | None, allowed: bool) -> None:
    error = rejects(check_supervisor, SUPERVISORS, user, supervisor)
    assert (error is None) == allowed
    if error is not None:
        assert error.code == "org.supervisor_cycle"
        assert "直属上级" in error.message_zh


# ---------------------------------------------------------------------------------------------
# 超级管理员 holders
# ---------------------------------------------------------------------------------------------

ROLES = {
    "admin": Role("admin", "超级管理员", code=SUPER_ADMIN_CODE),
    "admin-copy": Role("admin-copy", "Root", code=SUPER_ADMIN_CODE),
    "sales": Role("sales", "销售员", code="sales"),
    "fake": Role("fake", "超级管理员"),  # the name alone does not make a super admin
}
ROLE_IDS = [*ROLES, "deleted-role"]  # a stale id the mapping no longer has


def user(uid: str, role_ids: frozenset[str], active: bool = True) -> User:
    status = UserStatus.ACTIVE if active else UserStatus.DISABLED
    return User(uid, f"1380000{uid:0>4}", uid, "office", role_ids=role_ids, status=status)


def users() -> st.SearchStrategy[list[User]]:
    one = st.tuples(st.frozensets(st.sampled_from(ROLE_IDS)), st.booleans())
    return st.lists(one, max_size=8).map(
        lambda specs: [user(str(i), ids, active) for i, (ids, active) in enumerate(specs)]
    )


@given(users())
def test_active_super_admins_matches_oracle(people: list[User]) -> None:
    expected = {
        u.id
        for u in people
        if u.status is UserStatus.ACTIVE and u.role_ids & {"admin", "admin-copy"}
    }
    assert active_super_admins(people, ROLES) == expected
    assert active_super_admins(iter(people), MappingProxyType(ROLES)) == expected


@given(users())
def test_super_admin_kept_iff_some_active_holder(people: list[User]) -> None:
    holders = active_super_admins(people, ROLES)
    error = rejects(check_super_admin_kept, holders)
    assert (error is None) == bool(holders)
    if error is not None:
        assert error.code == "org.last_super_admin"
        assert "超级管理员" in error.message_zh


@given(users(), st.data())
def test_disabling_or_demoting_the_last_admin_is_refused(
    people: list[User], data: st.DataObject
) -> None:
    holders = active_super_admins(people, ROLES)
    assume(holders)
    target = data.draw(st.sampled_from(sorted(holders)), label="target")
    demote = data.draw(st.booleans(), label="demote rather than disable")
    after = [
        (
            attrs.evolve(u, role_ids=u.role_ids - {"admin", "admin-copy"})
            if demote
            else attrs.evolve(u, status=UserStatus.DISABLED)
        )
        if u.id == target
        else u
        for u in people
    ]
    holders_after = active_super_admins(after, ROLES)
    assert holders_after == holders - {target}
    error = rejects(check_super_admin_kept, holders_after)
    assert (error is not None) == (holders == {target})


def test_named_super_admin_cases() -> None:
    boss = user("1", frozenset({"admin"}))
    deputy = user("2", frozenset({"admin-copy", "sales"}))
    off = user("3", frozenset({"admin"}), active=False)
    faker = user("4", frozenset({"fake", "sales", "deleted-role"}))
    assert active_super_admins([boss, deputy, off, faker], ROLES) == {"1", "2"}
    assert active_super_admins([off, faker], ROLES) == set()
    assert active_super_admins([], ROLES) == set()
    assert active_super_admins([boss], {}) == set()  # roles unknown to the mapping don't count

    check_super_admin_kept({"1"})
    check_super_admin_kept({"1", "2"})
    with pytest.raises(RuleViolation) as caught:
        check_super_admin_kept(set())
    assert caught.value.code == "org.last_super_admin"
    assert caught.value.as_dict()["code"] == "org.last_super_admin"
