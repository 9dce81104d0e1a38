"""Data-scope resolution (数据权限, DESIGN §3): OrgIndex / resolve_scope against a naive oracle,
RecordScope algebra, and a small named org with explicit expected sets."""

from __future__ import annotations

import threading
from collections.abc import Set as AbstractSet
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmkit.entities import (
    SUPER_ADMIN_CODE,
    CustomDepartment,
    DataScope,
    Module,
    OrgMember,
    OrgSnapshot,
    OrgUnit,
    RecordScope,
    Role,
    ScopeLevel,
)
from crmkit.policies import OrgIndex, resolve_scope
from crmkit.testing.strategies import (
    data_scopes,
    member_ids,
    org_snapshots,
    roles,
    unit_ids,
)

from ._oracle import ScopeOracle

MODULES = (Module.CUSTOMERS, Module.LEADS)
GHOST = "ghost-user"  # an owner id no snapshot contains


def snapshots() -> st.SearchStrategy[OrgSnapshot]:
    return org_snapshots(max_departments=7, max_users=10, min_users=1)


def admitted_owners(scope: RecordScope, snapshot: OrgSnapshot) -> frozenset[str]:
    """Members whose plain records (no team, no pool) the scope admits."""
    return frozenset(m.id for m in snapshot.members if scope.admits(m.id))


def expected_union(
    oracle: ScopeOracle, viewer: str, role_list: list[Role], module: Module
) -> frozenset[str] | None:
    """Union over roles of the oracle's owner sets; None when any role grants ALL."""
    owners: set[str] = set()
    for role in role_list:
        if role.code == SUPER_ADMIN_CODE:
            return None
        scope = role.scopes.get(module)
        if scope is None:
            continue
        granted = oracle.owners(viewer, scope)
        if granted is None:
            return None
        owners |= granted
    return frozenset(owners)


# ---------------------------------------------------------------------------------------------
# OrgIndex.owners_for against the oracle
# ---------------------------------------------------------------------------------------------


@given(st.data())
def test_owners_for_matches_oracle(data: st.DataObject) -> None:
    snapshot = data.draw(snapshots())
    viewer = data.draw(member_ids(snapshot), label="viewer")
    scope = data.draw(data_scopes(snapshot), label="scope")
    assert OrgIndex(snapshot).owners_for(viewer, scope) == ScopeOracle(snapshot).owners(
        viewer, scope
    )


@given(st.data())
def test_owners_for_every_viewer_and_level_with_one_warm_index(data: st.DataObject) -> None:
    """Memoised sets must not leak between viewers or levels: one index answers every question
    exactly as the oracle does, whatever the order of the questions."""
    snapshot = data.draw(snapshots())
    scopes = data.draw(st.lists(data_scopes(snapshot), min_size=1, max_size=6), label="scopes")
    viewers = data.draw(st.permutations(sorted(m.id for m in snapshot.members)), label="order")
    index, oracle = OrgIndex(snapshot), ScopeOracle(snapshot)
    for scope in scopes:
        for viewer in viewers:
            assert index.owners_for(viewer, scope) == oracle.owners(viewer, scope)


@given(st.data())
def test_viewer_missing_from_snapshot_sees_at_most_self_and_custom(data: st.DataObject) -> None:
    """A viewer the snapshot does not know (e.g. created after it) gets only their own records,
    plus whatever a CUSTOM scope lists explicitly; never a department or a team."""
    snapshot = data.draw(org_snapshots(max_departments=6, max_users=8))
    scope = data.draw(data_scopes(snapshot), label="scope")
    got = OrgIndex(snapshot).owners_for(GHOST, scope)
    if scope.level is ScopeLevel.ALL:
        assert got is None
    elif scope.level is ScopeLevel.CUSTOM:
        assert got == ScopeOracle(snapshot).owners(GHOST, scope)
    else:
        assert got == frozenset({GHOST})


def test_is_below_stops_on_a_cycle_of_parents() -> None:
    """A directory that reports d1 ↔ d2 as each other's parent (a host's broken data) gives
    an answer, not an endless walk."""
    answers: list[tuple[bool, bool, bool]] = []

    def ask() -> None:
        index = OrgIndex(OrgSnapshot(1, (OrgUnit("d1", "d2"), OrgUnit("d2", "d1"),
                                         OrgUnit("d3", None)), ()))
        answers.append((index.is_below("d1", "d3"), index.is_below("d1", "d2"),
                        index.is_below("d2", "d2")))

    worker = threading.Thread(target=ask, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert answers == [(False, True, True)]


@given(st.data())
def test_is_below_matches_oracle(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=10, max_users=0))
    department = data.draw(unit_ids(snapshot), label="department")
    ancestor = data.draw(unit_ids(snapshot), label="ancestor")
    assert OrgIndex(snapshot).is_below(department, ancestor) == ScopeOracle(
        snapshot
    ).department_under(department, ancestor)


# ---------------------------------------------------------------------------------------------
# resolve_scope: union over roles, monotonicity, super admin, team and pool grants
# ---------------------------------------------------------------------------------------------


@given(st.data())
def test_resolve_scope_is_union_of_oracle_sets(data: st.DataObject) -> None:
    snapshot = data.draw(snapshots())
    viewer = data.draw(member_ids(snapshot), label="viewer")
    role_list = data.draw(st.lists(roles(snapshot, modules=MODULES), max_size=4), label="roles")
    module = data.draw(st.sampled_from(MODULES), label="module")
    pools = data.draw(st.frozensets(st.sampled_from(["p1", "p2", "p3"])), label="pools")

    got = resolve_scope(OrgIndex(snapshot), viewer, role_list, module, pool_ids=pools)
    expected = expected_union(ScopeOracle(snapshot), viewer, role_list, module)

    if expected is None:
        assert got == RecordScope.everything()
        assert got.admits(GHOST) and got.admits(None)
    else:
        assert not got.all_records
        assert got.owner_ids == expected
        assert got.team_user_id == viewer
        assert got.pool_ids == pools
        assert admitted_owners(got, snapshot) == expected
        assert not got.admits(GHOST)


@given(st.data())
def test_adding_a_role_never_removes_an_owner(data: st.DataObject) -> None:
    snapshot = data.draw(snapshots())
    viewer = data.draw(member_ids(snapshot), label="viewer")
    role_list = data.draw(st.lists(roles(snapshot, modules=MODULES), max_size=3), label="roles")
    extra = data.draw(roles(snapshot, modules=MODULES), label="extra role")
    module = data.draw(st.sampled_from(MODULES), label="module")
    index = OrgIndex(snapshot)

    before = resolve_scope(index, viewer, role_list, module)
    after = resolve_scope(index, viewer, [*role_list, extra], module)
    assert admitted_owners(before, snapshot) <= admitted_owners(after, snapshot)
    assert before.all_records <= after.all_records
    assert before.owner_ids <= after.owner_ids or after.all_records
    # order of roles is irrelevant
    assert resolve_scope(index, viewer, [extra, *role_list], module) == after


@given(st.data())
def test_role_without_scope_on_module_adds_nothing(data: st.DataObject) -> None:
    snapshot = data.draw(snapshots())
    viewer = data.draw(member_ids(snapshot), label="viewer")
    role_list = data.draw(st.lists(roles(snapshot, modules=MODULES), max_size=2), label="roles")
    # scopes (even ALL) on other modules only
    other = data.draw(
        roles(snapshot, modules=(Module.CONTACTS, Module.CONTRACTS), allow_super_admin=False),
        label="role on other modules",
    )
    module = data.draw(st.sampled_from(MODULES), label="module")
    index = OrgIndex(snapshot)

    assert resolve_scope(index, viewer, [*role_list, other], module) == resolve_scope(
        index, viewer, role_list, module
    )
    alone = resolve_scope(index, viewer, [other], module)
    assert alone.owner_ids == frozenset() and not alone.all_records
    assert admitted_owners(alone, snapshot) == frozenset()


@given(st.data())
def test_super_admin_sees_everything(data: st.DataObject) -> None:
    snapshot = data.draw(snapshots())
    viewer = data.draw(member_ids(snapshot), label="viewer")
    role_list = data.draw(st.lists(roles(snapshot, modules=MODULES), max_size=2), label="roles")
    module = data.draw(st.sampled_from(list(Module)), label="module")
    # even a super-admin role carrying a narrow scope on the module is ALL
    admin = Role(
        "admin", "超级管理员", scopes={module: DataScope(ScopeLevel.SELF)}, code=SUPER_ADMIN_CODE
    )
    position = data.draw(st.integers(0, len(role_list)), label="position")
    role_list.insert(position, admin)

    got = resolve_scope(OrgIndex(snapshot), viewer, role_list, module)
    assert got.all_records
    assert all(got.admits(m.id) for m in snapshot.members)
    assert got.admits(GHOST) and got.admits(None)


@given(st.data())
def test_team_and_pool_grants_are_independent_of_scope(data: st.DataObject) -> None:
    snapshot = data.draw(snapshots())
    viewer = data.draw(member_ids(snapshot), label="viewer")
    role_list = data.draw(
        st.lists(roles(snapshot, modules=MODULES, allow_super_admin=False), max_size=3),
        label="roles",
    )
    module = data.draw(st.sampled_from(MODULES), label="module")
    pools = data.draw(st.frozensets(st.sampled_from(["p1", "p2"])), label="member of pools")
    got = resolve_scope(OrgIndex(snapshot), viewer, role_list, module, pool_ids=pools)
    assume(not got.all_records)
    others = sorted(m.id for m in snapshot.members if m.id != viewer)
    team = data.draw(st.lists(st.sampled_from(others)) if others else st.just([]), label="team")

    # a record owned by someone outside the scope (GHOST never is)
    assert not got.admits(GHOST)
    assert not got.admits(GHOST, team_user_ids=team)
    assert got.admits(GHOST, team_user_ids=[*team, viewer])
    assert got.admits(GHOST, team_user_ids=iter([viewer]))  # any iterable
    for pool in ["p1", "p2", "p3"]:
        assert got.admits(None, pool_id=pool) == (pool in pools)
        assert got.admits(GHOST, team, pool) == (pool in pools)
    # an unowned, non-pool record with no team is nobody's
    assert not got.admits(None)


@given(st.data())
def test_no_roles_leaves_team_and_pool_only(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=3, max_users=5, min_users=1))
    viewer = data.draw(member_ids(snapshot), label="viewer")
    got = resolve_scope(OrgIndex(snapshot), viewer, [], Module.CUSTOMERS, pool_ids=["p1"])
    assert got == RecordScope(team_user_id=viewer, pool_ids=frozenset({"p1"}))
    assert admitted_owners(got, snapshot) == frozenset()
    assert got.admits(None, [viewer]) and got.admits(None, pool_id="p1")


# ---------------------------------------------------------------------------------------------
# RecordScope.union
# ---------------------------------------------------------------------------------------------

VIEWER = "v"
OWNERS = ["v", "a", "b", "c"]
POOLS = ["p1", "p2", "p3"]


def record_scopes() -> st.SearchStrategy[RecordScope]:
    """Scopes of one viewer ``v`` (resolve_scope's unions always concern a single viewer)."""
    return st.builds(
        RecordScope,
        all_records=st.integers(0, 7).map(lambda n: n == 7),
        owner_ids=st.frozensets(st.sampled_from(OWNERS)),
        team_user_id=st.sampled_from([None, VIEWER]),
        pool_ids=st.frozensets(st.sampled_from(POOLS)),
    )


def records() -> st.SearchStrategy[tuple[str | None, list[str], str | None]]:
    """(owner, team, pool) of a record."""
    return st.tuples(
        st.sampled_from([None, "z", *OWNERS]),
        st.lists(st.sampled_from(OWNERS), max_size=3),
        st.sampled_from([None, "p4", *POOLS]),
    )


@given(record_scopes(), record_scopes())
def test_union_is_commutative(a: RecordScope, b: RecordScope) -> None:
    assert a.union(b) == b.union(a)


@given(record_scopes(), record_scopes(), record_scopes())
def test_union_is_associative(a: RecordScope, b: RecordScope, c: RecordScope) -> None:
    assert a.union(b).union(c) == a.union(b.union(c))


@given(record_scopes())
def test_union_identity_and_absorption(a: RecordScope) -> None:
    assert a.union(RecordScope.nothing()).admits("a") == a.admits("a")
    assert a.union(a).union(RecordScope.nothing()) == a.union(RecordScope.nothing())
    assert a.union(RecordScope.everything()) == RecordScope.everything()
    assert RecordScope.nothing().is_empty and not RecordScope.everything().is_empty


@given(record_scopes(), record_scopes(), st.lists(records(), min_size=1, max_size=10))
def test_union_admits_what_either_admits(
    a: RecordScope, b: RecordScope, recs: list[tuple[str | None, list[str], str | None]]
) -> None:
    union = a.union(b)
    for owner, team, pool in recs:
        assert union.admits(owner, team, pool) == (
            a.admits(owner, team, pool) or b.admits(owner, team, pool)
        )
    assert union.is_empty == (a.is_empty and b.is_empty)


# ---------------------------------------------------------------------------------------------
# Moving users: visibility follows the *current* department and supervisor
# ---------------------------------------------------------------------------------------------


def replace_member(snapshot: OrgSnapshot, user_id: str, **changes: Any) -> OrgSnapshot:
    members = tuple(attrs.evolve(m, **changes) if m.id == user_id else m for m in snapshot.members)
    return attrs.evolve(snapshot, version=snapshot.version + 1, members=members)


@given(st.data())
def test_moving_a_user_moves_visibility_of_their_records(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=8, max_users=10, min_users=2))
    viewer = data.draw(member_ids(snapshot), label="viewer")
    mover = data.draw(member_ids(snapshot).filter(lambda u: u != viewer), label="mover")
    target = data.draw(unit_ids(snapshot), label="new department")
    scope = data.draw(
        data_scopes(
            snapshot,
            levels=[ScopeLevel.DEPARTMENT, ScopeLevel.DEPARTMENT_TREE, ScopeLevel.CUSTOM],
        ).filter(lambda s: mover not in s.users),
        label="scope",
    )
    old_index = OrgIndex(snapshot)
    before = old_index.owners_for(viewer, scope)
    moved = replace_member(snapshot, mover, department_id=target)
    after = OrgIndex(moved).owners_for(viewer, scope)
    assert before is not None and after is not None

    # The mover is visible after the move exactly when a colleague who always sat in the target
    # department is (a probe member with no supervisor and no special listing).
    probe = OrgMember("probe", target)
    probe_snapshot = attrs.evolve(snapshot, members=(*snapshot.members, probe))
    probe_visible = "probe" in (OrgIndex(probe_snapshot).owners_for(viewer, scope) or ())
    assert (mover in after) == probe_visible
    assert (mover in after) == ScopeOracle(moved).visible(viewer, scope, mover)
    # nobody else's visibility changes, and the old index keeps answering for its own version
    assert before - {mover} == after - {mover}
    assert old_index.owners_for(viewer, scope) == before


@given(st.data())
def test_changing_supervisor_moves_visibility_of_their_records(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=4, max_users=10, min_users=2))
    viewer = data.draw(member_ids(snapshot), label="viewer")
    mover = data.draw(member_ids(snapshot), label="mover")
    # a valid new supervisor: not the mover nor anyone who reports (transitively) to them
    oracle = ScopeOracle(snapshot)
    candidates = sorted(m.id for m in snapshot.members if not oracle.reports_to(m.id, mover))
    new_supervisor = data.draw(st.sampled_from([None, *candidates]), label="new supervisor")
    moved = replace_member(snapshot, mover, supervisor_id=new_supervisor)
    scope = DataScope(ScopeLevel.SELF_AND_SUBORDINATES)
    after = OrgIndex(moved).owners_for(viewer, scope)
    assert after == ScopeOracle(moved).owners(viewer, scope)
    assert after is not None
    if viewer != mover:
        # the mover's chain now runs through the new supervisor: visible iff the viewer is the
        # new supervisor or above them
        above_new = new_supervisor is not None and ScopeOracle(moved).reports_to(
            new_supervisor, viewer
        )
        assert (mover in after) == above_new


# ---------------------------------------------------------------------------------------------
# A small named org with explicit expected sets
# ---------------------------------------------------------------------------------------------
#
#   办公室 office ── 张总 zhang
#   ├── 销售部 sales ── 李经理 li (→ zhang), 吴助理 wu (no supervisor)
#   │   ├── 销售一组 s1 ── 王组长 wang (→ li), 赵 zhao (→ wang), 郑 zheng (→ wang, disabled)
#   │   └── 销售二组 s2 ── 钱组长 qian (→ li), 孙 sun (→ qian)
#   └── 财务部 finance ── 周会计 zhou (→ zhang)

ORG = OrgSnapshot(
    version=7,
    units=(
        OrgUnit("office", None),
        OrgUnit("sales", "office"),
        OrgUnit("s1", "sales"),
        OrgUnit("s2", "sales"),
        OrgUnit("finance", "office"),
    ),
    members=(
        OrgMember("zhang", "office"),
        OrgMember("li", "sales", "zhang"),
        OrgMember("wu", "sales"),
        OrgMember("wang", "s1", "li"),
        OrgMember("zhao", "s1", "wang"),
        OrgMember("zheng", "s1", "wang", active=False),
        OrgMember("qian", "s2", "li"),
        OrgMember("sun", "s2", "qian"),
        OrgMember("zhou", "finance", "zhang"),
    ),
)
EVERYONE = frozenset(m.id for m in ORG.members)


def owners(index: OrgIndex, viewer: str, scope: DataScope) -> frozenset[str]:
    got = index.owners_for(viewer, scope)
    assert got is not None
    return got


def custom(*departments: tuple[str, bool], users: tuple[str, ...] = ()) -> DataScope:
    return DataScope(
        ScopeLevel.CUSTOM,
        departments=frozenset(CustomDepartment(d, c) for d, c in departments),
        users=frozenset(users),
    )


S = ScopeLevel
NAMED_CASES: list[tuple[str, DataScope, AbstractSet[str]]] = [
    ("wang", DataScope(S.SELF), {"wang"}),
    ("zhang", DataScope(S.SELF), {"zhang"}),
    ("zhang", DataScope(S.SELF_AND_SUBORDINATES), set(EVERYONE - {"wu"})),
    ("li", DataScope(S.SELF_AND_SUBORDINATES), {"li", "wang", "zhao", "zheng", "qian", "sun"}),
    ("wang", DataScope(S.SELF_AND_SUBORDINATES), {"wang", "zhao", "zheng"}),
    ("zhao", DataScope(S.SELF_AND_SUBORDINATES), {"zhao"}),
    ("wu", DataScope(S.SELF_AND_SUBORDINATES), {"wu"}),
    ("li", DataScope(S.DEPARTMENT), {"li", "wu"}),
    ("zhao", DataScope(S.DEPARTMENT), {"wang", "zhao", "zheng"}),
    ("zhou", DataScope(S.DEPARTMENT), {"zhou"}),
    ("zhang", DataScope(S.DEPARTMENT), {"zhang"}),
    ("li", DataScope(S.DEPARTMENT_TREE), {"li", "wu", "wang", "zhao", "zheng", "qian", "sun"}),
    ("wu", DataScope(S.DEPARTMENT_TREE), {"li", "wu", "wang", "zhao", "zheng", "qian", "sun"}),
    ("sun", DataScope(S.DEPARTMENT_TREE), {"qian", "sun"}),
    ("zhou", DataScope(S.DEPARTMENT_TREE), {"zhou"}),
    ("zhang", DataScope(S.DEPARTMENT_TREE), set(EVERYONE)),
    ("zhao", custom(("s2", True), users=("zhou",)), {"qian", "sun", "zhou"}),
    ("zhao", custom(("sales", False)), {"li", "wu"}),
    ("zhao", custom(("sales", True)), {"li", "wu", "wang", "zhao", "zheng", "qian", "sun"}),
    ("zhou", custom(("sales", False), ("sales", True)), EVERYONE - {"zhang", "zhou"}),
    ("zhou", custom(("office", False), ("s1", False)), {"zhang", "wang", "zhao", "zheng"}),
    ("zhou", custom(), frozenset()),
    ("li", custom(users=("sun", "zhang")), {"sun", "zhang"}),
]


@pytest.mark.parametrize(("viewer", "scope", "expected"), NAMED_CASES)
def test_named_org_owner_sets(viewer: str, scope: DataScope, expected: AbstractSet[str]) -> None:
    assert OrgIndex(ORG).owners_for(viewer, scope) == expected
    assert ScopeOracle(ORG).owners(viewer, scope) == expected  # the oracle agrees


@pytest.mark.parametrize(("viewer", "scope", "expected"), NAMED_CASES)
def test_named_org_allow_and_deny(
    viewer: str, scope: DataScope, expected: AbstractSet[str]
) -> None:
    role = Role("r", "角色", scopes={Module.CUSTOMERS: scope})
    granted = resolve_scope(OrgIndex(ORG), viewer, [role], Module.CUSTOMERS)
    for owner in expected:
        assert granted.admits(owner), f"{viewer} should see {owner}'s records"
    for owner in EVERYONE - expected:
        assert not granted.admits(owner), f"{viewer} must not see {owner}'s records"
        assert granted.admits(owner, team_user_ids=[viewer])  # …unless on the record's team
    # the scope is per module
    assert resolve_scope(OrgIndex(ORG), viewer, [role], Module.LEADS).owner_ids == frozenset()


def test_named_org_all() -> None:
    role = Role("r", "角色", scopes={Module.CUSTOMERS: DataScope(S.ALL)})
    assert OrgIndex(ORG).owners_for("sun", DataScope(S.ALL)) is None
    granted = resolve_scope(OrgIndex(ORG), "sun", [role], Module.CUSTOMERS)
    assert granted.all_records and all(granted.admits(o) for o in [*EVERYONE, GHOST, None])


def test_named_org_several_roles_union() -> None:
    sales_rep = Role("rep", "销售员", scopes={Module.CUSTOMERS: DataScope(S.SELF)})
    finance = Role("fin", "财务", scopes={Module.CUSTOMERS: custom(("finance", True))})
    granted = resolve_scope(
        OrgIndex(ORG), "zhao", [sales_rep, finance], Module.CUSTOMERS, pool_ids=["east"]
    )
    assert granted.owner_ids == frozenset({"zhao", "zhou"})
    assert granted.admits(None, pool_id="east") and not granted.admits(None, pool_id="west")
    assert not granted.admits("wang") and granted.admits("wang", ["li", "zhao"])


def test_named_org_super_admin() -> None:
    admin = Role("admin", "超级管理员", code=SUPER_ADMIN_CODE)
    for module in Module:
        assert resolve_scope(OrgIndex(ORG), "sun", [admin], module).all_records


def test_named_org_moving_a_salesperson_between_groups() -> None:
    moved = replace_member(ORG, "zhao", department_id="s2")
    tree, dept = DataScope(S.DEPARTMENT_TREE), DataScope(S.DEPARTMENT)
    team = DataScope(S.SELF_AND_SUBORDINATES)
    before, after = OrgIndex(ORG), OrgIndex(moved)
    assert "zhao" in owners(before, "wang", tree)
    assert "zhao" not in owners(after, "wang", tree)
    assert "zhao" not in owners(before, "qian", dept)
    assert "zhao" in owners(after, "qian", dept)
    assert "zhao" in owners(after, "li", tree)
    # supervisor unchanged, so 本人及下属 still follows wang
    assert "zhao" in owners(after, "wang", team)
    # zhao's own 本部门 view moves with him
    assert owners(after, "zhao", dept) == frozenset({"qian", "sun", "zhao"})


def test_named_org_changing_supervisor() -> None:
    moved = replace_member(ORG, "zhao", supervisor_id="qian")
    team = DataScope(S.SELF_AND_SUBORDINATES)
    assert OrgIndex(moved).owners_for("wang", team) == frozenset({"wang", "zheng"})
    assert OrgIndex(moved).owners_for("qian", team) == frozenset({"qian", "sun", "zhao"})
    assert OrgIndex(moved).owners_for("li", team) == OrgIndex(ORG).owners_for("li", team)


def test_named_org_moving_a_department_moves_its_people() -> None:
    units = tuple(OrgUnit("s2", "finance") if u.id == "s2" else u for u in ORG.units)
    moved = attrs.evolve(ORG, version=8, units=units)
    tree = DataScope(S.DEPARTMENT_TREE)
    assert OrgIndex(moved).owners_for("li", tree) == frozenset(
        {"li", "wu", "wang", "zhao", "zheng"}
    )
    assert OrgIndex(moved).owners_for("zhou", tree) == frozenset({"zhou", "qian", "sun"})
