"""Stateful hypothesis test of the pool workflow (memory): whatever members, admins, owners and
the sweep do, every customer has exactly one owner or one pool, locked customers never enter a
pool by sweep, and the daily claim and owned limits hold. Every call is predicted from the
state read before it: a refusal must carry the code of a reason that holds (owned limit, daily
limit, claim-back window, not in the pool, locked, read-only), and a call with no such reason
must succeed — a service refusing too much fails as surely as one refusing too little."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from crmkit import CRM, SystemActor
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.errors import CrmError

SWEEPER = SystemActor("stateful test: pool sweep")

DAILY, OWNED, CLAIM_BACK_DAYS = 2, 4, 2


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
        self.crm = CRM(ids=SequentialIds("s"), clock=self.clock)
        crm = self.crm
        self.boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
        top = crm.org.list_departments(self.boss)[0]
        roles = {r.code: r.id for r in crm.org.list_roles(self.boss)}
        self.users = [crm.org.add_user(self.boss, {
            "mobile": f"1390000000{i}", "name": f"u{i}", "department_id": top.id,
            "role_ids": [roles["sales_manager"]]}) for i in range(3)]
        self.pool = crm.pool.create_pool(self.boss, {
            "name": "公海", "admin_ids": [self.users[0].id], "member_department_ids": [top.id],
            "rules": [{"type": "followup", "days": 5}], "daily_claim_limit": DAILY,
            "claim_back_days": CLAIM_BACK_DAYS})
        crm.customers.set_limits(self.boss, [{"department_id": top.id, "max_owned": OWNED}])
        self.ids = [crm.customers.create(self.users[i % 3], {"name": f"seed{i}"}).id
                    for i in range(6)]
        self.claims: Counter[tuple[str, Any]] = Counter()
        """Successful claims per (user, local day), counted by this test."""

    def _local_day(self) -> Any:
        return (self.clock.now() + timedelta(hours=8)).date()

    def _customers(self) -> dict[str, Any]:
        return {cid: self.crm.customers.get(self.boss, cid) for cid in self.ids}

    def _owned(self, user_index: int) -> int:
        me = self.users[user_index].id
        return sum(c.owner_id == me for c in self._customers().values())

    def _expect(self, call: Callable[[], Any], reasons: dict[str, bool]) -> bool:
        """Run ``call``: refused only with the code of a reason that holds, else it succeeds."""
        legitimate = {code for code, holds in reasons.items() if holds}
        try:
            call()
        except CrmError as refused:
            assert refused.code in legitimate, f"refused with {refused.code}, not {legitimate}"
            event(f"refused: {refused.code}")
            return False
        assert not legitimate, f"allowed although {sorted(legitimate)}"
        return True

    @rule(who=st.integers(0, 2))
    def create(self, who: int) -> None:
        made: list[str] = []
        if self._expect(lambda: made.append(self.crm.customers.create(
                self.users[who], {"name": f"c{len(self.ids)}"}).id),
                {"customer.owned_limit": self._owned(who) >= OWNED}):
            self.ids.extend(made)

    @rule(hours=st.integers(1, 240))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @precondition(lambda self: self.ids)
    @rule(who=st.integers(0, 2), pick=st.data())
    def follow_up_or_lock(self, who: int, pick: Any) -> None:
        cid = pick.draw(st.sampled_from(self.ids))
        pooled = self._customers()[cid].pool_id is not None
        if pick.draw(st.booleans()):  # members may follow up pool customers too
            self._expect(lambda: self.crm.followups.add(
                self.users[who], "customer", cid, {"method": "打电话", "content": "跟进"}), {})
        else:
            self._expect(lambda: self.crm.customers.lock(self.users[who], [cid]),
                         {"record.read_only": pooled})

    @rule()
    def sweep(self) -> None:
        event(f"sweep moved {min(len(self.crm.pool.sweep(SWEEPER).reclaimed), 2)}+")

    @precondition(lambda self: self.ids)
    @rule(who=st.integers(0, 2), pick=st.data())
    def claim(self, who: int, pick: Any) -> None:
        state = self._customers()
        pooled = [cid for cid, c in state.items() if c.pool_id is not None] or self.ids
        chosen = pick.draw(st.lists(st.sampled_from(pooled), min_size=1, max_size=3,
                                    unique=True))
        me, today = self.users[who].id, self._local_day()
        claimed_back = [c for c in (state[cid] for cid in chosen)
                        if c.previous_owner_id == me and c.pooled_at is not None
                        and (today - (c.pooled_at + timedelta(hours=8)).date()).days
                        <= CLAIM_BACK_DAYS]
        if self._expect(lambda: self.crm.pool.claim(self.users[who], chosen), {
                "record.not_found": any(state[cid].pool_id is None for cid in chosen),
                "pool.claim_limit_reached": self.claims[(me, today)] + len(chosen) > DAILY,
                "customer.owned_limit": self._owned(who) + len(chosen) > OWNED,
                "pool.claim_back": bool(claimed_back)}):
            self.claims[(me, today)] += len(chosen)
            event("claimed")

    @precondition(lambda self: self.ids)
    @rule(who=st.integers(0, 2), pick=st.data())
    def release_or_assign(self, who: int, pick: Any) -> None:
        cid = pick.draw(st.sampled_from(self.ids))
        customer = self._customers()[cid]
        if pick.draw(st.booleans()):
            self._expect(lambda: self.crm.pool.release(self.users[who], [cid]), {
                "record.read_only": customer.pool_id is not None,
                "customer.locked": customer.locked})
        else:
            self._expect(lambda: self.crm.pool.assign(self.users[0], [cid], self.users[who].id),
                         {"record.not_found": customer.pool_id is None,
                          "customer.owned_limit": self._owned(who) + 1 > OWNED})

    @invariant()
    def owner_xor_pool_and_limits(self) -> None:
        owned: Counter[str | None] = Counter()
        for cid in self.ids:
            customer = self.crm.customers.get(self.boss, cid)
            assert (customer.owner_id is None) != (customer.pool_id is None)
            owned[customer.owner_id] += 1
        assert all(count <= OWNED for user, count in owned.items() if user is not None)
        assert all(count <= DAILY for count in self.claims.values())

    @invariant()
    def locked_customers_keep_their_owner(self) -> None:
        for cid in self.ids:
            customer = self.crm.customers.get(self.boss, cid)
            if customer.locked:
                assert customer.owner_id is not None


TestPoolMachine = PoolMachine.TestCase
TestPoolMachine.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
