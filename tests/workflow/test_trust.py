"""Issue 11 (Trust), items 1–5 and 8 through the facade on memory, SQLite and PostgreSQL: every
call has an actor; the system actor runs background work only; logs, timelines, attachments and
teams check the module permission and the record access; super administrators reach every pool.
"""

from __future__ import annotations

from typing import Any

import pytest

from crmkit import SystemActor
from crmkit.errors import PermissionDenied

from .conftest import Org

NIGHTLY = SystemActor("nightly pool jobs")


@pytest.fixture
def acme(org: Org) -> Any:
    return org.crm.customers.create(org.rep, {"name": "艾克米"})


class TestEveryCallHasAnActor:
    """Item 3: no facade method accepts a missing actor, and no string becomes the system."""

    def test_a_missing_actor_is_refused_everywhere_it_used_to_act_as_the_system(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        attachment = crm.attachments.add(org.rep, "customer", acme.id, "a.txt", b"x",
                                         "text/plain")
        calls = [
            lambda: crm.attachments.download(None, attachment.id),  # type: ignore[arg-type]
            lambda: crm.attachments.remove(None, attachment.id),  # type: ignore[arg-type]
            lambda: crm.followups.timeline(None, "customer", acme.id),  # type: ignore[arg-type]
            lambda: crm.duplicates.lookup(None, name="艾克米"),  # type: ignore[arg-type]
            lambda: crm.customers.get(None, acme.id),  # type: ignore[arg-type]
            lambda: crm.pool.sweep(None),  # type: ignore[arg-type]
            lambda: crm.pool.warn(None),  # type: ignore[arg-type]
            lambda: crm.customers.get(42, acme.id),  # type: ignore[arg-type]
        ]
        for call in calls:
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.code == "auth.no_actor"
        assert crm.attachments.list(org.rep, "customer", acme.id) == [attachment]

    @pytest.mark.parametrize("name", ["system", "", "None", "SystemActor"])
    def test_no_user_id_string_becomes_the_system(self, org: Org, acme: Any, name: str) -> None:
        with pytest.raises(PermissionDenied) as refused:
            org.crm.customers.get(name, acme.id)
        assert refused.value.code == "auth.inactive_user"

    def test_the_system_actor_runs_background_work_only(self, org: Org, acme: Any) -> None:
        crm = org.crm
        for call in (lambda: crm.customers.get(NIGHTLY, acme.id),  # type: ignore[arg-type]
                     lambda: crm.customers.create(NIGHTLY, {"name": "x"}),  # type: ignore
                     lambda: crm.org.list_users(NIGHTLY)):  # type: ignore[arg-type]
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.code == "auth.system_actor"
        assert crm.pool.sweep(NIGHTLY).reclaimed == ()
        assert crm.pool.warn(NIGHTLY) == 0

    def test_background_work_as_a_user_needs_the_pool_edit_permission(self, org: Org) -> None:
        for call in (lambda: org.crm.pool.sweep(org.rep, dry_run=True),
                     lambda: org.crm.pool.warn(org.rep)):
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.details == {"module": "pool", "operation": "edit"}
        assert org.crm.pool.sweep(org.admin, dry_run=True).reclaimed == ()

    def test_the_sweep_logs_the_system_as_no_user_and_an_admin_as_themselves(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        crm.pool.create_pool(org.admin, {"name": "公海", "member_department_ids": [org.sales.id],
                                         "rules": [{"type": "followup", "days": 30}]})
        other = crm.customers.create(org.rep, {"name": "贝塔"})
        org.clock.advance(days=40)
        crm.pool.sweep(NIGHTLY)
        assert crm.customers.operation_log(org.admin, acme.id)[0].actor_id is None
        crm.pool.claim(org.rep, [acme.id, other.id])
        org.clock.advance(days=40)
        crm.pool.sweep(org.admin)
        entry = crm.customers.operation_log(org.admin, acme.id)[0]
        assert (entry.action, entry.actor_id) == ("reclaim", org.admin.id)

    def test_a_system_actor_needs_a_purpose(self) -> None:
        with pytest.raises(ValueError, match="purpose"):
            SystemActor("  ")
