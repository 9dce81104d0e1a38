"""Every report answers the same on memory, SQLite and PostgreSQL, and what a naive oracle
computes record by record — for random records, viewers, subjects and periods; a subject
beyond the viewer's scope is refused on every backend alike."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.entities.contracts import EFFECTIVE
from crmkit.entities.statistics import PeriodKind
from crmkit.errors import PermissionDenied
from crmkit.ports import Storage
from crmkit.testing.builders import SampleOrg, sample_org
from crmkit.testing.statistics import EDGE_DAYS, statistics_records

from .conftest import BACKENDS, make_storage

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 7 Dec 2026, 10:00 in Beijing


class Discard(Exception):
    pass


@pytest.fixture(scope="module")
def orgs(request: pytest.FixtureRequest) -> list[SampleOrg]:
    """The same sample org (same ids) on every backend, plus a second rep under 李经理."""
    found = []
    for kind in BACKENDS:
        storage: Storage = make_storage(kind, request)
        clock = FixedClock(NOW)
        org = sample_org(CRM(storage, clock=clock, ids=SequentialIds("id")), clock=clock,
                         accountant=False)
        org.user("13900000021", "李四", org.group, "sales_rep", supervisor_id=org.manager.id)
        found.append(org)
    return found


@contextlib.contextmanager
def stored(org: SampleOrg, records: dict[str, list[Any]]) -> Iterator[None]:
    """``records`` in ``org``'s storage for the block, rolled back after it."""
    with contextlib.suppress(Discard), org.crm.storage.transaction() as uow:
        for kind, found in records.items():
            if kind == "followup":
                for note in found:
                    uow.followups.add(note)
            elif kind == "payment_plan":
                uow.plans.add_many(found)
            else:
                uow.records(kind).add_many(found)
        yield
        raise Discard


def _asked(org: SampleOrg, who: str, subject: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    viewer = {"admin": org.admin, "manager": org.manager, "rep": org.rep}[who]
    return viewer, subject


subjects = st.sampled_from([
    {}, {"subordinates": True}, {"user_ids": ["rep"]}, {"user_ids": ["rep", "second"]},
    {"department_ids": ["sales"]}, {"department_ids": ["sales"], "include_children": False},
    {"department_ids": ["group"]}, {"department_ids": ["finance"]},
    {"user_ids": ["rep"], "department_ids": ["finance"]}])
periods = st.one_of(
    st.sampled_from([k for k in PeriodKind if k is not PeriodKind.CUSTOM]).map(
        lambda k: {"period": k.value}),
    st.builds(lambda first, days: {"period": "custom", "start": first,
                                   "end": first + timedelta(days=days)},
              st.sampled_from(EDGE_DAYS).map(lambda d: d - timedelta(days=3)),
              st.integers(0, 400)))


def _subject(org: SampleOrg, shape: dict[str, Any]) -> dict[str, Any]:
    """The subject with the org's ids in place of ``rep``/``second``/``sales``/``group``."""
    second = next(u for u in org.crm.org.list_users(org.admin) if u.name == "李四")
    ids = {"rep": org.rep.id, "second": second.id, "sales": org.sales.id,
           "group": org.group.id, "finance": org.finance.id}
    return {key: [ids[v] for v in value] if isinstance(value, list) else value
            for key, value in shape.items()}


def _reports(org: SampleOrg, viewer: Any, subject: dict[str, Any], when: dict[str, Any]
             ) -> list[Any] | str:
    """Every report (or the refusal's code)."""
    reports = org.crm.reports
    try:
        return [
            reports.employees(viewer, subject, **when),
            reports.products(viewer, subject, **when),
            reports.products(viewer, subject, **when, by="category"),
            reports.payments(viewer, subject, **when),
            *(reports.customers(viewer, by, subject, **when)
              for by in ("source", "level", "industry", "region")),
            reports.ranking(viewer, "payment_amount", subject, **when),
        ]
    except PermissionDenied as refused:
        return refused.code


def _local(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def _oracle(records: dict[str, list[Any]], owners: set[str], first: date, last: date
            ) -> tuple[dict[str, Decimal], Counter[str | None]]:
    """Approved contract amount per owner and new customers per source, record by record."""
    money: dict[str, Decimal] = {}
    for contract in records["contract"]:
        day = contract.order_date or _local(contract.created_at)
        if (contract.owner_id in owners and contract.approval_status in EFFECTIVE
                and first <= day <= last):
            money[contract.owner_id] = money.get(contract.owner_id, Decimal(0)) + contract.amount
    sources = Counter(c.source for c in records["customer"]
                      if c.owner_id in owners and first <= _local(c.created_at) <= last)
    return money, sources


def _plan_oracle(records: dict[str, list[Any]], owners: set[str], first: date, last: date,
                 today: date) -> tuple[Decimal, Decimal]:
    """Planned and overdue over the period, plan by plan: plans not voided of approved
    contracts of ``owners``; overdue what approved payments left owed on plans due before
    today."""
    contracts = {c.id: c for c in records["contract"]}
    planned = overdue = Decimal(0)
    for plan in records["payment_plan"]:
        contract = contracts.get(plan.contract_id)
        if (plan.voided or contract is None or contract.owner_id not in owners
                or contract.approval_status not in EFFECTIVE
                or not first <= plan.planned_date <= last):
            continue
        planned += plan.amount
        paid = sum((p.amount for p in records["payment"]
                    if p.plan_id == plan.id and p.approval_status in EFFECTIVE), Decimal(0))
        if plan.planned_date < today and paid < plan.amount:
            overdue += plan.amount - paid
    return planned, overdue


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), who=st.sampled_from(["admin", "manager", "rep"]), shape=subjects,
       when=periods)
def test_reports_agree_across_backends_and_with_the_oracle(
        orgs: list[SampleOrg], data: st.DataObject, who: str, shape: dict[str, Any],
        when: dict[str, Any]) -> None:
    first = orgs[0]
    second = next(u for u in first.crm.org.list_users(first.admin) if u.name == "李四")
    records = data.draw(statistics_records((first.rep.id, first.manager.id, second.id)))
    answers = []
    for org in orgs:
        viewer, subject = _asked(org, who, _subject(org, shape))
        with stored(org, records):
            answers.append(_reports(org, viewer, subject, when))
    assert all(answer == answers[0] for answer in answers[1:])
    if isinstance(answers[0], str):
        event("refused")  # on every backend
        assert answers[0] == "dashboard.subject_beyond_scope"
        return
    employees, *_, by_source, _, _, _, _ = answers[0]
    owners = set(employees.keys)
    money, sources = _oracle(records, owners, employees.period.first_day,
                             employees.period.last_day)
    assert dict(zip(employees.keys, employees.column("contract_amount"), strict=True)) == {
        user: money.get(str(user), Decimal("0.00")) for user in employees.keys}
    assert dict(zip(by_source.keys, by_source.column("customers"), strict=True)) == dict(
        sources)
    payments = answers[0][3]
    assert (payments.total("planned"), payments.total("overdue")) == _plan_oracle(
        records, owners, payments.period.first_day, payments.period.last_day, _local(NOW))
