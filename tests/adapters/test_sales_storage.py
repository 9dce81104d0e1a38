"""Sales storage on memory, SQLite and PostgreSQL: customers, contacts, products and
opportunities as record kinds (exact Decimal and date round trips, JSON product lines, queries on
their system columns against the reference interpreter), and the stage-group, category,
price-history and stage-history repositories."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import StatementError

from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.base import BULK_ROWS
from crmkit.entities import FieldChange, OperationLogEntry, RecordScope
from crmkit.entities.fields import ValueKind
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery, SortKey
from crmkit.entities.sales import (
    CONTACT,
    CUSTOMER,
    DEAL_WON,
    OPPORTUNITY,
    PRODUCT,
    Contact,
    Customer,
    Opportunity,
    OpportunityStatus,
    PriceChange,
    Product,
    ProductCategory,
    ProductLine,
    Stage,
    StageChange,
    StageGroup,
)
from crmkit.errors import Conflict, ValidationError
from crmkit.policies.query_eval import cursor_values, page_of, record_matches
from crmkit.ports import Storage, UnitOfWork
from crmkit.testing.approvals import decimal_texts
from crmkit.testing.storage import T0, sample_department, sample_user

from .conftest import empty_pg_storage, statements

BACKENDS = ["memory", "sqlite", "postgresql"]
USERS = ("u1", "u2", "u3")


# -- storages ------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest) -> Storage:
    """An empty storage with department d1 and users u1–u3."""
    store: Storage
    if request.param == "memory":
        store = MemoryStorage()
    elif request.param == "sqlite":
        store = SqlStorage("sqlite://")
    else:
        store = empty_pg_storage(request.getfixturevalue("pg_engine"))
    store.create_schema()
    with store.transaction() as uow:
        uow.departments.add(sample_department("d1"))
        for n, user_id in enumerate(USERS, start=1):
            uow.users.add(sample_user(user_id, f"1380000000{n}"))
    return store


class _Discard(Exception):
    """Raised to roll a hypothesis example's writes back."""


@contextlib.contextmanager
def discarded(storage: Storage) -> Iterator[UnitOfWork]:
    """A unit of work whose writes are rolled back at the end."""
    with contextlib.suppress(_Discard), storage.transaction() as uow:
        yield uow
        raise _Discard


# -- samples -------------------------------------------------------------------------------------


def customer(customer_id: str = "C1", **kw: Any) -> Customer:
    fields: dict[str, Any] = {"id": customer_id, "name": f"客户 {customer_id}", "owner_id": "u1",
                              "created_by": "u1", "created_at": T0, "updated_at": T0}
    return Customer(**{**fields, **kw})


def contact(contact_id: str = "K1", customer_id: str = "C1", **kw: Any) -> Contact:
    fields: dict[str, Any] = {"id": contact_id, "name": f"联系人 {contact_id}",
                              "customer_id": customer_id, "owner_id": "u1", "created_by": "u1",
                              "created_at": T0, "updated_at": T0}
    return Contact(**{**fields, **kw})


def product(product_id: str = "P1", **kw: Any) -> Product:
    fields: dict[str, Any] = {"id": product_id, "name": f"产品 {product_id}",
                              "code": f"code-{product_id}", "owner_id": "u1", "created_by": "u1",
                              "created_at": T0, "updated_at": T0}
    return Product(**{**fields, **kw})


def opportunity(opportunity_id: str = "O1", customer_id: str = "C1", **kw: Any) -> Opportunity:
    fields: dict[str, Any] = {"id": opportunity_id, "name": f"商机 {opportunity_id}",
                              "customer_id": customer_id, "owner_id": "u1", "created_by": "u1",
                              "created_at": T0, "updated_at": T0, "stage_group_id": "G1"}
    return Opportunity(**{**fields, **kw})


FULL_CUSTOMER = Customer(
    id="C1", name="华为 Ltd 'quoted'", owner_id="u1", created_by="u2", created_at=T0,
    updated_at=T0 + timedelta(seconds=1, microseconds=7), version=3, level="A", industry="IT",
    source="广告", deal_status=DEAL_WON, phone="010-12345678", mobile="13800000009",
    email="a@b.cn", website="https://example.cn", address="北京", remark="多行\n备注",
    next_contact_at=T0 + timedelta(days=2), last_followup_at=T0 - timedelta(days=1),
    last_followup_content="打电话", locked=True, pool_id=None, previous_owner_id="u3",
    pooled_at=T0 - timedelta(days=9), received_at=T0 - timedelta(days=3),
    pool_warned_at=T0 - timedelta(hours=1), lead_id="L7",
    custom={"c_dec": "-12.50", "c_list": ["x", "中"], "c_null": None, "c_nested": {"a": [1]}},
)
FULL_CONTACT = Contact(
    id="K1", name="张三", customer_id="C1", owner_id="u2", created_by="u1", created_at=T0,
    updated_at=T0 + timedelta(minutes=1), version=2, mobile="13900000001", phone="021-1",
    email="z@s.cn", position="CTO", decision_maker=True, primary=True, remark="r",
    next_contact_at=T0 + timedelta(days=1), last_followup_at=T0, last_followup_content="见面",
    custom={"c_text": "v"},
)
FULL_PRODUCT = Product(
    id="P1", name="服务器", code="SRV-01", owner_id="u1", created_by="u1", created_at=T0,
    updated_at=T0, version=5, category_id="cat1", unit="台", price=Decimal("12.50"),
    description="描述", on_shelf=False, custom={"c_int": 3},
)
LINES = (
    ProductLine("P1", "服务器", Decimal("12.50"), Decimal("1.2345"), Decimal("7.50"), "台",
                Decimal("14.28")),
    ProductLine("P2", "软件", Decimal("999999999999.99"), Decimal("1000000000"), Decimal("0"),
                None, Decimal("999999999999990000000.00")),
    ProductLine("P3", "零件", Decimal("0.01"), Decimal("3"), Decimal("100"), "个",
                Decimal("0.00")),
)
FULL_OPPORTUNITY = Opportunity(
    id="O1", name="大单", customer_id="C1", owner_id="u1", created_by="u2", created_at=T0,
    updated_at=T0 + timedelta(hours=1), stage_group_id="G1", version=7, stage_id="s2",
    status=OpportunityStatus.LOST, amount=Decimal("9999999999999.99"),
    expected_close_date=date(2024, 2, 29), lines=LINES, order_discount=Decimal("12.25"),
    contact_ids=("K2", "K1"), lost_reason="价格", closed_at=T0 + timedelta(days=3),
    remark="备注", next_contact_at=T0, last_followup_at=T0, last_followup_content="c",
    custom={"c_date": "2024-03-01"},
)


def _loaded(uow: UnitOfWork, kind: str, record_id: str) -> Any:
    record = uow.records(kind).get(record_id)
    assert record is not None
    return record


# -- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "full", "bare"),
    [
        (CUSTOMER, FULL_CUSTOMER, customer("C2")),
        (CONTACT, FULL_CONTACT, contact("K2")),
        (PRODUCT, FULL_PRODUCT, product("P2")),
        (OPPORTUNITY, FULL_OPPORTUNITY, opportunity("O2")),
    ],
)
def test_round_trip_keeps_every_attribute(
    storage: Storage, kind: str, full: Any, bare: Any
) -> None:
    with storage.transaction() as uow:
        uow.records(kind).add(full)
        uow.records(kind).add(bare)
    with storage.transaction() as uow:
        loaded, loaded_bare = uow.records(kind).get(full.id), uow.records(kind).get(bare.id)
    assert loaded == full
    assert loaded_bare == bare
    assert type(loaded) is type(full)


def test_decimals_come_back_exact_with_their_places(storage: Storage) -> None:
    """Money as written by the workflow (two places) comes back as the same text; product lines
    keep every decimal's own scale (quantity ``1.2345``, price ``999999999999.99``)."""
    with storage.transaction() as uow:
        uow.records(PRODUCT).add(FULL_PRODUCT)
        uow.records(OPPORTUNITY).add(FULL_OPPORTUNITY)
        uow.records(PRODUCT).add(product("P9", price=Decimal("0.10")))
    with storage.transaction() as uow:
        price = _loaded(uow, PRODUCT, "P1").price
        tenth = _loaded(uow, PRODUCT, "P9").price
        loaded = _loaded(uow, OPPORTUNITY, "O1")
    assert (type(price), str(price), str(tenth)) == (Decimal, "12.50", "0.10")
    assert decimal_texts(loaded) == decimal_texts(FULL_OPPORTUNITY)
    assert str(loaded.amount) == "9999999999999.99"
    assert isinstance(loaded.expected_close_date, date)
    assert loaded.contact_ids == ("K2", "K1")


def test_eighteen_digit_amounts_are_exact_or_refused(storage: Storage) -> None:
    """The workflow allows amounts below 10**18. PostgreSQL (and memory) keep them exactly;
    SQLite's REAL cannot, and refuses instead of rounding."""
    big = opportunity("O1", amount=Decimal("123456789012345678.91"))
    if isinstance(storage, SqlStorage) and storage.engine.dialect.name == "sqlite":
        with pytest.raises(ValidationError) as refused, \
                storage.transaction() as uow:
            uow.records(OPPORTUNITY).add(big)
        assert refused.value.errors[0].code == "decimal.sqlite_precision"
        return
    with storage.transaction() as uow:
        uow.records(OPPORTUNITY).add(big)
    with storage.transaction() as uow:
        assert str(_loaded(uow, OPPORTUNITY, "O1").amount) == "123456789012345678.91"


def test_floats_never_reach_a_money_column(sql_storage: SqlStorage) -> None:
    with pytest.raises(StatementError, match="expected a Decimal") as refused, \
            sql_storage.transaction() as uow:
        uow.records(PRODUCT).add(product("P1", price=12.5))
    assert isinstance(refused.value.orig, TypeError)


# -- record repository behaviour -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "make"),
    [(CUSTOMER, customer), (CONTACT, contact), (PRODUCT, product), (OPPORTUNITY, opportunity)],
)
def test_versioned_update_add_many_get_many_delete(storage: Storage, kind: str, make: Any) -> None:
    with storage.transaction() as uow:
        uow.records(kind).add_many([make("X3"), make("X1"), make("X2")])
    with pytest.raises(Conflict) as exists, storage.transaction() as uow:
        uow.records(kind).add(make("X1"))
    assert exists.value.code == f"{kind}.exists"
    changed = attrs.evolve(make("X1"), version=2, name="新名字")
    with storage.transaction() as uow:
        uow.records(kind).update(changed, expected_version=1)
    with pytest.raises(Conflict) as stale, storage.transaction() as uow:
        uow.records(kind).update(attrs.evolve(changed, version=3), expected_version=1)
    assert stale.value.code == "version_conflict"
    with storage.transaction() as uow:
        records = uow.records(kind)
        assert [r.id for r in records.get_many(["X3", "nope", "X1"])] == ["X1", "X3"]
        assert records.get("X1") == changed
        records.delete("X2")
        assert records.get("X2") is None
        assert [c.id for c in records.children_of("owner_id", ["u1"])] == ["X1", "X3"]


def test_reassigning_customers_stamps_received_at_and_clears_the_warning(
    storage: Storage,
) -> None:
    at = T0 + timedelta(days=1)
    warned = customer("C1", pool_warned_at=T0, received_at=T0 - timedelta(days=5))
    with storage.transaction() as uow:
        uow.records(CUSTOMER).add_many([warned, customer("C2", owner_id="u2")])
        uow.records(OPPORTUNITY).add(opportunity("O1"))
    with storage.transaction() as uow:
        assert uow.records(CUSTOMER).reassign(["C1", "C2", "C1"], "u3", at) == 2
        assert uow.records(OPPORTUNITY).reassign(["O1"], "u3", at) == 1
    with storage.transaction() as uow:
        assert uow.records(CUSTOMER).get("C1") == attrs.evolve(
            warned, owner_id="u3", version=2, updated_at=at, received_at=at, pool_warned_at=None
        )
        assert uow.records(OPPORTUNITY).get("O1") == opportunity(
            "O1", owner_id="u3", version=2, updated_at=at
        )


def test_children_of_customers(storage: Storage) -> None:
    with storage.transaction() as uow:
        uow.records(CONTACT).add_many([contact("K2", "C1"), contact("K1", "C2", owner_id=None),
                                       contact("K3", "C3")])
        uow.records(OPPORTUNITY).add_many([opportunity("O1", "C2"), opportunity("O2", "C9")])
    with storage.transaction() as uow:
        assert uow.records(CONTACT).children_of("customer_id", ["C2", "C1"]) == [
            ("K1", None, "C2", 1), ("K2", "u1", "C1", 1),
        ]
        assert uow.records(OPPORTUNITY).children_of("customer_id", ["C2", "C3"]) == [
            ("O1", "u1", "C2", 1),
        ]


def test_pool_scope_admits_customers_of_the_pool(storage: Storage) -> None:
    with storage.transaction() as uow:
        uow.records(CUSTOMER).add_many([
            customer("C1", owner_id=None, pool_id="p1"), customer("C2", owner_id=None,
                                                                  pool_id="p2"),
            customer("C3"),
        ])
    with storage.transaction() as uow:
        scope = RecordScope(owner_ids=frozenset({"u1"}), pool_ids=frozenset({"p1"}))
        found = uow.records(CUSTOMER).query(RecordQuery(scope))
    assert [c.id for c in found] == ["C1", "C3"]


def test_big_batches_are_a_fixed_number_of_statements(sql_storage: SqlStorage) -> None:
    """5 000 customers: get_many, reassign and children_of stay one statement each (no
    statement per row or per chunk of ids)."""
    ids = [f"C{n:05d}" for n in range(5000)]
    with sql_storage.transaction() as uow:
        uow.departments.add(sample_department("d1"))
        uow.users.add(sample_user("u1", "13800000001"))
    with sql_storage.transaction() as uow, statements(sql_storage.engine) as seen:
        uow.records(CUSTOMER).add_many([customer(i) for i in ids])
        uow.records(CONTACT).add_many([contact(f"K{i}", i) for i in ids])
        assert len(uow.records(CUSTOMER).get_many(ids)) == 5000
        assert uow.records(CUSTOMER).reassign(ids, None, T0) == 5000
        assert len(uow.records(CONTACT).children_of("customer_id", ids)) == 5000
    others = [s for s in seen if not s.lstrip().upper().startswith("INSERT")]
    assert len(others) == 3  # inserts are executemany (PostgreSQL: batches of 1 000 rows)


# -- queries on the new system columns against the reference interpreter -----------------------

AMOUNT = FieldRef("amount", ValueKind.DECIMAL, True)
DISCOUNT = FieldRef("order_discount", ValueKind.DECIMAL, True)
CLOSE = FieldRef("expected_close_date", ValueKind.DATE, True)
STATUS = FieldRef("status", ValueKind.TEXT, True)
STAGE = FieldRef("stage_id", ValueKind.TEXT, True)
CLOSED_AT = FieldRef("closed_at", ValueKind.DATETIME, True)
OPPORTUNITY_REFS = (AMOUNT, DISCOUNT, CLOSE, STATUS, STAGE, CLOSED_AT,
                    FieldRef("customer_id", ValueKind.TEXT, True))
PRICE = FieldRef("price", ValueKind.DECIMAL, True)
PRODUCT_REFS = (PRICE, FieldRef("on_shelf", ValueKind.BOOLEAN, True),
                FieldRef("code", ValueKind.TEXT, True),
                FieldRef("category_id", ValueKind.TEXT, True))
CUSTOMER_REFS = (FieldRef("locked", ValueKind.BOOLEAN, True),
                 FieldRef("deal_status", ValueKind.TEXT, True),
                 FieldRef("received_at", ValueKind.DATETIME, True),
                 FieldRef("pool_id", ValueKind.TEXT, True), FieldRef("level", ValueKind.TEXT, True))

_MONEY = st.sampled_from([Decimal(v) for v in (
    "0.00", "0.01", "1.50", "2.00", "12.34", "99.99", "100.00", "123456789012.34",
    "123456789012.35", "9999999999999.99")])
_PERCENT = st.sampled_from([Decimal(v) for v in ("0.00", "0.50", "12.25", "99.99", "100.00")])
_DATES = st.sampled_from([date(1, 1, 1), date(2024, 2, 29), date(2024, 3, 1), date(9999, 12, 31)])
_INSTANTS = st.sampled_from([T0 + timedelta(hours=h, microseconds=m)
                             for h, m in ((-30, 0), (0, 0), (0, 1), (400, 250))])
_IDS = st.sampled_from(["a", "B", "b", "中"])

_VALUES: dict[ValueKind, st.SearchStrategy[Any]] = {
    ValueKind.DECIMAL: _MONEY | _PERCENT | st.sampled_from([Decimal("12.345"), Decimal("-1")]),
    ValueKind.DATE: _DATES,
    ValueKind.DATETIME: _INSTANTS,
    ValueKind.TEXT: _IDS | st.sampled_from([s.value for s in OpportunityStatus] + ["", "p1"]),
    ValueKind.BOOLEAN: st.booleans(),
}
_OPERATORS: dict[ValueKind, tuple[Operator, ...]] = {
    ValueKind.TEXT: tuple(Operator),
    ValueKind.BOOLEAN: (Operator.EQ, Operator.NE, Operator.IS_EMPTY, Operator.NOT_EMPTY,
                        Operator.IN),
}
_ORDERED = (Operator.EQ, Operator.NE, Operator.IS_EMPTY, Operator.NOT_EMPTY, Operator.GT,
            Operator.GE, Operator.LT, Operator.LE, Operator.BETWEEN, Operator.IN)


@st.composite
def _opportunities(draw: st.DrawFn) -> list[Opportunity]:
    ids = draw(st.lists(st.text(alphabet="aA1_é", min_size=1, max_size=3), unique=True,
                        max_size=10))
    return [
        opportunity(
            i, draw(_IDS), owner_id=draw(st.none() | st.sampled_from(USERS)),
            stage_id=draw(st.none() | _IDS), status=draw(st.sampled_from(OpportunityStatus)),
            amount=draw(_MONEY), order_discount=draw(_PERCENT),
            expected_close_date=draw(st.none() | _DATES), closed_at=draw(st.none() | _INSTANTS),
        )
        for i in ids
    ]


@st.composite
def _products(draw: st.DrawFn) -> list[Product]:
    ids = draw(st.lists(st.text(alphabet="aA1_é", min_size=1, max_size=3), unique=True,
                        max_size=10))
    return [
        product(i, price=draw(_MONEY), on_shelf=draw(st.booleans()), code=draw(_IDS),
                category_id=draw(st.none() | _IDS), owner_id=draw(st.sampled_from(USERS)))
        for i in ids
    ]


@st.composite
def _customers(draw: st.DrawFn) -> list[Customer]:
    ids = draw(st.lists(st.text(alphabet="aA1_é", min_size=1, max_size=3), unique=True,
                        max_size=10))
    found = []
    for i in ids:
        owner = draw(st.none() | st.sampled_from(USERS))  # owned or in a pool, never both
        found.append(customer(
            i, locked=draw(st.booleans()), deal_status=draw(st.sampled_from(["未成交", DEAL_WON])),
            received_at=draw(st.none() | _INSTANTS),
            pool_id=None if owner else draw(st.none() | st.just("p1")),
            level=draw(st.none() | _IDS), owner_id=owner))
    return found


@st.composite
def _condition(draw: st.DrawFn, refs: Sequence[FieldRef], records: Sequence[Any]) -> Condition:
    ref = draw(st.sampled_from(refs))
    op = draw(st.sampled_from(_OPERATORS.get(ref.kind, _ORDERED)))
    present = [getattr(r, ref.key) for r in records if getattr(r, ref.key) is not None]
    values = st.sampled_from(present) | _VALUES[ref.kind] if present else _VALUES[ref.kind]
    if op in (Operator.IS_EMPTY, Operator.NOT_EMPTY):
        return Condition(ref, op)
    if op in (Operator.CONTAINS, Operator.NOT_CONTAINS, Operator.PREFIX, Operator.SUFFIX):
        return Condition(ref, op, draw(st.sampled_from(["", "a", "p", "wo", "中"])))
    if op is Operator.BETWEEN:
        return Condition(ref, op, (draw(values), draw(values)))
    if op is Operator.IN:
        return Condition(ref, op, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    return Condition(ref, op, draw(values))


def _assert_agrees(uow: UnitOfWork, kind: str, records: Sequence[Any], query: RecordQuery) -> None:
    """Walk every page with the keyset cursor; compare with the reference interpreter."""
    visible = [r for r in records
               if query.scope.admits(r.owner_id, (), getattr(r, "pool_id", None))
               and record_matches(r, query.conditions, query.keyword)]
    expected = page_of(visible, query.sort, None, len(records) + 1)
    repository = uow.records(kind)
    seen: list[Any] = []
    page = repository.query(query)
    for _ in range(len(records) + 2):
        seen.extend(page)
        if len(page) < query.limit:
            break
        page = repository.query(attrs.evolve(query, after=cursor_values(page[-1], query.sort)))
    assert [r.id for r in seen] == [r.id for r in expected]
    assert seen == expected
    assert repository.count(query) == len(visible)


_SCOPES = st.sampled_from([
    RecordScope.everything(),
    RecordScope(owner_ids=frozenset({"u1", "u2"})),
    RecordScope(owner_ids=frozenset({"u3"}), pool_ids=frozenset({"p1"})),
])


@pytest.mark.parametrize(
    ("kind", "records", "refs"),
    [(OPPORTUNITY, _opportunities(), OPPORTUNITY_REFS), (PRODUCT, _products(), PRODUCT_REFS),
     (CUSTOMER, _customers(), CUSTOMER_REFS)],
    ids=[OPPORTUNITY, PRODUCT, CUSTOMER],
)
def test_queries_on_system_columns_agree_with_the_reference(
    storage: Storage, kind: str, records: st.SearchStrategy[list[Any]],
    refs: tuple[FieldRef, ...],
) -> None:
    """Filters and keyset pages on decimal, date, datetime, boolean and text columns return
    exactly what :mod:`crmkit.policies.query_eval` returns."""

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data(), rows=records, scope=_SCOPES, limit=st.integers(1, 4))
    def agree(data: st.DataObject, rows: list[Any], scope: RecordScope, limit: int) -> None:
        conditions = tuple(data.draw(_condition(refs, rows)) for _ in range(
            data.draw(st.integers(0, 2))))
        sort = tuple(data.draw(st.lists(
            st.builds(SortKey, st.sampled_from(refs), st.booleans()),
            max_size=2, unique_by=lambda k: k.field)))
        with discarded(storage) as uow:
            uow.records(kind).add_many(rows)
            _assert_agrees(uow, kind, rows, RecordQuery(scope, conditions, sort, limit))

    agree()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (Condition(AMOUNT, Operator.EQ, Decimal("12.5")), ["O2"]),
        (Condition(AMOUNT, Operator.GT, Decimal("12.345")), ["O2", "O3"]),
        (Condition(AMOUNT, Operator.BETWEEN, (Decimal("2"), Decimal("12.50"))), ["O1", "O2"]),
        (Condition(CLOSE, Operator.LT, date(2024, 3, 1)), ["O1"]),
        (Condition(CLOSE, Operator.IS_EMPTY), ["O3"]),
        (Condition(STATUS, Operator.IN, ("won", "lost")), ["O2"]),
    ],
)
def test_decimal_and_date_filters(
    storage: Storage, condition: Condition, expected: list[str]
) -> None:
    with storage.transaction() as uow:
        uow.records(OPPORTUNITY).add_many([
            opportunity("O1", amount=Decimal("2.00"), expected_close_date=date(2024, 2, 29)),
            opportunity("O2", amount=Decimal("12.50"), expected_close_date=date(2024, 3, 1),
                        status=OpportunityStatus.WON),
            opportunity("O3", amount=Decimal("100.00")),
        ])
    with storage.transaction() as uow:
        found = uow.records(OPPORTUNITY).query(RecordQuery(RecordScope.everything(),
                                                           (condition,)))
    assert [o.id for o in found] == expected


# -- stage groups, categories, histories -----------------------------------------------------------

GROUP = StageGroup(
    "G1", "标准流程",
    (Stage("s2", "初步接洽", Decimal("10.00")), Stage("s1", "需求确认", Decimal("33.33")),
     Stage("s3", "谈判", Decimal("99.99"))),
    frozenset({"d2", "d1"}), enabled=False, version=2,
)


def test_stage_groups(storage: Storage) -> None:
    with storage.transaction() as uow:
        uow.stage_groups.add(GROUP)
        uow.stage_groups.add(StageGroup("G0", "空", ()))
    with storage.transaction() as uow:
        loaded = uow.stage_groups.get("G1")
        assert loaded == GROUP
        assert decimal_texts(loaded) == decimal_texts(GROUP)
        assert [s.id for s in loaded.stages] == ["s2", "s1", "s3"]
        assert [g.id for g in uow.stage_groups.list()] == ["G0", "G1"]
        assert uow.stage_groups.get("nope") is None
        renamed = attrs.evolve(GROUP, name="新流程", stages=GROUP.stages[:1], version=3)
        uow.stage_groups.update(renamed, expected_version=2)
    with pytest.raises(Conflict) as stale, storage.transaction() as uow:
        uow.stage_groups.update(attrs.evolve(GROUP, version=3), expected_version=2)
    assert stale.value.code == "version_conflict"
    with pytest.raises(RuntimeError), storage.transaction() as uow:
        uow.stage_groups.add(StageGroup("G2", "回滚", ()))
        raise RuntimeError
    with storage.transaction() as uow:
        assert uow.stage_groups.get("G1") == renamed
        assert uow.stage_groups.get("G2") is None


def test_categories(storage: Storage) -> None:
    tree = [ProductCategory("c2", "硬件"), ProductCategory("c1", "服务器", "c2"),
            ProductCategory("c3", "存储", "c2", version=4)]
    with storage.transaction() as uow:
        for category in tree:
            uow.categories.add(category)
    with storage.transaction() as uow:
        assert uow.categories.list() == sorted(tree, key=lambda c: c.id)
        moved = ProductCategory("c1", "服务器", None, version=2)
        uow.categories.update(moved, expected_version=1)
        uow.categories.delete("c3")
        uow.categories.delete("nope")
    with pytest.raises(Conflict), storage.transaction() as uow:
        uow.categories.update(attrs.evolve(moved, version=3), expected_version=1)
    with storage.transaction() as uow:
        assert uow.categories.list() == [moved, tree[0]]
        assert uow.categories.get("c3") is None


def test_price_changes_newest_first(storage: Storage) -> None:
    changes = [
        PriceChange("pc2", "P1", Decimal("10.00"), Decimal("12.50"), T0, "u1"),
        PriceChange("pc1", "P1", Decimal("12.50"), Decimal("9999999999999.99"),
                    T0 + timedelta(days=1), None),
        PriceChange("pc3", "P1", Decimal("0.00"), Decimal("0.10"), T0, "u2"),
        PriceChange("pc4", "P2", Decimal("1.00"), Decimal("2.00"), T0, "u1"),
    ]
    with storage.transaction() as uow:
        for change in changes:
            uow.price_changes.add(change)
    with storage.transaction() as uow:
        history = uow.price_changes.list(product_id="P1")
        assert uow.price_changes.list(product_id="P9") == []
    assert [c.id for c in history] == ["pc1", "pc3", "pc2"]
    assert history == [changes[1], changes[2], changes[0]]
    assert [str(c.new_price) for c in history] == ["9999999999999.99", "0.10", "12.50"]


def test_stage_changes_oldest_first(storage: Storage) -> None:
    won, going = OpportunityStatus.WON, OpportunityStatus.IN_PROGRESS
    changes = [
        StageChange("sc3", "O1", "s1", None, going, won, T0 + timedelta(days=2), "u1"),
        StageChange("sc2", "O1", None, "s1", going, going, T0, "u1"),
        StageChange("sc1", "O1", "s1", "s2", going, OpportunityStatus.LOST, T0, None,
                    reason="价格太高"),
        StageChange("sc4", "O2", None, "s1", going, going, T0, "u2"),
    ]
    with storage.transaction() as uow:
        for change in changes:
            uow.stage_changes.add(change)
    with storage.transaction() as uow:
        history = uow.stage_changes.list(opportunity_id="O1")
        assert uow.stage_changes.list(opportunity_id="O9") == []
    assert history == [changes[2], changes[1], changes[0]]
    assert all(isinstance(c.to_status, OpportunityStatus) for c in history)


# -- big batches take the bulk path (COPY on PostgreSQL, driver executemany on SQLite) -----------


def test_bulk_add_many_round_trips_exactly(storage: Storage) -> None:
    """Batches of BULK_ROWS and more skip SQLAlchemy's per-row handling: the stored rows must be
    exactly what the ordinary path stores (every type: aware datetimes in two zones, decimals,
    dates, JSON lines and custom values, booleans, reserved column names, NULLs)."""
    east = timezone(timedelta(hours=8))
    many = [
        attrs.evolve(FULL_OPPORTUNITY, id=f"O{n:05d}", created_at=T0.astimezone(east),
                     amount=Decimal(n) / 100, expected_close_date=None if n % 2 else
                     date(2024, 2, 29), custom={"n": n, "t": "中文 'q'"})
        for n in range(BULK_ROWS + 1)
    ]
    people = [attrs.evolve(FULL_CONTACT, id=f"K{n:05d}", primary=n % 3 == 0, email=None)
              for n in range(BULK_ROWS)]
    with storage.transaction() as uow:
        uow.records(OPPORTUNITY).add_many(many)
        uow.records(CONTACT).add_many(people)
    with storage.transaction() as uow:
        loaded = uow.records(OPPORTUNITY).get_many([o.id for o in many])
        contacts_back = uow.records(CONTACT).get_many([c.id for c in people])
    assert loaded == many
    assert decimal_texts(loaded[7]) == decimal_texts(attrs.evolve(many[7], amount=Decimal(
        "0.07"), created_at=T0))
    assert contacts_back == people


def test_update_many_writes_what_each_record_changed(storage: Storage) -> None:
    """One statement sets the columns any record changed: a record that did not change one of
    them keeps its value, each moves from the version read (a stale one → ``Conflict``)."""
    old = [customer(f"C{n}", phone=f"010-{n}", remark="r") for n in range(4)]
    with storage.transaction() as uow:
        uow.records(CUSTOMER).add_many(old)
    new = [attrs.evolve(old[0], name="改名", version=2),
           attrs.evolve(old[1], phone="021-1", version=2),
           attrs.evolve(old[2], remark=None, name="两处", version=2),
           attrs.evolve(old[3], version=2)]
    with storage.transaction() as uow:
        uow.records(CUSTOMER).update_many(new, [1, 1, 1, 1], old)
    with storage.transaction() as uow:
        assert uow.records(CUSTOMER).get_many([c.id for c in old]) == new
    with pytest.raises(Conflict) as stale, storage.transaction() as uow:
        uow.records(CUSTOMER).update_many([attrs.evolve(new[0], name="x", version=3),
                                           attrs.evolve(old[1], name="y", version=2)],
                                          [2, 1], [new[0], old[1]])
    assert stale.value.code == "version_conflict"


def test_bulk_add_many_conflicts_like_the_ordinary_path(storage: Storage) -> None:
    batch = [customer(f"C{n:05d}") for n in range(BULK_ROWS)]
    with storage.transaction() as uow:
        uow.records(CUSTOMER).add(customer("C00500"))
    with pytest.raises(Conflict) as clash, storage.transaction() as uow:
        uow.records(CUSTOMER).add_many(batch)
    assert clash.value.code == "customer.exists"
    with storage.transaction() as uow:
        assert [c.id for c in uow.records(CUSTOMER).query(RecordQuery(RecordScope.everything()))
                ] == ["C00500"]


ODD_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -7, 2**53 + 1, 1.5, "", "中文 'q' \"x\" \\ \t\n\u0001 \u2028 😀",
    ["a", 1, None, {"k": [True]}], {"zh": "中文", "n": {"m": [1.25, None]}, "": ""},
    [{"product_id": "p1", "price": "1000.00", "quantity": "2"}],
)
"""Values a log entry's changes can hold (the converter's JSON forms), awkward text included."""


@pytest.mark.parametrize("count", [3, BULK_ROWS + 10])
def test_operation_log_round_trips(storage: Storage, count: int) -> None:
    """Small batches go through SQLAlchemy, big ones straight to the driver with the changes
    written as JSON text: both read back exactly what was logged."""
    entries = [
        OperationLogEntry(f"e{n:05d}", CUSTOMER, f"C{n % 7}", "u1" if n % 2 else None,
                          T0 + timedelta(microseconds=n % 3), "transfer",
                          (FieldChange("owner_id", "u1", "u2"), FieldChange("n", None, n),
                           FieldChange("odd", ODD_VALUES[n % len(ODD_VALUES)],
                                       ODD_VALUES[(n + 1) % len(ODD_VALUES)]))
                          if n % 11 else (),
                          note="中文" if n % 5 == 0 else "")
        for n in range(count)
    ]
    with storage.transaction() as uow:
        uow.oplog.add_many(entries)
    with storage.transaction() as uow:
        found = [e for r in range(7)
                 for e in uow.oplog.for_record(CUSTOMER, f"C{r}", limit=10_000)]
    assert sorted(found, key=lambda e: e.id) == entries
