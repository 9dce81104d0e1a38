"""公海 through the facade on memory, SQLite and PostgreSQL: sweep, dry run, warnings, claim,
assign, release, move."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crmkit import SystemActor
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError
from crmkit.workflow.pool import PoolService

from .conftest import Org

DAY0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # the org fixture's clock start (09:00 Beijing)
SWEEPER = SystemActor("test: pool sweep")


def at(month: int, day: int, hour: int = 2) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def pool(org: Org) -> Any:
    return org.crm.pool.create_pool(org.admin, {
        "name": "销售公海", "admin_ids": [org.manager.id], "member_department_ids": [org.sales.id],
        "rules": [{"type": "followup", "days": 30},
                  {"type": "deal", "days_by_level": {"A": 60}, "reclaim_won": False}],
        "daily_claim_limit": 2, "claim_back_days": 7, "warn_days": 3,
    })


@pytest.fixture
def customers(org: Org, pool: Any) -> dict[str, Any]:
    crm = org.crm
    made = {name: crm.customers.create(org.rep, {"name": name, "level": "B"})
            for name in ("甲", "乙", "丙")}
    crm.customers.lock(org.manager, [made["乙"].id])
    return made


class TestSweep:
    def test_dry_run_then_sweep_then_idempotent(self, org: Org, customers: dict[str, Any]
                                                ) -> None:
        crm = org.crm
        org.clock.set(at(12, 1))  # elapsed 29 local days: nothing yet
        assert crm.pool.sweep(SWEEPER, dry_run=True).reclaimed == ()
        crm.followups.add(org.rep, "customer", customers["丙"].id,
                          {"method": "打电话", "content": "还在谈"})
        org.clock.set(at(12, 3))
        preview = crm.pool.sweep(SWEEPER, dry_run=True)
        assert [c.customer_id for c in preview.reclaimed] == [customers["甲"].id]
        assert crm.customers.get(org.rep, customers["甲"].id).pool_id is None, "dry run"
        report = crm.pool.sweep(SWEEPER)
        assert [(c.customer_id, c.rule_type.value) for c in report.reclaimed] == [
            (customers["甲"].id, "followup")]
        assert crm.pool.sweep(SWEEPER).reclaimed == (), "a second sweep changes nothing"
        gone = crm.customers.get(org.manager, customers["甲"].id)
        assert (gone.owner_id, gone.previous_owner_id, gone.pool_id) == (
            None, org.rep.id, report.reclaimed[0].pool_id)
        assert crm.customers.operation_log(org.manager, gone.id)[0].action == "reclaim"
        assert org.notifier.for_user(org.rep.id)[-1].kind == "pool.reclaim"
        assert crm.customers.get(org.rep, gone.id).id == gone.id, "pool members see it"
        with pytest.raises(PermissionDenied) as caught:  # … but only the owner scope edits
            crm.customers.update(org.rep, gone.id, {"remark": "x"})
        assert caught.value.code == "record.read_only"

    def test_locked_customers_are_never_swept(self, org: Org, customers: dict[str, Any]
                                              ) -> None:
        org.clock.set(at(12, 31))
        swept = {c.customer_id for c in org.crm.pool.sweep(SWEEPER).reclaimed}
        assert customers["乙"].id not in swept and customers["甲"].id in swept

    def test_preview_of_a_rule_change(self, org: Org, pool: Any, customers: dict[str, Any]
                                      ) -> None:
        org.clock.set(at(11, 20))
        preview = org.crm.pool.sweep(org.admin, dry_run=True, pool_id=pool.id,
                                     rules=[{"type": "followup", "days": 10}])
        assert len(preview.reclaimed) == 2
        assert org.crm.pool.sweep(SWEEPER).reclaimed == (), "the saved rules still say 30 days"

    def test_dry_run_lists_what_the_sweep_moves_when_the_owner_is_in_two_pools(
            self, org: Org, customers: dict[str, Any]) -> None:
        crm = org.crm
        crm.pool.create_pool(org.admin, {"name": "二号公海", "member_user_ids": [org.rep.id],
                                         "rules": [{"type": "followup", "days": 30}]})
        org.clock.set(at(12, 3))
        preview = crm.pool.sweep(SWEEPER, dry_run=True)
        report = crm.pool.sweep(SWEEPER)
        assert len(report.reclaimed) == 2, "甲 and 丙, each moved once"
        assert preview.reclaimed == report.reclaimed

    def test_warning_once_and_days_until_pool(self, org: Org, customers: dict[str, Any]) -> None:
        crm = org.crm
        org.clock.set(at(11, 28))
        days = crm.pool.days_until_pool(org.rep, [customers["甲"].id, customers["乙"].id])
        assert days == {customers["甲"].id: 5, customers["乙"].id: None}
        assert crm.pool.warn(SWEEPER) == 0
        org.clock.set(at(11, 29))
        assert crm.pool.warn(SWEEPER) == 0
        org.clock.set(at(11, 30))  # 3 days before reclaim
        assert crm.pool.warn(SWEEPER) == 2
        assert crm.pool.warn(SWEEPER) == 0, "warned once, not on every run"
        assert org.notifier.for_user(org.rep.id)[-1].data["count"] == 2

    def test_warning_counts_each_customer_once_across_pools(
            self, org: Org, customers: dict[str, Any]) -> None:
        org.crm.pool.create_pool(org.admin, {"name": "二号公海", "member_user_ids": [org.rep.id],
                                             "rules": [{"type": "followup", "days": 30}],
                                             "warn_days": 3})
        org.clock.set(at(11, 30))
        assert org.crm.pool.warn(SWEEPER) == 2
        note = org.notifier.for_user(org.rep.id)[-1]
        assert note.data["count"] == 2 and len(set(note.data["ids"])) == 2


class TestClaimAndAssign:
    @pytest.fixture
    def pooled(self, org: Org, customers: dict[str, Any]) -> list[str]:
        org.clock.set(at(12, 10))
        return [c.customer_id for c in org.crm.pool.sweep(SWEEPER).reclaimed]

    def test_members_see_and_claim(self, org: Org, pool: Any, pooled: list[str]) -> None:
        crm = org.crm
        assert {c.id for c in crm.pool.customers(org.manager, pool.id).items} == set(pooled)
        [taken] = crm.pool.claim(org.manager, [pooled[0]])
        assert (taken.owner_id, taken.pool_id, taken.received_at) == (
            org.manager.id, None, org.clock.now())
        assert crm.customers.operation_log(org.manager, taken.id)[0].action == "claim"

    def test_a_claim_that_loses_a_race_answers_like_one_that_comes_later(
            self, org: Org, pooled: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
        """Same situation, same answer on every backend: whether another claim committed
        before this one read (serialised, SQLite) or between its read and its write
        (PostgreSQL), the customer is no longer in a pool — NotFound ``record.not_found``."""
        crm = org.crm
        rival = org.user("13900000019", "钱七", org.group, "sales_rep")
        crm.pool.claim(org.manager, [pooled[0]])
        with pytest.raises(NotFound) as later:
            crm.pool.claim(rival, [pooled[0]])
        read_first = PoolService._pooled

        def someone_else_takes_it_meanwhile(self: PoolService, op: Any, ids: list[str]
                                            ) -> list[Any]:
            found = read_first(self, op, ids)
            op.uow.pools.take({c.id: c.version for c in found}, found[0].pool_id,
                              org.manager.id, op.now)
            return found

        monkeypatch.setattr(PoolService, "_pooled", someone_else_takes_it_meanwhile)
        with pytest.raises(NotFound) as raced:
            crm.pool.claim(rival, [pooled[1]])
        assert raced.value.code == later.value.code == "record.not_found"
        assert crm.customers.get(org.admin, pooled[1]).owner_id is None  # rolled back

    def test_claim_back_window(self, org: Org, pooled: list[str]) -> None:
        with pytest.raises(RuleViolation) as caught:
            org.crm.pool.claim(org.rep, [pooled[0]])
        assert caught.value.code == "pool.claim_back"
        org.clock.set(at(12, 18))
        assert org.crm.pool.claim(org.rep, [pooled[0]])[0].owner_id == org.rep.id

    def test_daily_limit_resets_at_local_midnight(self, org: Org, pooled: list[str]) -> None:
        crm = org.crm
        extra = crm.customers.create(org.admin, {"name": "丁"})
        crm.pool.release(org.admin, [extra.id], pool_id=crm.pool.list_pools(org.admin)[0].id)
        crm.pool.claim(org.manager, [pooled[0]])
        crm.pool.claim(org.manager, [pooled[1]])
        with pytest.raises(RuleViolation) as caught:
            crm.pool.claim(org.manager, [extra.id])
        assert caught.value.code == "pool.claim_limit_reached"
        org.clock.set(datetime(2026, 12, 10, 16, 30, tzinfo=UTC))  # 00:30 next day, Beijing
        crm.pool.claim(org.manager, [extra.id])

    def test_daily_limit_counts_the_whole_call_across_pools(self, org: Org, pooled: list[str]
                                                            ) -> None:
        crm = org.crm
        other = crm.pool.create_pool(org.admin, {"name": "二号公海",
                                                 "member_department_ids": [org.sales.id],
                                                 "daily_claim_limit": 2})
        extra = crm.customers.create(org.admin, {"name": "丁"})
        crm.pool.release(org.admin, [extra.id], pool_id=other.id)
        with pytest.raises(RuleViolation) as caught:  # 2 + 1 claims, limit 2 a day
            crm.pool.claim(org.manager, [*pooled, extra.id])
        assert caught.value.code == "pool.claim_limit_reached"
        assert all(crm.customers.get(org.admin, cid).pool_id for cid in [*pooled, extra.id])
        assert len(crm.pool.claim(org.manager, [pooled[0], extra.id])) == 2

    def test_outsiders_and_double_claims(self, org: Org, pooled: list[str]) -> None:
        stranger = org.user("13900000009", "外人", org.finance, "sales_rep")
        with pytest.raises(NotFound) as caught:
            org.crm.pool.claim(stranger, [pooled[0]])
        assert caught.value.code == "record.not_found"
        org.crm.pool.claim(org.manager, [pooled[0]])
        with pytest.raises(NotFound) as caught:  # no longer in a pool
            org.crm.pool.claim(org.manager, [pooled[0]])
        assert caught.value.code == "record.not_found"

    def test_owned_limit_holds_for_claims(self, org: Org, pooled: list[str]) -> None:
        org.crm.customers.set_limits(org.admin, [{"user_id": org.manager.id, "max_owned": 1}])
        with pytest.raises(RuleViolation) as caught:
            org.crm.pool.claim(org.manager, pooled[:2])
        assert caught.value.code == "customer.owned_limit"
        assert all(org.crm.customers.get(org.admin, cid).pool_id for cid in pooled)

    def test_assign_by_admins_only(self, org: Org, pooled: list[str]) -> None:
        crm = org.crm
        with pytest.raises(PermissionDenied) as caught:
            crm.pool.assign(org.rep, [pooled[0]], org.rep.id)  # 销售员 has no assign
        assert caught.value.code == "permission_denied"
        [given] = crm.pool.assign(org.manager, [pooled[0]], org.rep.id)
        assert given.owner_id == org.rep.id
        assert org.notifier.for_user(org.rep.id)[-1].kind == "pool.assign"
        with pytest.raises(ValidationError) as invalid:
            crm.pool.assign(org.manager, [pooled[1]], "ghost")
        assert invalid.value.codes == {"$.to_user_id": "not_found"}

    def test_release_and_move(self, org: Org, pool: Any, customers: dict[str, Any]) -> None:
        crm = org.crm
        with pytest.raises(RuleViolation) as caught:
            crm.pool.release(org.rep, [customers["乙"].id])
        assert caught.value.code == "customer.locked"
        [released] = crm.pool.release(org.rep, [customers["甲"].id])  # as claim and assign: the
        assert released == crm.customers.get(org.manager, customers["甲"].id)  # stored customers
        assert (released.owner_id, released.previous_owner_id) == (None, org.rep.id)
        other = crm.pool.create_pool(org.admin, {"name": "二号公海",
                                                 "admin_ids": [org.manager.id]})
        [moved] = crm.pool.move(org.manager, [released.id], other.id)
        assert moved == crm.customers.get(org.manager, released.id) and moved.pool_id == other.id
        with pytest.raises(RuleViolation) as caught:
            crm.pool.delete_pool(org.admin, other.id)
        assert caught.value.code == "pool.not_empty"


class TestPoolAdmin:
    def test_config_permissions_and_validation(self, org: Org) -> None:
        with pytest.raises(PermissionDenied) as caught:
            org.crm.pool.create_pool(org.rep, {"name": "x"})
        assert caught.value.code == "permission_denied"
        with pytest.raises(ValidationError) as invalid:
            org.crm.pool.create_pool(org.admin, {"name": "x", "admin_ids": ["ghost"],
                                                 "rules": [{"type": "followup"}]})
        assert set(invalid.value.codes) == {"$.admin_ids", "$.rules[0].days"}
        with pytest.raises(ValidationError) as invalid:
            org.crm.pool.create_pool(org.admin, {"name": "x", "rules": [{"type": "sleep",
                                                                         "days": 3}]})
        assert invalid.value.codes == {"$.rules[0].type": "invalid"}

    def test_update_keeps_version(self, org: Org, pool: Any) -> None:
        updated = org.crm.pool.update_pool(org.admin, pool.id, {"warn_days": 5})
        assert (updated.warn_days, updated.version) == (5, 2)
        with pytest.raises(NotFound) as caught:
            org.crm.pool.update_pool(org.admin, "nope", {})
        assert caught.value.code == "pool.not_found"
