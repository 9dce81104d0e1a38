"""The shipped hypothesis strategies keep their validity promises (crmkit.testing.strategies)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.entities import SUPER_ADMIN_CODE, Module, OrgSnapshot, ScopeLevel
from crmkit.testing.strategies import data_scopes, org_snapshots, roles

from ._oracle import chain_up


@given(org_snapshots(max_departments=10, max_users=15))
def test_snapshots_are_valid_trees_and_forests(snapshot: OrgSnapshot) -> None:
    unit_ids = [u.id for u in snapshot.units]
    member_ids = [m.id for m in snapshot.members]
    assert len(set(unit_ids)) == len(unit_ids) >= 1
    assert len(set(member_ids)) == len(member_ids) <= 15
    parent = {u.id: u.parent_id for u in snapshot.units}
    tops = [u for u, p in parent.items() if p is None]
    assert len(tops) == 1
    limit = len(parent) + 1
    for unit in unit_ids:
        chain = chain_up(unit, parent.get, limit)
        assert len(chain) < limit and chain[-1] == tops[0]  # reaches the top, no loop
    supervisor = {m.id: m.supervisor_id for m in snapshot.members}
    for member in snapshot.members:
        assert member.department_id in parent
        assert member.supervisor_id is None or member.supervisor_id in supervisor
        assert member.supervisor_id != member.id
        assert len(chain_up(member.id, supervisor.get, len(supervisor) + 1)) <= len(supervisor)


@given(st.data())
def test_data_scopes_only_name_snapshot_departments_and_users(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=5, max_users=6))
    scope = data.draw(data_scopes(snapshot))
    if scope.level is ScopeLevel.CUSTOM:
        assert {d.department_id for d in scope.departments} <= {u.id for u in snapshot.units}
        assert scope.users <= {m.id for m in snapshot.members}
    else:
        assert not scope.departments and not scope.users


@given(st.data())
def test_roles_grant_scopes_only_on_the_given_modules(data: st.DataObject) -> None:
    snapshot = data.draw(org_snapshots(max_departments=4, max_users=4))
    role = data.draw(roles(snapshot, modules=[Module.LEADS, Module.CUSTOMERS]))
    if role.code == SUPER_ADMIN_CODE:
        assert role.is_super_admin and not role.scopes
    else:
        assert set(role.scopes) <= {Module.LEADS, Module.CUSTOMERS}
        assert set(role.permissions) == set(role.scopes)


def test_every_level_and_the_super_admin_are_generated() -> None:
    seen_levels: set[ScopeLevel] = set()
    seen_admin: list[bool] = []

    @settings(max_examples=60, derandomize=True, database=None)  # deterministic: no flakes
    @given(st.data())
    def collect(data: st.DataObject) -> None:
        snapshot = data.draw(org_snapshots(max_departments=3, max_users=3))
        seen_levels.add(data.draw(data_scopes(snapshot)).level)
        seen_admin.append(data.draw(roles(snapshot)).is_super_admin)

    collect()
    assert seen_levels == set(ScopeLevel)
    assert any(seen_admin) and not all(seen_admin)


@pytest.mark.parametrize(
    "make",
    [
        lambda: org_snapshots(max_departments=0),
        lambda: org_snapshots(min_departments=3, max_departments=2),
        lambda: org_snapshots(min_users=2, max_users=1),
    ],
)
def test_bad_bounds_are_refused_eagerly(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()
