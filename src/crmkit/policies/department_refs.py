"""A department is deleted only when nothing refers to it any more: no role's custom data scope,
no pool's member departments, no stage group's visibility, no approval flow's department
condition, no target (业绩目标). :func:`department_references` lists what still does (the
refusal's details), so a deletion never leaves dangling ids that later block unrelated edits."""

from __future__ import annotations

from collections.abc import Iterable

from crmkit.entities import Role
from crmkit.entities.approvals import ApprovalFlow, ConditionNode, ConditionOp
from crmkit.entities.pool import Pool
from crmkit.entities.sales import StageGroup
from crmkit.entities.statistics import Target


def department_references(
    department_id: str,
    *,
    roles: Iterable[Role] = (),
    pools: Iterable[Pool] = (),
    stage_groups: Iterable[StageGroup] = (),
    flows: Iterable[ApprovalFlow] = (),
    targets: Iterable[Target] = (),
) -> list[dict[str, str]]:
    """What refers to ``department_id``: one ``{"kind", "id", "name", "field"}`` per holder and
    place (``field`` says where: ``scopes.<module>``, ``member_department_ids``,
    ``department_ids``, ``nodes.<node id>``), sorted by kind, name and id."""
    found: list[dict[str, str]] = []

    def add(kind: str, holder_id: str, name: str, field: str) -> None:
        found.append({"kind": kind, "id": holder_id, "name": name, "field": field})

    for role in roles:
        for module, scope in sorted(role.scopes.items()):
            if any(e.department_id == department_id for e in scope.departments):
                add("role", role.id, role.name, f"scopes.{module.value}")
    for pool in pools:
        if department_id in pool.member_department_ids:
            add("pool", pool.id, pool.name, "member_department_ids")
    for group in stage_groups:
        if department_id in group.department_ids:
            add("stage_group", group.id, group.name, "department_ids")
    for flow in flows:
        for node in flow.nodes:
            if isinstance(node, ConditionNode) and any(
                    c.op is ConditionOp.DEPARTMENT and department_id in c.ids
                    for branch in node.branches for c in branch.conditions):
                add("approval_flow", flow.id, flow.name, f"nodes.{node.id}")
    for target in targets:
        if target.department_id == department_id:
            add("target", target.id, f"{target.year} {target.measure.value}", "department_id")
    return sorted(found, key=lambda r: (r["kind"], r["name"], r["id"], r["field"]))
