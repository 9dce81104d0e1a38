"""Hypothesis: scopes never leak records; every mutation leaves exactly one right log entry."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import CRM
from crmkit.adapters.ids import SequentialIds
from crmkit.entities import Module
from crmkit.entities.leads import Lead
from crmkit.errors import NotFound, PermissionDenied

LEVELS = ["self", "self_and_subordinates", "department", "department_tree", "all"]


def build(levels: list[str], supervisors: list[int | None], depts: list[int]) -> tuple[Any, ...]:
    """An org: 办公室 → D1 → D2, users with given roles, supervisors and departments."""
    crm = CRM(ids=SequentialIds("p"))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="admin")
    top = crm.org.list_departments(admin)[0].id
    d1 = crm.org.add_department(admin, {"name": "D1", "parent_id": top}).id
    d2 = crm.org.add_department(admin, {"name": "D2", "parent_id": d1}).id
    dept_ids = [top, d1, d2]
    role_ids = {
        level: crm.org.add_role(admin, {
            "name": level,
            "permissions": {"leads": ["view", "create", "edit", "team_manage"]},
            "scopes": {"leads": {"level": level}},
        }).id
        for level in LEVELS
    }
    users: list[Any] = []
    for i, level in enumerate(levels):
        boss = supervisors[i]
        users.append(crm.org.add_user(admin, {
            "mobile": f"139000000{i:02d}", "name": f"u{i}", "department_id": dept_ids[depts[i]],
            "role_ids": [role_ids[level]],
            "supervisor_id": users[boss].id if boss is not None and boss < i else None,
        }))
    return crm, admin, users


org_shapes = st.integers(min_value=2, max_value=5).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from(LEVELS), min_size=n, max_size=n),
    st.lists(st.one_of(st.none(), st.integers(0, n - 1)), min_size=n, max_size=n),
    st.lists(st.integers(0, 2), min_size=n, max_size=n),
))


@settings(max_examples=25, deadline=None)
@given(shape=org_shapes, data=st.data())
def test_a_user_never_sees_or_edits_outside_scope_or_team(shape: Any, data: Any) -> None:
    crm, admin, users = build(*shape)
    leads: list[Lead] = []
    for i in data.draw(st.lists(st.integers(0, len(users) - 1), min_size=1, max_size=6)):
        leads.append(crm.leads.create(users[i], {"name": f"lead-{len(leads)}"}))
    team: dict[tuple[str, str], str] = {}
    for lead in leads:
        for j in data.draw(st.lists(st.integers(0, len(users) - 1), max_size=2, unique=True)):
            member = users[j]
            if member.id != lead.owner_id:
                access = data.draw(st.sampled_from(["read", "write"]))
                crm.leads.add_team_member(admin, lead.id, member.id, access)
                team[(lead.id, member.id)] = access
    for viewer in users:
        scope = crm.org.visible_scope(viewer, Module.LEADS)
        owners_ok = {le.id for le in leads if scope.all_records or le.owner_id in scope.owner_ids}
        expected = owners_ok | {lid for (lid, uid) in team if uid == viewer.id}
        listed = {le.id for le in crm.leads.list(viewer, {"limit": 500}).items}
        assert listed == expected
        for lead in leads:
            if lead.id not in expected:
                try:
                    crm.leads.get(viewer, lead.id)
                    raise AssertionError("out-of-scope record was readable")
                except NotFound:
                    pass
            may_edit = lead.id in owners_ok or team.get((lead.id, viewer.id)) == "write"
            try:
                crm.leads.update(viewer, lead.id, {"remark": f"by {viewer.name}"})
                assert may_edit, "a read-only or out-of-scope user edited"
            except (NotFound, PermissionDenied):
                assert not may_edit


values = st.fixed_dictionaries({}, optional={
    "level": st.sampled_from(["A", "B", "C", None]),
    "remark": st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=5),
    "address": st.sampled_from(["北京", "上海", None]),
    "custom": st.fixed_dictionaries({}, optional={"score": st.integers(-5, 5) | st.none()}),
})


@settings(max_examples=40, deadline=None)
@given(updates=st.lists(values, min_size=1, max_size=6))
def test_every_mutation_logs_exactly_its_diff(updates: list[dict[str, Any]]) -> None:
    crm = CRM(ids=SequentialIds("q"))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="admin")
    crm.fields.define(admin, "lead", {"key": "score", "label_zh": "分", "label_en": "Score",
                                      "type": "integer"})
    lead = crm.leads.create(admin, {"name": "x"})
    for change in updates:
        before = crm.leads.get(admin, lead.id)
        count = len(crm.leads.operation_log(admin, lead.id))
        after = crm.leads.update(admin, lead.id, change)
        log = crm.leads.operation_log(admin, lead.id)
        assert len(log) == count + 1
        expected = {
            k: (getattr(before, k), getattr(after, k))
            for k in ("level", "remark", "address") if getattr(before, k) != getattr(after, k)
        }
        if before.custom.get("score") != after.custom.get("score"):
            expected["custom.score"] = (before.custom.get("score"), after.custom.get("score"))
        assert {c.field: (c.old, c.new) for c in log[0].changes} == expected
