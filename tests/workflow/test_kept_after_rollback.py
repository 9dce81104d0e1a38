"""What crmkit keeps per org version (the acting user's roles, field sets, default scenes, the
org index) is kept only once the transaction that read it has committed: a host transaction
that changed a role through crmkit and then rolled back leaves nothing behind, even when the
org version it used is later reached by a real change (issue 14's known limitation, closed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

from crmkit import build_crm
from crmkit.entities import Module, Operation
from crmkit.errors import PermissionDenied
from crmkit.testing import sample_org


class HostError(Exception):
    pass


def test_a_rolled_back_role_change_is_not_kept_under_its_version(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    crm = build_crm(engine)
    org = sample_org(crm)
    rep_role = org.roles["sales_rep"]
    role = next(r for r in crm.org.list_roles(org.admin) if r.id == rep_role)
    without_create = {m: sorted(ops - {Operation.CREATE}) if m == Module.LEADS else sorted(ops)
                      for m, ops in role.permissions.items()}
    with pytest.raises(HostError), engine.begin() as conn, crm.join(conn):
        crm.org.update_role(org.admin, rep_role, {"permissions": without_create})
        with pytest.raises(PermissionDenied):  # inside the host transaction: the new role
            crm.leads.create(org.rep, {"name": "甲公司"})
        raise HostError
    # The host then changes the org itself and bumps the version, as docs/embedding.md says:
    # the version the rolled-back transaction used is reached again, by committed data.
    with engine.begin() as conn:
        conn.execute(text("UPDATE crm_users SET position = 'x' WHERE id = :id"),
                     {"id": org.manager.id})
        conn.execute(text("UPDATE crm_org_meta SET value = value + 1 WHERE id = 1"))
    assert crm.leads.create(org.rep, {"name": "乙公司"}).name == "乙公司"
    engine.dispose()


def test_a_rolled_back_move_is_not_kept_in_the_org_index(tmp_path: Path) -> None:
    """The org index (departments, supervisors) behind every scope follows the same rule."""
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    crm = build_crm(engine)
    org = sample_org(crm)
    lead = crm.leads.create(org.rep, {"name": "甲公司"})
    with pytest.raises(HostError), engine.begin() as conn, crm.join(conn):
        crm.org.update_user(org.admin, org.rep.id, {"department_id": org.finance.id})
        assert lead.id not in [r.id for r in crm.leads.list(org.manager).items]
        raise HostError
    with engine.begin() as conn:
        conn.execute(text("UPDATE crm_org_meta SET value = value + 1 WHERE id = 1"))
    assert lead.id in [r.id for r in crm.leads.list(org.manager).items]
    engine.dispose()


def test_settings_are_read_once_per_org_version_and_changes_reach_other_processes(
        tmp_path: Path) -> None:
    """A setting (here the follow-up methods) is kept per org version: reading it again sends
    no statement for it; a change — made by another CRM on the same database, as another
    process would — moves the version, so the next operation reads it afresh; a change rolled
    back with its host transaction leaves the kept value alone."""
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    crm, other = build_crm(engine), build_crm(engine)
    org = sample_org(crm)
    assert crm.followups.methods(org.rep)[:1] == ["打电话"]
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: sent.append(statement))
    crm.followups.methods(org.rep)
    assert not [s for s in sent if "crm_settings" in s], "kept: no read of the settings"
    other.followups.set_methods(org.admin, ["上门", "微信"])
    assert crm.followups.methods(org.rep) == ["上门", "微信"]
    with pytest.raises(HostError), engine.begin() as conn, crm.join(conn):
        crm.followups.set_methods(org.admin, ["电话"])
        assert crm.followups.methods(org.rep) == ["电话"]
        raise HostError
    assert other.followups.methods(org.rep) == ["上门", "微信"]
    assert crm.followups.methods(org.rep) == ["上门", "微信"]
    engine.dispose()
