"""The statistics storage contract (:mod:`crmkit.ports.statistics`): for random records, owners,
periods and groupings, ``uow.statistics`` answers exactly what the reference interpreter
(:func:`crmkit.policies.statistics.tally`) and a naive oracle written from the rules answer.

Times are drawn on the edges that matter — local midnights around month, quarter and year
ends and Monday week starts, ± 1 µs and ± hours — so a bound compared the wrong way, a UTC
day taken for a local one or a float sum shows up. Subclass with ``make_storage`` (empty
storage, schema created)::

    class TestMyStatistics(StatisticsContract):
        def make_storage(self):
            return MyStorage(...)
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import EFFECTIVE, Contract, Payment, PaymentPlan
from crmkit.entities.leads import Lead
from crmkit.entities.records import FollowUp
from crmkit.entities.sales import Contact, Customer, Opportunity, OpportunityStatus, ProductLine
from crmkit.entities.statistics import (
    ATTRIBUTED,
    GROUPINGS,
    Bucket,
    Granularity,
    GroupBy,
    Measure,
    PeriodKind,
    Tally,
    TallyRow,
)
from crmkit.policies.periods import (
    bucket,
    buckets,
    forgotten_buckets,
    local_midnight,
    period,
    window,
    with_previous,
)
from crmkit.policies.statistics import (
    MEASURE_KIND,
    plan_states,
    sold_lines,
    sort_rows,
    tally,
    tally_ids,
)
from crmkit.ports import Storage, UnitOfWork
from crmkit.testing.storage import StorageSuite

__all__ = ["EDGE_DAYS", "StatisticsContract", "naive_tally", "statistics_records"]

TZ = ZoneInfo("Asia/Shanghai")
OWNERS = ("u1", "u2", "u3")
EDGE_DAYS = (date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 1), date(2026, 6, 30),
             date(2026, 11, 30), date(2026, 12, 6), date(2026, 12, 7), date(2026, 12, 31),
             date(2027, 1, 1), date(2024, 2, 29))
"""Days on the edges of months, quarters, years and weeks (30 Nov and 7 Dec 2026 are Mondays,
6 Dec a Sunday), and a leap day."""

_days = st.sampled_from(EDGE_DAYS).flatmap(
    lambda day: st.integers(-2, 2).map(lambda shift: day + timedelta(days=shift)))
_offsets = st.sampled_from([timedelta(0), timedelta(microseconds=1),
                            -timedelta(microseconds=1), timedelta(hours=8), -timedelta(hours=8),
                            timedelta(hours=23, minutes=59), timedelta(hours=16)])
_amounts = st.integers(0, 10**13).map(lambda cents: Decimal(cents).scaleb(-2))
_owners = st.sampled_from(OWNERS)
CAMPAIGNS = ("a1", "a2", "a3")
_campaigns = st.none() | st.sampled_from(CAMPAIGNS)
_customer_ids = st.sampled_from([f"c{n:04d}" for n in range(12)])
"""Customers a record belongs to: mostly drawn ones (up to ten), some missing."""
_effective = st.sampled_from([ApprovalStatus.APPROVED, ApprovalStatus.NOT_REQUIRED,
                              ApprovalStatus.PENDING, ApprovalStatus.REJECTED,
                              ApprovalStatus.DRAFT, ApprovalStatus.VOID])


_labels = st.none() | st.sampled_from(["A", "B", "其他"])
_addresses = st.none() | st.sampled_from(["广东省深圳市", "广东", "北京市海淀区", "内蒙古呼和浩特",
                                          "深圳市", "黑龙江", "黑", "", " 上海"])
_quantities = st.integers(1, 10**8).map(lambda q: Decimal(q).scaleb(-4))


def _customer(n: int, owner: str | None, created: datetime, received: datetime | None,
              followed: datetime | None, due: datetime | None,
              labels: tuple[str | None, str | None, str | None], address: str | None,
              campaign: str | None) -> Customer:
    return Customer(f"c{n:04d}", f"客户{n}", owner, None, created, created,
                    received_at=received, last_followup_at=followed, next_contact_at=due,
                    pool_id=None if owner else "p1", source=labels[0], level=labels[1],
                    industry=labels[2], address=address, campaign_id=campaign)


def _lead(n: int, owner: str, created: datetime, converted: bool, converted_at: datetime | None,
          campaign: str | None) -> Lead:
    """A lead; a converted one mostly knows when (imported history may not)."""
    return Lead(f"l{n:04d}", "线索", owner, None, created, created, converted=converted,
                converted_at=converted_at if converted else None, campaign_id=campaign)


def _opportunity(n: int, owner: str, created: datetime, amount: Decimal, group: str,
                 stage: str | None, status: OpportunityStatus, customer: str) -> Opportunity:
    return Opportunity(f"o{n:04d}", f"商机{n}", customer, owner, None, created, created, group,
                       stage_id=stage, status=status, amount=amount)


def _record_strategies(days: st.SearchStrategy[date]) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy per kind, its times on ``days`` (local midnight ± µs or hours)."""
    at = st.builds(lambda day, offset: (local_midnight(day, TZ) + offset).astimezone(UTC),
                   days, _offsets)
    return {
        "customer": st.builds(_customer, st.just(0), st.none() | _owners, at, st.none() | at,
                              st.none() | at, st.none() | at,
                              st.tuples(_labels, _labels, _labels), _addresses, _campaigns),
        "lead": st.builds(_lead, st.just(0), _owners, at, st.booleans(), st.none() | at,
                          _campaigns),
        "contact": st.builds(lambda n, owner, t, customer: Contact(
                                 f"p{n:04d}", "联系人", customer, owner, None, t, t),
                             st.just(0), _owners, at, _customer_ids),
        "opportunity": st.builds(_opportunity, st.just(0), _owners, at, _amounts,
                                 st.sampled_from(["g1", "g2"]),
                                 st.none() | st.sampled_from(["s1", "s2"]),
                                 st.sampled_from(list(OpportunityStatus)), _customer_ids),
        "contract": st.builds(
            lambda n, owner, t, day, amount, status, lines, customer: Contract(
                f"k{n:04d}", "合同", customer, owner, None, t, t, order_date=day,
                amount=amount, approval_status=status, lines=tuple(lines)),
            st.just(0), _owners, at, st.none() | days, _amounts, _effective,
            st.lists(st.builds(lambda product, quantity, subtotal: ProductLine(
                product, "产品", subtotal, quantity, subtotal=subtotal),
                st.sampled_from(["d1", "d2", "d3"]), _quantities, _amounts), max_size=3),
            _customer_ids),
        "payment": st.builds(
            lambda n, owner, t, day, amount, status, plan, customer: Payment(
                f"m{n:04d}", "k0000", owner, None, t, t, paid_on=day, amount=amount,
                approval_status=status, plan_id=plan, customer_id=customer),
            st.just(0), _owners, at, days, _amounts, _effective,
            st.none() | st.sampled_from(["n0000", "n0001", "n0002"]), _customer_ids),
        "followup": st.builds(
            lambda n, author, t, method: FollowUp(f"f{n:04d}", "customer", "c0", author, method,
                                                  "聊过", t, t),
            st.just(0), _owners, at, st.sampled_from(["打电话", "见面拜访", "活动"])),
        "payment_plan": st.builds(
            lambda n, contract, day, amount, voided: PaymentPlan(
                f"n{n:04d}", f"k{contract:04d}", "c0", 1, amount, day, None,
                datetime(2026, 1, 1, tzinfo=UTC), voided=voided),
            st.just(0), st.integers(0, 10), days, _amounts, st.booleans()),
    }


_PREFIX = {"customer": "c", "contact": "p", "opportunity": "o", "contract": "k",
           "payment": "m", "followup": "f", "lead": "l", "payment_plan": "n"}


def _edges(specs: Iterable[Tally]) -> st.SearchStrategy[date]:
    """Days on the specs' bucket bounds (± 1 day) or anywhere near the edge days."""
    bounds = sorted({d for spec in specs for b in spec.buckets
                     for d in (b.first_day, b.end_day) if d is not None})
    near = st.sampled_from(bounds).flatmap(
        lambda day: st.sampled_from([day, day - timedelta(days=1), day + timedelta(days=1)]))
    return st.one_of(near, near, near, _days)


@st.composite
def _records(draw: st.DrawFn, days: st.SearchStrategy[date]) -> dict[str, list[Any]]:
    """1 to 10 records of each kind, numbered so ids are unique."""
    found: dict[str, list[Any]] = {}
    for kind, strategy in _record_strategies(days).items():
        drawn = draw(st.lists(strategy, min_size=1, max_size=10))
        found[kind] = [attrs.evolve(r, id=f"{_PREFIX[kind]}{i:04d}") for i, r in enumerate(drawn)]
    return found


def statistics_records(owners: tuple[str, str, str]) -> st.SearchStrategy[dict[str, list[Any]]]:
    """Records of every kind the statistics read (by kind: ``customer``, ``lead``, …,
    ``followup``, ``payment_plan``), on the edge days, owned by (written by) ``owners``."""
    rename = dict(zip(OWNERS, owners, strict=True))

    def owned(found: dict[str, list[Any]]) -> dict[str, list[Any]]:
        moved: dict[str, list[Any]] = {}
        for kind, records in found.items():
            field = "author_id" if kind == "followup" else "owner_id"  # plans have no owner
            moved[kind] = [attrs.evolve(r, **{field: rename[getattr(r, field)]})
                           if getattr(r, field, None) is not None else r for r in records]
        return moved

    return _records(_days).map(owned)


@st.composite
def tallies(draw: st.DrawFn) -> Tally:
    """A random tally: any measure, owners, period shape and grouping."""
    measure = draw(st.sampled_from(list(Measure)))
    today = draw(_days)
    kind = draw(st.sampled_from(list(PeriodKind)))
    first = draw(_days)
    span = period(kind, today, first, first + timedelta(days=draw(st.integers(0, 40))))
    shape = draw(st.sampled_from(["window", "previous", "trend", "forgotten"]))
    cut: tuple[Bucket, ...]
    if shape == "window":
        cut = (window(span, TZ),)
    elif shape == "previous":
        cut = with_previous(span, TZ)
    elif shape == "trend":
        cut = buckets(span, draw(st.sampled_from(list(Granularity))), TZ)
    else:
        cut = forgotten_buckets(today, tuple(draw(st.lists(st.integers(0, 200), min_size=1,
                                                           max_size=5, unique=True))), TZ)
    owners = draw(st.none() | st.lists(st.sampled_from(OWNERS), max_size=3).map(frozenset))
    groupings = sorted(GROUPINGS[measure])
    by, then = draw(st.sampled_from(groupings)), draw(st.sampled_from(groupings))
    group = draw(st.none() | st.sampled_from(["g1", "g2"])) if (
        measure is Measure.OPPORTUNITIES) else None
    as_of = draw(_days) if measure is Measure.OVERDUE else None
    campaigns = draw(st.none() | st.lists(st.sampled_from(CAMPAIGNS), max_size=3).map(
        frozenset)) if measure in ATTRIBUTED else None
    return Tally(measure, owners, cut, by, group, then, as_of, campaigns)


# -- the naive oracle ---------------------------------------------------------------------------


def _local(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def _naive_fact(measure: Measure, r: Any) -> tuple[str | None, date | None, Decimal, Any]:
    """(owner, local day, amount, stage key) straight from the rules of :class:`Measure`."""
    zero = Decimal("0.00")
    if measure is Measure.LEADS:
        return r.owner_id, _local(r.created_at), zero, None
    if measure is Measure.CONVERTED_LEADS:
        moment = r.converted_at if r.converted else None
        return r.owner_id, None if moment is None else _local(moment), zero, None
    if measure is Measure.CUSTOMERS or measure is Measure.CONTACTS:
        return r.owner_id, _local(r.created_at), zero, None
    if measure is Measure.OPPORTUNITIES:
        going = r.status is OpportunityStatus.IN_PROGRESS
        return r.owner_id, _local(r.created_at), r.amount, r.stage_id if going else r.status.value
    if measure is Measure.CONTRACTS:
        day = r.order_date if r.order_date is not None else _local(r.created_at)
        return (r.owner_id if r.approval_status in EFFECTIVE else None), day, r.amount, None
    if measure is Measure.PAYMENTS:
        return (r.owner_id if r.approval_status in EFFECTIVE else None), r.paid_on, r.amount, None
    if measure is Measure.FOLLOWUPS:
        return r.author_id, _local(r.at), zero, None
    if measure is Measure.DUE:
        return r.owner_id, None if r.next_contact_at is None else _local(r.next_contact_at), \
            zero, None
    bases = [r.received_at or r.created_at]
    if r.last_followup_at is not None:
        bases.append(r.last_followup_at)
    return r.owner_id, _local(max(bases)), zero, None


_NAIVE_REGIONS = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江",
                  "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东",
                  "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西",
                  "西藏", "宁夏", "新疆", "香港", "澳门")


def _naive_campaign(measure: Measure, record: Any, customers: Iterable[Customer]
                    ) -> str | None:
    """The campaign a record came from: its own, or the one of the customer it names."""
    if measure not in ATTRIBUTED:
        return None
    if isinstance(record, Lead | Customer):
        return record.campaign_id
    for customer in customers:
        if customer.id == record.customer_id:
            return customer.campaign_id
    return None


def _naive_key(by: GroupBy, r: Any, owner: str | None, stage: Any, campaign: str | None
               ) -> str | None:
    if by is GroupBy.NONE:
        return None
    if by is GroupBy.CAMPAIGN:
        return campaign
    if by is GroupBy.OWNER:
        return owner
    if by is GroupBy.STAGE:
        return str(stage) if stage is not None else None
    if by is GroupBy.OUTCOME:
        if isinstance(r, Lead):
            return "converted" if r.converted else "open"
        return str(r.status.value)
    if by is GroupBy.PRODUCT:
        return str(r[1].product_id)
    if by is GroupBy.REGION:
        hits = [n for n in _NAIVE_REGIONS if (r.address or "")[:len(n)] == n]
        return hits[0] if hits else None
    found: str | None = getattr(r, by.value)
    return found


def _naive_facts(spec: Tally, records: Iterable[Any], world: dict[str, list[Any]]
                 ) -> Iterable[tuple[Any, tuple[str | None, date | None, Decimal, Any],
                                     Decimal]]:
    """(record, fact, quantity) per counted thing; lines and plans joined by hand."""
    zero = Decimal("0.00")
    if spec.measure is Measure.PRODUCTS:
        for contract in records:
            owner, day, _, _ = _naive_fact(Measure.CONTRACTS, contract)
            for line in contract.lines:
                yield (contract, line), (owner, day, line.subtotal, None), line.quantity
        return
    if spec.measure in (Measure.PLANNED, Measure.OVERDUE):
        contracts = {c.id: c for c in world["contract"]}
        for plan in records:
            contract = contracts.get(plan.contract_id)
            if plan.voided or contract is None or contract.approval_status not in EFFECTIVE:
                continue
            owed = plan.amount - sum((p.amount for p in world["payment"]
                                      if p.plan_id == plan.id
                                      and p.approval_status in EFFECTIVE), zero)
            if spec.measure is Measure.PLANNED:
                yield plan, (contract.owner_id, plan.planned_date, plan.amount, None), zero
            elif spec.as_of is not None and plan.planned_date < spec.as_of and owed > 0:
                yield plan, (contract.owner_id, plan.planned_date, owed, None), zero
        return
    for record in records:
        yield record, _naive_fact(spec.measure, record), Decimal(0)


def naive_tally(spec: Tally, records: Iterable[Any],
                world: dict[str, list[Any]] | None = None) -> list[TallyRow]:
    """Rows computed record by record from local dates (no instant bounds at all);
    ``world``: every record by kind (payment plans read their contracts and payments, the
    records of a customer its campaign)."""
    groups: dict[tuple[int, str | None, str | None], list[Any]] = defaultdict(
        lambda: [0, Decimal("0.00"), Decimal(0)])
    world = world or {}
    for record, (owner, day, amount, stage), quantity in _naive_facts(spec, records, world):
        if spec.stage_group_id is not None and record.stage_group_id != spec.stage_group_id:
            continue
        if owner is None and not isinstance(record, Customer):
            continue  # not counted (money not approved); only a pooled customer has no owner
        if (spec.owner_ids is not None and owner not in spec.owner_ids) or day is None:
            continue
        campaign = _naive_campaign(spec.measure, record, world.get("customer", ()))
        if spec.campaign_ids is not None and campaign not in spec.campaign_ids:
            continue
        hits = [i for i, b in enumerate(spec.buckets)
                if (b.first_day is None or b.first_day <= day) and day < b.end_day]
        if not hits:
            continue
        key = (hits[0], _naive_key(spec.by, record, owner, stage, campaign),
               _naive_key(spec.then, record, owner, stage, campaign))
        groups[key][0] += 1
        groups[key][1] += amount
        groups[key][2] += quantity
    return sort_rows(TallyRow(b, k, c, a, k2, q) for (b, k, k2), (c, a, q) in groups.items())


def _store(uow: UnitOfWork, records: dict[str, list[Any]]) -> None:
    for kind, found in records.items():
        if kind == "followup":
            for note in found:
                uow.followups.add(note)
        elif kind == "payment_plan":
            uow.plans.add_many(found)
        elif found:
            uow.records(kind).add_many(found)


def _joined(measure: Measure, records: dict[str, list[Any]]) -> list[Any]:
    """What the reference interpreter reads for ``measure``."""
    if measure is Measure.PRODUCTS:
        return list(sold_lines(records["contract"]))
    if measure in (Measure.PLANNED, Measure.OVERDUE):
        return list(plan_states(records["payment_plan"], {c.id: c for c in records["contract"]},
                                records["payment"]))
    return records[MEASURE_KIND[measure]]


class StatisticsContract(StorageSuite):
    """The rules of :mod:`crmkit.ports.statistics`."""

    def test_tallies_equal_the_reference_and_the_oracle(self, storage: Storage) -> None:
        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(data=st.data(), specs=st.lists(tallies(), min_size=1, max_size=4),
               after=st.none() | st.integers(0, 8), limit=st.integers(1, 10))
        def check(data: st.DataObject, specs: list[Tally], after: int | None,
                  limit: int) -> None:
            records = data.draw(_records(_edges(specs)))
            with self.discarded(storage) as uow:
                _store(uow, records)
                campaigns = {c.id: c.campaign_id for c in records["customer"]}
                for spec in specs:
                    kind = MEASURE_KIND[spec.measure]
                    mine = _joined(spec.measure, records)
                    expected = naive_tally(spec, records[kind], records)
                    assert tally(spec, mine, campaigns) == expected
                    assert uow.statistics.tally(spec) == expected
                    start = None if after is None else f"{_PREFIX[kind]}{after:04d}"
                    assert uow.statistics.ids(spec, after=start, limit=limit) == tally_ids(
                        spec, mine, start, limit, campaigns)

        check()

    def test_ids_page_through_every_counted_record(self, storage: Storage) -> None:
        day = date(2026, 12, 1)
        notes = [FollowUp(f"f{n:04d}", "customer", "c0", OWNERS[n % 3], "打电话", "聊过",
                          local_midnight(day, TZ) + timedelta(hours=n % 30), local_midnight(
                              day, TZ)) for n in range(25)]
        spec = Tally(Measure.FOLLOWUPS, frozenset({"u1", "u2"}), (window(
            period(PeriodKind.TODAY, day), TZ),))
        with self.discarded(storage) as uow:
            _store(uow, {"followup": notes})
            pages, after = [], None
            for _ in itertools.count():
                page = uow.statistics.ids(spec, after=after, limit=4)
                if not page:
                    break
                pages += page
                after = page[-1]
            assert pages == sorted(n.id for n in notes
                                   if n.author_id != "u3" and _local(n.at) == day)
            assert uow.statistics.tally(spec) == [TallyRow(0, None, len(pages), Decimal("0.00"))]

    def test_many_owners_count_as_a_few(self, storage: Storage) -> None:
        """Hundreds of owners (bound as one parameter by SQL stores) select the same rows."""
        @settings(max_examples=10, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(data=st.data(), spec=tallies())
        def check(data: st.DataObject, spec: Tally) -> None:
            records = data.draw(_records(_edges([spec])))
            if spec.owner_ids is None:  # every owner: a few chosen instead
                spec = attrs.evolve(spec, owner_ids=frozenset(OWNERS[:2]))
            assert spec.owner_ids is not None
            crowd = attrs.evolve(spec, owner_ids=spec.owner_ids | {f"x{n}" for n in range(2500)})
            with self.discarded(storage) as uow:
                _store(uow, records)
                assert uow.statistics.tally(crowd) == uow.statistics.tally(spec) == naive_tally(
                    spec, records[MEASURE_KIND[spec.measure]], records)
                assert uow.statistics.ids(crowd, limit=50) == uow.statistics.ids(spec, limit=50)

        check()

    def test_sums_stay_exact_in_cents(self, storage: Storage) -> None:
        at = local_midnight(date(2026, 12, 1), TZ)
        amounts = [Decimal("0.10"), Decimal("0.20"), Decimal("99999999999.99"), Decimal("0.01")]
        contracts = [Contract(f"k{n}", "合同", "c0", "u1", None, at, at, amount=a,
                              approval_status=ApprovalStatus.APPROVED)
                     for n, a in enumerate(amounts)]
        spec = Tally(Measure.CONTRACTS, frozenset({"u1"}), (window(
            period(PeriodKind.THIS_MONTH, date(2026, 12, 9)), TZ),))
        with self.discarded(storage) as uow:
            _store(uow, {"contract": contracts})
            assert uow.statistics.tally(spec) == [
                TallyRow(0, None, 4, Decimal("100000000000.30"))]

    def test_campaign_tallies_equal_the_oracle(self, storage: Storage) -> None:
        """Everything ever recorded (one open bucket), by or of campaigns — a lead's or
        customer's own, the customer's for its records —, for every measure with campaigns."""
        everything = (bucket(None, date(2030, 1, 1), TZ),)

        @settings(max_examples=40, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(records=_records(_days), by=st.sampled_from([GroupBy.CAMPAIGN, GroupBy.NONE]),
               owners=st.none() | st.just(frozenset(OWNERS[:2])),
               campaigns=st.none() | st.lists(st.sampled_from(CAMPAIGNS)).map(frozenset))
        def check(records: dict[str, list[Any]], by: GroupBy, owners: frozenset[str] | None,
                  campaigns: frozenset[str] | None) -> None:
            with self.discarded(storage) as uow:
                _store(uow, records)
                for measure in sorted(ATTRIBUTED):
                    spec = Tally(measure, owners, everything, by, campaign_ids=campaigns)
                    mine = records[MEASURE_KIND[measure]]
                    assert uow.statistics.tally(spec) == naive_tally(spec, mine, records)

        check()
