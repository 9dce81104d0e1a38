"""The record storage contract: subclass :class:`RecordStorageContract`, implement
``make_storage``, run pytest.

It checks the rules of :mod:`crmkit.ports.records` on leads: round trips of every attribute and
every kind of custom value, optimistic locking, the shared record features (team, field
definitions, scenes, columns, follow-ups, attachments, settings), set-based
``reassign`` — and, with hypothesis, that ``query``/``count`` return exactly what the reference
interpreter :mod:`crmkit.policies.query_eval` returns for random records, scopes, conditions,
sorts and keyset pages::

    class TestMyRecordStorage(RecordStorageContract):
        def make_storage(self):
            return MyStorage(...)   # empty; create_schema() is called by the contract

Subclasses may lower :attr:`RecordStorageContract.query_examples` for slow backends.

:class:`KindStorageContract` is the same contract generated for every declared kind
(:data:`CONTRACT_KINDS`): random records drawn from the entity's attribute types
(:func:`kind_records`), queries on its scalar attributes (:func:`kind_fields`), unique fields,
``reassign`` and ``children_of``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from crmkit.adapters.shapes import (
    Shape,
    attribute_shape,
    attribute_shapes,
    attribute_types,
    is_id,
)
from crmkit.entities import RecordScope
from crmkit.entities.fields import FieldDefinition, ValueKind
from crmkit.entities.kinds import BUILTIN_KINDS, LEAD_KIND, Feature, RecordKind
from crmkit.entities.kinds import Column as KindColumn
from crmkit.entities.leads import LEAD, Lead
from crmkit.entities.query import (
    Condition,
    FieldRef,
    Keyword,
    Operator,
    RecordQuery,
    SortKey,
)
from crmkit.entities.records import (
    Access,
    Attachment,
    ColumnConfig,
    ConditionSpec,
    FollowUp,
    Scene,
    SortSpec,
    TeamMember,
)
from crmkit.errors import Conflict
from crmkit.policies.query_eval import cursor_values, field_value, page_of, record_matches
from crmkit.ports import Storage, UnitOfWork
from crmkit.testing.entity_store import EntityStoreContract
from crmkit.testing.kinds import SAMPLE_KIND
from crmkit.testing.storage import T0, Boom, StorageSuite, sample_department, sample_user
from crmkit.testing.workbench import LinkAndPlacementContract

__all__ = [
    "CONTRACT_KINDS",
    "CUSTOM_FIELDS",
    "OPERATORS",
    "SYSTEM_FIELDS",
    "KindStorageContract",
    "RecordStorageContract",
    "kind_fields",
    "kind_records",
    "sample_lead",
    "utc_text",
]

USERS = ("u1", "u2", "u3", "u4")
"""Users the contract creates (team members must be real users on SQL backends)."""

OPERATORS: Mapping[ValueKind, tuple[Operator, ...]] = {
    ValueKind.TEXT: tuple(Operator),
    ValueKind.INTEGER: (
        Operator.EQ, Operator.NE, Operator.IS_EMPTY, Operator.NOT_EMPTY, Operator.GT,
        Operator.GE, Operator.LT, Operator.LE, Operator.BETWEEN, Operator.IN,
    ),
    ValueKind.BOOLEAN: (
        Operator.EQ, Operator.NE, Operator.IS_EMPTY, Operator.NOT_EMPTY, Operator.IN,
    ),
    ValueKind.LIST: (
        Operator.EQ, Operator.NE, Operator.IS_EMPTY, Operator.NOT_EMPTY, Operator.IN,
    ),
}
"""Operators the contract applies per value kind (DECIMAL, DATE, DATETIME as INTEGER)."""


def operators_for(kind: ValueKind) -> tuple[Operator, ...]:
    return OPERATORS.get(kind, OPERATORS[ValueKind.INTEGER])


def utc_text(value: datetime) -> str:
    """A datetime in the stored custom-value form: fixed-width UTC ISO 8601."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


SYSTEM_FIELDS: tuple[FieldRef, ...] = (
    FieldRef("name", ValueKind.TEXT, True),
    FieldRef("source", ValueKind.TEXT, True),
    FieldRef("level", ValueKind.TEXT, True),
    FieldRef("owner_id", ValueKind.TEXT, True),
    FieldRef("next_contact_at", ValueKind.DATETIME, True),
    FieldRef("created_at", ValueKind.DATETIME, True),
    FieldRef("updated_at", ValueKind.DATETIME, True),
    FieldRef("converted", ValueKind.BOOLEAN, True),
)
"""Lead system fields the generated queries use (nullable and non-nullable columns)."""

CUSTOM_FIELDS: tuple[FieldRef, ...] = (
    FieldRef("c_text", ValueKind.TEXT, False),
    FieldRef("c_int", ValueKind.INTEGER, False),
    FieldRef("c_dec", ValueKind.DECIMAL, False),
    FieldRef("c_bool", ValueKind.BOOLEAN, False),
    FieldRef("c_date", ValueKind.DATE, False),
    FieldRef("c_time", ValueKind.DATETIME, False),
    FieldRef("c_list", ValueKind.LIST, False),
)
"""One custom field per value kind."""

HOSTILE_KEYS = ('a"b', "x; DROP TABLE crm_leads; --", "a.b", "it's", "中文", "$", "a\\b", "[0]")
"""Custom keys that must stay data: quotes, SQL, JSON-path syntax, non-ASCII."""

# -- value domains: small, so that generated conditions often match ---------------------------

_TEXT = st.text(alphabet="aAb%_中é", max_size=3)
_INSTANTS = tuple(T0 + timedelta(hours=h, microseconds=m) for h, m in
                  ((-30, 0), (0, 0), (0, 1), (5, 0), (400, 250)))
_DATETIMES = st.sampled_from(_INSTANTS)
_ZONED_DATETIMES = st.builds(
    lambda t, h: t.astimezone(timezone(timedelta(hours=h))), _DATETIMES, st.sampled_from([0, 8])
)
_INTEGERS = st.integers(-3, 3) | st.sampled_from([-(2**53 - 1), 2**53 - 1])
_DECIMALS = st.sampled_from([
    Decimal(v) for v in ("-2.5", "-0.01", "0", "0.01", "1.5", "1.50", "2", "12.34",
                         "-123456789012.34", "123456789012.34", "123456789012.35")
])
_DATES = st.sampled_from([date(1, 1, 1), date(2024, 2, 29), date(2024, 3, 1), date(9999, 12, 31)])
_ITEMS = st.sampled_from(["x", "y", "中"])
_LISTS = st.lists(_ITEMS, unique=True, max_size=3)


def _python_values(kind: ValueKind) -> st.SearchStrategy[Any]:
    """Values as :func:`~crmkit.policies.query_eval.field_value` returns them (and as
    conditions carry them)."""
    return {
        ValueKind.TEXT: _TEXT,
        ValueKind.INTEGER: _INTEGERS,
        ValueKind.DECIMAL: _DECIMALS,
        ValueKind.BOOLEAN: st.booleans(),
        ValueKind.DATE: _DATES,
        ValueKind.DATETIME: _ZONED_DATETIMES,
        ValueKind.LIST: _ITEMS,
    }[kind]


@st.composite
def _stored_custom(draw: st.DrawFn, kind: ValueKind) -> Any:
    """A custom value in its stored JSON form (decimals with 0–4 places)."""
    if kind is ValueKind.DECIMAL:
        value = draw(_DECIMALS)
        places = draw(st.integers(max(0, -value.as_tuple().exponent), 4))  # type: ignore[operator]
        return format(value.quantize(Decimal(1).scaleb(-places)), "f")
    if kind is ValueKind.DATE:
        return draw(_DATES).isoformat()
    if kind is ValueKind.DATETIME:
        return utc_text(draw(_DATETIMES))
    if kind is ValueKind.LIST:
        return draw(_LISTS)
    return draw(_python_values(kind))


@st.composite
def _custom_values(draw: st.DrawFn) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for ref in CUSTOM_FIELDS:
        presence = draw(st.integers(0, 4))  # 0: missing, 1: JSON null, else a value
        if presence == 1:
            custom[ref.key] = None
        elif presence > 1:
            custom[ref.key] = draw(_stored_custom(ref.kind))
    return custom


@st.composite
def _leads(draw: st.DrawFn) -> list[Lead]:
    size = draw(st.integers(0, 12), label="leads")
    ids = draw(st.lists(st.text(alphabet="aA1_é", min_size=1, max_size=3), unique=True,
                        min_size=size, max_size=size))
    optional_text = st.none() | st.just("") | _TEXT
    return [
        Lead(
            id=lead_id,
            name=draw(_TEXT),
            owner_id=draw(st.none() | st.sampled_from(USERS)),
            created_by=draw(st.none() | st.sampled_from(USERS)),
            created_at=draw(_DATETIMES),
            updated_at=draw(_DATETIMES),
            source=draw(optional_text),
            level=draw(st.none() | st.sampled_from(["A", "B", "a"])),
            next_contact_at=draw(st.none() | _DATETIMES),
            converted=draw(st.booleans()),
            custom=draw(_custom_values()),
        )
        for lead_id in ids
    ]


def _present_values(leads: Sequence[Lead], ref: FieldRef) -> list[Any]:
    """The non-empty values ``ref`` has on ``leads`` (list items for LIST fields)."""
    found: list[Any] = []
    for lead in leads:
        value = field_value(lead, ref)
        if ref.kind is ValueKind.LIST:
            found.extend(value or ())
        elif value is not None:
            found.append(value)
    return found


@st.composite
def _conditions(draw: st.DrawFn, leads: Sequence[Any],
                fields: Sequence[FieldRef] = SYSTEM_FIELDS + CUSTOM_FIELDS) -> Condition:
    """A condition on a random field; its values often come from ``leads`` so it matches."""
    ref = draw(st.sampled_from(fields))
    op = draw(st.sampled_from(operators_for(ref.kind)))
    values = _python_values(ref.kind)
    if ref.system and ref.kind is ValueKind.INTEGER:
        values = _VERSIONS if ref.key == "version" else _INT_VALUES
    if ref.system and ref.key == "owner_id":
        values = st.sampled_from(USERS) | _TEXT
    present = _present_values(leads, ref)
    if present:
        values = st.sampled_from(present) | values
    if op in (Operator.IS_EMPTY, Operator.NOT_EMPTY):
        return Condition(ref, op)
    if op is Operator.BETWEEN:
        return Condition(ref, op, (draw(values), draw(values)))
    if op is Operator.IN:
        return Condition(ref, op, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    return Condition(ref, op, draw(values))


_SCOPES = st.integers(0, 9).flatmap(
    lambda n: st.just(RecordScope.nothing()) if n == 0
    else st.just(RecordScope.everything()) if n < 4
    else st.builds(
        RecordScope,
        owner_ids=st.frozensets(st.sampled_from(USERS), min_size=1, max_size=3),
        team_user_id=st.none() | st.sampled_from(USERS),
        pool_ids=st.frozensets(st.just("p1"), max_size=1),
    )
)
"""Mostly scopes that admit something: everything, some owners, a team member."""

_SORTS = st.lists(
    st.builds(
        SortKey,
        st.sampled_from([f for f in SYSTEM_FIELDS + CUSTOM_FIELDS if f.kind is not ValueKind.LIST]),
        st.booleans(),
    ),
    max_size=2,
    unique_by=lambda k: k.field,
)


def sample_lead(lead_id: str = "L1", **kw: Any) -> Lead:
    fields: dict[str, Any] = {
        "id": lead_id,
        "name": f"lead {lead_id}",
        "owner_id": "u1",
        "created_by": "u1",
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(kw)
    return Lead(**fields)


_SEARCHED = (FieldRef("name", ValueKind.TEXT, True), FieldRef("source", ValueKind.TEXT, True))
"""The fields a keyword looks in, in the contract's queries."""
_KEYWORDS = st.text(alphabet="aAbB%_\\中éÉ", min_size=1, max_size=2)


def _everything(**kw: Any) -> RecordQuery:
    return RecordQuery(RecordScope.everything(), **kw)


class _RecordSuite(StorageSuite):
    """What both record contracts start from."""

    @pytest.fixture
    def storage(self) -> Storage:
        """An empty storage with department d1 and users u1–u4."""
        store = self.make_storage()
        store.create_schema()
        with store.transaction() as uow:
            uow.departments.add(sample_department("d1"))
            for n, user_id in enumerate(USERS, start=1):
                uow.users.add(sample_user(user_id, f"1380000000{n}"))
        return store


class RecordStorageContract(_RecordSuite, EntityStoreContract, LinkAndPlacementContract):
    """Behaviour every storage adapter's record repositories must show, the generic entity
    stores' (:class:`~crmkit.testing.entity_store.EntityStoreContract`), the related-record
    links' and the workbench placements'
    (:class:`~crmkit.testing.workbench.LinkAndPlacementContract`) included."""

    query_examples = 150
    """Hypothesis examples of :meth:`test_queries_agree_with_the_reference_interpreter`."""

    # -- records -------------------------------------------------------------------------------
    def test_lead_round_trip_keeps_every_attribute(self, storage: Storage) -> None:
        lead = Lead(
            id="L1", name="华为 Ltd", owner_id="u1", created_by="u2",
            created_at=T0, updated_at=T0 + timedelta(seconds=1, microseconds=7), version=4,
            contact_name="张三", mobile="13800000009", phone="010-12345678", email="a@b.cn",
            source="广告", industry="IT", level="A", address="北京", remark="多行\n备注",
            next_contact_at=T0 + timedelta(days=2), last_followup_at=T0 - timedelta(days=1),
            last_followup_content="打电话", converted=True,
            converted_at=T0 + timedelta(hours=3), customer_id="C9",
            custom={
                "c_text": "文本 'quoted' \"double\"", "c_int": 2**53 - 1, "c_dec": "-12.50",
                "c_bool": False, "c_date": "2024-02-29",
                "c_time": utc_text(T0), "c_list": ["x", "中"], "c_null": None, "c_empty": "",
                "c_nested": {"a": [1, True, None]},
            },
        )
        bare = sample_lead("L2")
        with storage.transaction() as uow:
            uow.records(LEAD).add(lead)
            uow.records(LEAD).add(bare)
        with storage.transaction() as uow:
            loaded = uow.records(LEAD).get("L1")
            assert loaded == lead
            assert loaded.created_at.utcoffset() == timedelta(0)
            assert uow.records(LEAD).get("L2") == bare
            assert uow.records(LEAD).get("nope") is None
            assert uow.records(LEAD).get_many(["L2", "nope", "L1", "L2"]) == [lead, bare]
            assert uow.records(LEAD).get_many([]) == []

    def test_unknown_record_kind_is_a_key_error(self, storage: Storage) -> None:
        with storage.transaction() as uow, pytest.raises(KeyError):
            uow.records("no_such_kind")

    def test_a_kind_is_named_or_declared(self, storage: Storage) -> None:
        """``records`` takes the kind's name or its :class:`RecordKind` declaration alike."""
        with storage.transaction() as uow:
            uow.records(LEAD_KIND).add(sample_lead("L1"))
        with storage.transaction() as uow:
            assert uow.records(LEAD).get("L1") == sample_lead("L1")
            assert uow.records(LEAD_KIND).get_many(["L1"]) == [sample_lead("L1")]

    def test_adding_an_existing_id_conflicts(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.records(LEAD).add(sample_lead("L1"))
        with pytest.raises(Conflict) as caught, storage.transaction() as uow:
            uow.records(LEAD).add(sample_lead("L1", name="again"))
        assert caught.value.code == "lead.exists"
        with pytest.raises(Conflict), storage.transaction() as uow:
            uow.records(LEAD).add_many([sample_lead("L2"), sample_lead("L1")])
        with storage.transaction() as uow:
            assert uow.records(LEAD).get("L2") is None
            assert uow.records(LEAD).get("L1") == sample_lead("L1")

    def test_update_needs_the_current_version(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.records(LEAD).add(sample_lead("L1", custom={"c_text": "a"}))
        changed = sample_lead("L1", name="new", version=2, custom={"c_int": 3})
        with pytest.raises(Conflict) as caught, storage.transaction() as uow:
            uow.records(LEAD).update(changed, expected_version=2)
        assert caught.value.code == "version_conflict"
        with pytest.raises(Conflict), storage.transaction() as uow:
            uow.records(LEAD).update(sample_lead("nope", version=2), expected_version=1)
        with storage.transaction() as uow:
            uow.records(LEAD).update(changed, expected_version=1)
        with storage.transaction() as uow:
            assert uow.records(LEAD).get("L1") == changed

    def test_update_many_is_all_or_nothing(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.records(LEAD).add_many([sample_lead("L1"), sample_lead("L2")])
        one, two = sample_lead("L1", name="一", version=2), sample_lead("L2", name="二", version=2)
        with pytest.raises(Conflict) as caught, storage.transaction() as uow:
            uow.records(LEAD).update_many([one, two], [1, 2])
        assert caught.value.code == "version_conflict"
        with storage.transaction() as uow:
            assert uow.records(LEAD).get("L1") == sample_lead("L1")
            uow.records(LEAD).update_many([one, two], [1, 1])
            uow.records(LEAD).update_many([], [])
        with storage.transaction() as uow:
            assert uow.records(LEAD).get_many(["L1", "L2"]) == [one, two]

    def test_delete_and_rollback(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.records(LEAD).add_many([sample_lead("L1"), sample_lead("L2")])
        with pytest.raises(Boom), storage.transaction() as uow:
            uow.records(LEAD).delete("L1")
            uow.records(LEAD).add(sample_lead("L3"))
            raise Boom
        with storage.transaction() as uow:
            assert [r.id for r in uow.records(LEAD).query(_everything())] == ["L1", "L2"]
            uow.records(LEAD).delete("L1")
            uow.records(LEAD).delete("missing")
        with storage.transaction() as uow:
            assert [r.id for r in uow.records(LEAD).query(_everything())] == ["L2"]

    def test_reassign_is_set_based(self, storage: Storage) -> None:
        at = T0 + timedelta(days=1)
        with storage.transaction() as uow:
            uow.records(LEAD).add_many([
                sample_lead("L1"), sample_lead("L2", version=5), sample_lead("L3", owner_id="u2"),
            ])
        with storage.transaction() as uow:
            assert uow.records(LEAD).reassign(["L2", "L1", "L2", "nope"], "u3", at) == 2
            assert uow.records(LEAD).reassign([], "u3", at) == 0
        with storage.transaction() as uow:
            records = uow.records(LEAD)
            assert records.get("L1") == sample_lead("L1", owner_id="u3", version=2, updated_at=at)
            assert records.get("L2") == sample_lead("L2", owner_id="u3", version=6, updated_at=at)
            assert records.get("L3") == sample_lead("L3", owner_id="u2")
            assert [c.id for c in records.children_of("owner_id", ["u3"])] == ["L1", "L2"]
            assert records.children_of("owner_id", ["u9"]) == []
            assert records.reassign(["L3"], None, at) == 1
            assert records.get("L3") == sample_lead("L3", owner_id=None, version=2, updated_at=at)

    def test_reassign_with_versions_changes_only_records_still_at_them(
            self, storage: Storage) -> None:
        at = T0 + timedelta(days=1)
        with storage.transaction() as uow:
            uow.records(LEAD).add_many([sample_lead("L1"), sample_lead("L2", version=5)])
        with storage.transaction() as uow:
            records = uow.records(LEAD)
            assert records.reassign(["L1", "L2"], "u3", at, versions={"L1": 1, "L2": 4}) == 1
            assert records.reassign(["L2"], "u3", at, versions={"L2": 4}) == 0
            assert records.get("L1") == sample_lead("L1", owner_id="u3", version=2, updated_at=at)
            assert records.get("L2") == sample_lead("L2", version=5)
            many = {f"x{n}": n for n in range(3000)} | {"L2": 5}
            assert records.reassign(list(many), "u4", at, versions=many) == 1
            assert records.get("L2") == sample_lead("L2", owner_id="u4", version=6, updated_at=at)

    def test_reassign_and_get_many_take_thousands_of_ids(self, storage: Storage) -> None:
        """More ids than SQLite binds per statement (and than an inline ``IN`` list holds)."""
        ids = [f"L{n:05d}" for n in range(2600)]
        with storage.transaction() as uow:
            uow.records(LEAD).add_many([sample_lead(i) for i in ids])
            assert uow.records(LEAD).reassign(ids, "u2", T0) == len(ids)
            assert [c.id for c in uow.records(LEAD).children_of("owner_id", ["u2"])] == ids
            assert [r.id for r in uow.records(LEAD).get_many(ids[::-1])] == ids

    def test_children_of(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.records(LEAD).add_many([
                sample_lead("L3", customer_id="C1", owner_id=None),
                sample_lead("L1", customer_id="C2"),
                sample_lead("L2", customer_id="C3"),
                sample_lead("L4"),
            ])
        with storage.transaction() as uow:
            records = uow.records(LEAD)
            assert records.children_of("customer_id", ["C2", "C1", "C9"]) == [
                ("L1", "u1", "C2", 1), ("L3", None, "C1", 1),
            ]
            assert records.children_of("customer_id", []) == []
            assert records.reassign(["L1"], "u2", T0) == 1
            assert records.children_of("owner_id", ["u2"]) == [("L1", "u2", "u2", 2)]

    def test_find_equal_ignores_scope(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.records(LEAD).add_many([
                sample_lead("L3", mobile="13800000001", owner_id=None,
                            custom={"c_dec": "1.50", "c_list": ["x", "y"]}),
                sample_lead("L1", mobile="13800000001", owner_id="u2", custom={"c_dec": "1.5"}),
                sample_lead("L2", mobile="13800000002", custom={"c_dec": "1.51"}),
            ])
        mobile = FieldRef("mobile", ValueKind.TEXT, True)
        dec = FieldRef("c_dec", ValueKind.DECIMAL, False)
        items = FieldRef("c_list", ValueKind.LIST, False)
        with storage.transaction() as uow:
            records = uow.records(LEAD)
            assert [r.id for r in records.find_equal(mobile, "13800000001")] == ["L1", "L3"]
            assert [r.id for r in records.find_equal(mobile, "13800000001", limit=1)] == ["L1"]
            assert records.find_equal(mobile, "1380000000") == []
            assert [r.id for r in records.find_equal(dec, Decimal("1.5"))] == ["L1", "L3"]
            assert [r.id for r in records.find_equal(items, ["x", "y"])] == ["L3"]
            assert records.find_equal(items, ["x"]) == []

    # -- queries: fixed cases ---------------------------------------------------------------
    @staticmethod
    def _assert_agrees(
        uow: UnitOfWork, leads: Sequence[Any], team: Sequence[TeamMember],
        query: RecordQuery, kind: str = LEAD,
    ) -> None:
        """Walk every page of ``query`` with the keyset cursor; compare with the oracle."""
        grants: dict[str, set[str]] = {}
        for member in team:
            grants.setdefault(member.record_id, set()).add(member.user_id)
        visible = [
            lead for lead in leads
            if query.scope.admits(lead.owner_id, grants.get(lead.id, ()),
                                  getattr(lead, "pool_id", None))
            and record_matches(lead, query.conditions, query.keyword)
        ]
        expected = page_of(visible, query.sort, None, len(leads) + 1)
        records = uow.records(kind)
        seen: list[Any] = []
        page = records.query(query)
        for _ in range(len(leads) + 2):
            assert len(page) <= query.limit
            seen.extend(page)
            if len(page) < query.limit:
                break
            after = cursor_values(page[-1], query.sort)
            page = records.query(attrs.evolve(query, after=after))
        assert [r.id for r in seen] == [r.id for r in expected]
        assert seen == expected
        assert records.count(query) == len(expected)
        for cap in {1, max(len(expected), 1), max(len(expected) - 1, 1)}:
            # a capped count stops past its cap: exact up to it, cap + 1 beyond
            capped = records.count(attrs.evolve(query, with_total=True, total_limit=cap))
            assert capped == min(len(expected), cap + 1), (cap, capped, len(expected))

    def test_text_operators_are_case_sensitive_and_literal(self, storage: Storage) -> None:
        names = ["abc", "ABC", "a%c", "a_c", "xa%", "", "中文ab", "ab"]
        leads = [sample_lead(f"L{n}", name=v, custom={"c_text": v})
                 for n, v in enumerate(names)]
        with self.discarded(storage) as uow:
            uow.records(LEAD).add_many(leads)
            for key, system in (("name", True), ("c_text", False)):
                ref = FieldRef(key, ValueKind.TEXT, system)
                for op in (Operator.CONTAINS, Operator.NOT_CONTAINS, Operator.PREFIX,
                           Operator.SUFFIX, Operator.EQ, Operator.GT, Operator.LE):
                    for arg in ("a", "A", "%", "_", "a%", "b", "", "中", "c"):
                        query = _everything(conditions=(Condition(ref, op, arg),), limit=100)
                        self._assert_agrees(uow, leads, [], query)
                for descending in (False, True):
                    sort = (SortKey(ref, descending),)
                    self._assert_agrees(uow, leads, [], _everything(sort=sort, limit=3))

    def test_keyword_is_blind_to_latin_case_only_and_literal(self, storage: Storage) -> None:
        """搜索: any searchable field holding the text, ``A``–``Z`` without case, ``É``/``é``
        and Chinese as they are, ``%`` ``_`` ``\\`` as plain characters, empty values never."""
        names = ["HuaWei", "huawei", "HUAWEI深圳", "a%c", "a_c", "a\\c", "Été", "été", "", "中文"]
        leads = [sample_lead(f"L{n}", name=v, source=names[-1 - n] or None)
                 for n, v in enumerate(names)]
        with self.discarded(storage) as uow:
            uow.records(LEAD).add_many(leads)
            for text in ("huawei", "HuaWEI", "wei深", "%", "_", "a%", "\\", "a\\", "été",
                         "ÉTÉ", "Été", "中", "x", "C"):
                for fields in (_SEARCHED, _SEARCHED[:1]):
                    query = _everything(keyword=Keyword.of(fields, text), limit=100)
                    self._assert_agrees(uow, leads, [], query)
            hits = uow.records(LEAD).query(
                _everything(keyword=Keyword.of(_SEARCHED[:1], "HUAWEI")))
            assert sorted(r.name for r in hits) == ["HUAWEI深圳", "HuaWei", "huawei"]

    def test_hostile_custom_keys_are_data(self, storage: Storage) -> None:
        """Keys with quotes, SQL or JSON-path syntax address exactly their own values."""
        texts = [
            sample_lead(f"T{n}", custom={key: f"v{(n + k) % 3}" for k, key in
                                         enumerate(HOSTILE_KEYS)})
            for n in range(6)
        ] + [sample_lead("T9")]
        lists = [
            sample_lead(f"L{n}", custom={key: [f"v{(n + k) % 3}", "w"][: 1 + n % 2] for k, key
                                         in enumerate(HOSTILE_KEYS)})
            for n in range(5)
        ] + [sample_lead("L9", custom={key: [] for key in HOSTILE_KEYS})]
        for leads in (texts, lists):
            with self.discarded(storage) as uow:
                uow.records(LEAD).add_many(leads)
                for key in HOSTILE_KEYS:
                    if leads is texts:
                        ref = FieldRef(key, ValueKind.TEXT, False)
                        sort: tuple[SortKey, ...] = (SortKey(ref, True),)
                        conditions: tuple[Condition, ...] = (Condition(ref, Operator.EQ, "v1"),
                                      Condition(ref, Operator.IS_EMPTY),
                                      Condition(ref, Operator.IN, ("v0", "v2")))
                    else:
                        ref = FieldRef(key, ValueKind.LIST, False)
                        sort = ()
                        conditions = (Condition(ref, Operator.EQ, "v1"),
                                      Condition(ref, Operator.NE, "w"),
                                      Condition(ref, Operator.IN, ("v0", "v2")),
                                      Condition(ref, Operator.NOT_EMPTY))
                    for condition in conditions:
                        query = _everything(conditions=(condition,), sort=sort, limit=2)
                        self._assert_agrees(uow, leads, [], query)
                assert uow.records(LEAD).count(_everything()) == len(leads)

    def test_team_members_grant_visibility(self, storage: Storage) -> None:
        leads = [sample_lead("L1", owner_id="u1"), sample_lead("L2", owner_id="u2"),
                 sample_lead("L3", owner_id=None)]
        team = [TeamMember(LEAD, "L2", "u3"), TeamMember(LEAD, "L3", "u3", Access.WRITE),
                TeamMember("customer", "L1", "u3")]
        with self.discarded(storage) as uow:
            uow.records(LEAD).add_many(leads)
            uow.team.put_many(team)
            for scope in (RecordScope(team_user_id="u3"),
                          RecordScope(owner_ids=frozenset({"u1"}), team_user_id="u3"),
                          RecordScope(owner_ids=frozenset({"u2"})), RecordScope.nothing(),
                          RecordScope(pool_ids=frozenset({"p1"}))):
                lead_team = [m for m in team if m.record_kind == LEAD]
                self._assert_agrees(uow, leads, lead_team, RecordQuery(scope))

    # -- queries: random cases against the reference interpreter -----------------------------
    def test_queries_agree_with_the_reference_interpreter(self, storage: Storage) -> None:
        @settings(max_examples=self.query_examples, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(
            data=st.data(),
            leads=_leads(),
            memberships=st.lists(
                st.tuples(st.integers(0, 9), st.sampled_from(USERS), st.sampled_from(Access)),
                max_size=6,
            ),
            scope=_SCOPES,
            sort=_SORTS,
            limit=st.integers(1, 4),
        )
        def agree(
            data: st.DataObject, leads: list[Lead],
            memberships: list[tuple[int, str, Access]], scope: RecordScope,
            sort: list[SortKey], limit: int,
        ) -> None:
            how_many = data.draw(st.integers(0, 3), label="how many conditions")
            conditions = [data.draw(_conditions(leads)) for _ in range(how_many)]
            keyword = data.draw(st.none() | st.builds(Keyword.of, st.just(_SEARCHED), _KEYWORDS),
                                label="keyword")
            team = list({
                (leads[i].id, user): TeamMember(LEAD, leads[i].id, user, access)
                for i, user, access in memberships if i < len(leads)
            }.values())
            query = RecordQuery(scope, tuple(conditions), tuple(sort), limit, keyword=keyword)
            with self.discarded(storage) as uow:
                uow.records(LEAD).add_many(leads)
                uow.team.put_many(team)
                self._assert_agrees(uow, leads, team, query)
                if len(conditions) > 1:  # each condition alone too: more partial matches
                    for condition in conditions:
                        alone = attrs.evolve(query, conditions=(condition,))
                        self._assert_agrees(uow, leads, team, alone)

        agree()

    # -- team ----------------------------------------------------------------------------------
    def test_team_members(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.team.put_many([
                TeamMember(LEAD, "L1", "u3"), TeamMember(LEAD, "L1", "u2", Access.WRITE),
                TeamMember(LEAD, "L2", "u2"), TeamMember("customer", "L1", "u4"),
            ])
        with storage.transaction() as uow:
            assert uow.team.members(LEAD, "L1") == [
                TeamMember(LEAD, "L1", "u2", Access.WRITE), TeamMember(LEAD, "L1", "u3"),
            ]
            uow.team.put_many([TeamMember(LEAD, "L1", "u3", Access.WRITE)])
            assert uow.team.access_of(LEAD, "L1", "u3") == TeamMember(
                LEAD, "L1", "u3", Access.WRITE
            )
            assert uow.team.access_of(LEAD, "L1", "u4") is None
            uow.team.remove(LEAD, "L1", "u2")
            uow.team.remove(LEAD, "L1", "nobody")
            assert [m.user_id for m in uow.team.members(LEAD, "L1")] == ["u3"]
            uow.team.put_many([TeamMember(LEAD, "L1", "u1"), TeamMember(LEAD, "L2", "u1"),
                               TeamMember(LEAD, "L3", "u1"), TeamMember(LEAD, "L2", "u4")])
            assert uow.team.members_many(LEAD, ["L2", "L1", "L9"]) == [
                TeamMember(LEAD, "L1", "u1"), TeamMember(LEAD, "L1", "u3", Access.WRITE),
                TeamMember(LEAD, "L2", "u1"), TeamMember(LEAD, "L2", "u2"),
                TeamMember(LEAD, "L2", "u4"),
            ]
            assert uow.team.members_many(LEAD, []) == []
            uow.team.remove_user(LEAD, ["L1", "L2", "L9"], "u1")
            uow.team.remove_user(LEAD, [], "u1")
            assert [m.user_id for m in uow.team.members(LEAD, "L2")] == ["u2", "u4"]
            assert [m.user_id for m in uow.team.members(LEAD, "L3")] == ["u1"]
            uow.team.clear(LEAD, ["L1", "L2", "L3", "L7"])
            assert uow.team.members(LEAD, "L1") == []
            assert uow.team.members(LEAD, "L2") == []
            assert uow.team.members("customer", "L1") == [TeamMember("customer", "L1", "u4")]
            uow.team.put_many([])
            uow.team.clear(LEAD, [])

    # -- shared record features ---------------------------------------------------------------
    def test_field_definitions(self, storage: Storage) -> None:
        first = FieldDefinition(
            LEAD, "budget", "预算", "Budget", "money", required=True, unique=True,
            default="0.00", precision=2, min_value="0", max_value="1000000", help_text="元",
            order=20, hidden=True, reference_kind=None,
        )
        second = FieldDefinition(
            LEAD, "tags", "标签", "Tags", "multiselect", options=("甲", "乙"), max_length=3,
            order=10, retired=True, default=["甲"],
        )
        third = FieldDefinition(LEAD, "alpha", "A", "A", "customer_ref", order=20,
                                reference_kind="customer")
        with storage.transaction() as uow:
            for definition in (first, second, third):
                uow.fields.add(definition)
            uow.fields.add(attrs.evolve(first, kind="customer"))
        with pytest.raises(Conflict) as caught, storage.transaction() as uow:
            uow.fields.add(attrs.evolve(first, label_en="again"))
        assert caught.value.code == "field.key_taken"
        with storage.transaction() as uow:
            assert uow.fields.list(LEAD) == [second, third, first]
            assert uow.fields.list("nothing") == []
            renamed = attrs.evolve(first, label_en="Budget 2", version=2)
            with pytest.raises(Conflict):
                uow.fields.update(renamed, expected_version=2)
            uow.fields.update(renamed, expected_version=1)
            assert uow.fields.list(LEAD)[-1] == renamed
            assert uow.fields.list("customer") == [attrs.evolve(first, kind="customer")]

    def test_scenes(self, storage: Storage) -> None:
        mine = Scene(
            "s2", "u1", LEAD, "重要线索",
            conditions=(ConditionSpec("level", "eq", "A"), ConditionSpec("c_list", "in", ["x"]),
                        ConditionSpec("mobile", "is_empty")),
            sort=(SortSpec("created_at", True), SortSpec("name")),
            is_default=True, order=2,
        )
        other = Scene("s1", "u1", LEAD, "全部", order=2, hidden=True)
        first = Scene("s3", "u1", LEAD, "first", order=1)
        with storage.transaction() as uow:
            for scene in (mine, other, first, Scene("s4", "u2", LEAD, "x"),
                          Scene("s5", "u1", "customer", "x")):
                uow.scenes.add(scene)
        with storage.transaction() as uow:
            assert uow.scenes.get("s2") == mine
            assert uow.scenes.get("nope") is None
            assert uow.scenes.list(user_id="u1", record_kind=LEAD) == [first, other, mine]
            renamed = attrs.evolve(mine, name="renamed", version=2)
            with pytest.raises(Conflict):
                uow.scenes.update(renamed, expected_version=3)
            uow.scenes.update(renamed, expected_version=1)
            uow.scenes.delete("s1")
            uow.scenes.delete("nope")
            assert uow.scenes.list(user_id="u1", record_kind=LEAD) == [first, renamed]

    def test_column_configs(self, storage: Storage) -> None:
        config = ColumnConfig("u1", LEAD, ("name", "c_text", "owner_id"), {"name": 200})
        with storage.transaction() as uow:
            assert uow.columns.get("u1", LEAD) is None
            uow.columns.put(config)
            uow.columns.put(ColumnConfig("u1", "customer", ("name",)))
        with storage.transaction() as uow:
            assert uow.columns.get("u1", LEAD) == config
            replaced = ColumnConfig("u1", LEAD, ("owner_id",))
            uow.columns.put(replaced)
            assert uow.columns.get("u1", LEAD) == replaced
            assert uow.columns.get("u1", "customer") == ColumnConfig("u1", "customer", ("name",))

    def test_followups_newest_first(self, storage: Storage) -> None:
        def followup(fid: str, at: datetime, record_id: str = "L1", **kw: Any) -> FollowUp:
            return FollowUp(fid, LEAD, record_id, "u1", "打电话", f"内容 {fid}", at, T0, **kw)

        full = followup("f2", T0 + timedelta(hours=1), contact_ids=("c1", "c2"),
                        opportunity_ids=("o1",), attachment_ids=("a1",),
                        next_contact_at=T0 + timedelta(days=3))
        items = [followup("f1", T0), full, followup("f3", T0 + timedelta(hours=1)),
                 followup("f4", T0, "L2")]
        with storage.transaction() as uow:
            for item in items:
                uow.followups.add(item)
        with storage.transaction() as uow:
            assert uow.followups.for_record(LEAD, "L1") == [items[2], full, items[0]]
            assert uow.followups.for_record(LEAD, "L1", limit=2) == [items[2], full]
            assert uow.followups.for_record("customer", "L1") == []

    def test_attachments(self, storage: Storage) -> None:
        def attachment(aid: str, at: datetime, record_id: str = "L1") -> Attachment:
            return Attachment(aid, LEAD, record_id, f"{aid:0>32}", f"合同 {aid}.pdf", 2**33,
                              "application/pdf", "ab" * 32, "u1", at)

        items = [attachment("a2", T0), attachment("a1", T0), attachment("a0", T0 - timedelta(1)),
                 attachment("a3", T0, "L2")]
        with storage.transaction() as uow:
            for item in items:
                uow.attachments.add(item)
        with storage.transaction() as uow:
            assert uow.attachments.get("a2") == items[0]
            assert uow.attachments.get("zz") is None
            assert uow.attachments.for_record(LEAD, "L1") == [items[2], items[1], items[0]]
            uow.attachments.delete("a1")
            uow.attachments.delete("zz")
            assert uow.attachments.for_record(LEAD, "L1") == [items[2], items[0]]

    def test_settings(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            assert uow.settings.get("followup.methods") is None
            uow.settings.put("followup.methods", ["打电话", "发邮件"])
            uow.settings.put("attachments", {"max_bytes": 10485760, "types": ["pdf"]})
            uow.settings.put("flag", True)
        with storage.transaction() as uow:
            assert uow.settings.get("followup.methods") == ["打电话", "发邮件"]
            assert uow.settings.get("attachments") == {"max_bytes": 10485760, "types": ["pdf"]}
            assert uow.settings.get("flag") is True
            uow.settings.put("followup.methods", ["见面拜访"])
            uow.settings.put("flag", None)
            assert uow.settings.get("followup.methods") == ["见面拜访"]
            assert uow.settings.get("flag") is None


# -- every declared kind: the contract generated from the declarations -------------------------

CONTRACT_KINDS: tuple[RecordKind[Any], ...] = (*BUILTIN_KINDS, SAMPLE_KIND)
"""The kinds :class:`KindStorageContract` runs for: crmkit's own and the sample kind of
:mod:`crmkit.testing.kinds` (a storage under test must know it)."""

_SHAPE_KINDS = {Shape.TEXT: ValueKind.TEXT, Shape.INT: ValueKind.INTEGER,
                Shape.DECIMAL: ValueKind.DECIMAL, Shape.BOOL: ValueKind.BOOLEAN,
                Shape.DATE: ValueKind.DATE, Shape.DATETIME: ValueKind.DATETIME}
_ID_VALUES = st.sampled_from(["P1", "P2", "a", "中"])
_INT_VALUES = st.integers(-3, 3) | st.sampled_from([-(2**53 - 1), 2**53 - 1])
_VERSIONS = st.integers(-3, 3) | st.sampled_from([-(2**31), 2**31 - 1])
"""``version``: a 32-bit column (PostgreSQL refuses a wider value bound against it)."""
"""Integer attributes: record columns are 64-bit (``version`` aside), fields reach ±(2**53 - 1)."""


def kind_fields(declaration: RecordKind[Any]) -> tuple[FieldRef, ...]:
    """The attributes of a kind that queries filter and sort on (text, numbers, booleans,
    dates, times), as system field references."""
    return tuple(FieldRef(name, _SHAPE_KINDS[shape], True)
                 for name, (shape, _, _) in attribute_shapes(declaration.entity).items()
                 if shape in _SHAPE_KINDS)


def _value_strategy(name: str, hint: Any, digits: int = 20) -> st.SearchStrategy[Any]:
    """Values of an attribute of type ``hint`` from small domains (so conditions match)."""
    shape, optional, bare = attribute_shape(hint)
    values: st.SearchStrategy[Any]
    if name == "version":
        values = st.integers(1, 3)
    elif shape is Shape.TEXT:
        values = _ID_VALUES if is_id(name) else _TEXT
    elif shape is Shape.ENUM:
        values = st.sampled_from(list(bare))
    elif shape is Shape.BOOL:
        values = st.booleans()
    elif shape is Shape.INT:
        values = _INT_VALUES
    elif shape is Shape.DECIMAL:
        values = _DECIMALS.filter(lambda d: abs(d) < Decimal(10) ** (digits - 2))
    elif shape is Shape.DATETIME:
        values = _DATETIMES
    elif shape is Shape.DATE:
        values = _DATES
    elif shape is Shape.TIME:
        values = st.times()
    else:
        values = _document_strategy(bare)
    return st.none() | values if optional else values


def _document_strategy(hint: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(hint) or hint, typing.get_args(hint)
    if attrs.has(origin):
        return _objects(origin)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return _custom_values()
    item = args[0] if args else str
    if attrs.has(item):
        return st.lists(_objects(item), max_size=2).map(tuple)
    items = _ITEMS if item in (str, Any) else _value_strategy("item", item)
    if origin is frozenset:
        return st.frozensets(items, max_size=3)
    return st.lists(items, max_size=3).map(tuple)


def _objects(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Nested attrs objects (a related record, a repeat rule) from their attribute types."""
    inner = attribute_types(cls)
    return st.fixed_dictionaries({n: _value_strategy(n, h, 15) for n, h in inner.items()}
                                 ).map(lambda values: cls(**values))


@st.composite
def kind_records(draw: st.DrawFn, declaration: RecordKind[Any], max_size: int = 8) -> list[Any]:
    """Random records of a declared kind, drawn from its attribute types: distinct ids,
    distinct (or empty) unique values; a pool kind's owned records are in no pool."""
    types = attribute_types(declaration.entity)
    strategies = {name: _value_strategy(name, hint, (declaration.columns.get(name)
                                                     or KindColumn()).digits or 20)
                  for name, hint in types.items()}
    size = draw(st.integers(0, max_size), label="records")
    ids = draw(st.lists(st.text(alphabet="aA1_é", min_size=1, max_size=3), unique=True,
                        min_size=size, max_size=size))
    records = []
    for n, record_id in enumerate(ids):
        values = {name: draw(strategy, label=name) for name, strategy in strategies.items()}
        values["id"] = record_id
        for field in declaration.unique_fields:
            values[field] = draw(st.sampled_from([None, f"N{n}"]))
        if declaration.has(Feature.POOL) and values.get("owner_id") is not None:
            values["pool_id"] = None
        try:
            records.append(declaration.entity(**values))
        except (ValueError, TypeError):
            reject()  # values the entity itself refuses
    return records


def _parent_field(declaration: RecordKind[Any]) -> str | None:
    """The first id attribute that refers to another record (``customer_id`` …), if any."""
    return next((name for name, (shape, _, _) in attribute_shapes(declaration.entity).items()
                 if shape is Shape.TEXT and is_id(name)
                 and name not in ("id", "owner_id", "created_by", "pool_id",
                                  *declaration.unique_fields)), None)


class KindStorageContract(_RecordSuite):
    """The record storage rules for EVERY declared kind (:data:`CONTRACT_KINDS`), generated
    from the declarations: random records round-trip, queries and counts agree with the
    reference interpreter, unique fields, ``reassign`` and ``children_of``.
    ``make_storage`` must return a storage that knows :data:`crmkit.testing.kinds.SAMPLE_KIND`.
    """

    examples = 25
    """Hypothesis examples per kind and property."""

    @pytest.fixture(params=CONTRACT_KINDS, ids=lambda k: k.kind)
    def declaration(self, request: pytest.FixtureRequest) -> RecordKind[Any]:
        kind: RecordKind[Any] = request.param
        return kind

    def _examples(self) -> Callable[[Callable[..., None]], Callable[..., None]]:
        return settings(max_examples=self.examples, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow,
                                               HealthCheck.data_too_large,
                                               HealthCheck.filter_too_much])

    def test_random_records_round_trip(self, storage: Storage,
                                       declaration: RecordKind[Any]) -> None:
        @self._examples()
        @given(records=kind_records(declaration))
        def round_trip(records: list[Any]) -> None:
            with self.discarded(storage) as uow:
                repo = uow.records(declaration)
                repo.add_many(records[::2])
                for record in records[1::2]:
                    repo.add(record)
                ids = [r.id for r in records]
                assert repo.get_many(ids) == sorted(records, key=lambda r: r.id)
                for record in records:
                    assert repo.get(record.id) == record
                assert repo.count(RecordQuery(RecordScope.everything())) == len(records)

        round_trip()

    def test_queries_agree_with_the_reference_interpreter(
            self, storage: Storage, declaration: RecordKind[Any]) -> None:
        fields = kind_fields(declaration) + CUSTOM_FIELDS
        sorts = st.lists(st.builds(SortKey, st.sampled_from(
            [f for f in fields if f.kind is not ValueKind.LIST]), st.booleans()),
            max_size=2, unique_by=lambda k: k.field)

        @self._examples()
        @given(data=st.data(), records=kind_records(declaration), scope=_SCOPES, sort=sorts,
               limit=st.integers(1, 4))
        def agree(data: st.DataObject, records: list[Any], scope: RecordScope,
                  sort: list[SortKey], limit: int) -> None:
            how_many = data.draw(st.integers(0, 2), label="how many conditions")
            conditions = tuple(data.draw(_conditions(records, fields)) for _ in range(how_many))
            with self.discarded(storage) as uow:
                uow.records(declaration).add_many(records)
                query = RecordQuery(scope, conditions, tuple(sort), limit)
                self._assert_agrees(uow, records, [], query, declaration.kind)

        agree()

    def test_unique_fields(self, storage: Storage, declaration: RecordKind[Any]) -> None:
        if not declaration.unique_fields:
            pytest.skip(f"{declaration.kind} has no unique field")

        @self._examples()
        @given(records=kind_records(declaration, max_size=3).filter(lambda r: len(r) >= 2))
        def unique(records: list[Any]) -> None:
            first, second, *_ = records
            for field in declaration.unique_fields:
                with self.discarded(storage) as uow:
                    repo = uow.records(declaration)
                    repo.add(attrs.evolve(first, **{field: "SAME"}))
                    repo.add(attrs.evolve(second, **{field: None}))  # empty never clashes
                    with pytest.raises(Conflict) as caught:
                        repo.add(attrs.evolve(second, id=second.id + "x", **{field: "SAME"}))
                    assert caught.value.code == f"{declaration.kind}.{field}_taken"

        unique()

    def test_reassign(self, storage: Storage, declaration: RecordKind[Any]) -> None:
        at = T0 + timedelta(days=3)

        @self._examples()
        @given(records=kind_records(declaration), data=st.data())
        def reassign(records: list[Any], data: st.DataObject) -> None:
            if declaration.has(Feature.POOL):
                records = [attrs.evolve(r, pool_id=None) for r in records]
            chosen = data.draw(st.lists(st.sampled_from([r.id for r in records] or ["x"]),
                                        max_size=4), label="ids")
            with self.discarded(storage) as uow:
                repo = uow.records(declaration)
                repo.add_many(records)
                assert repo.reassign([*chosen, "nope"], "u3", at) == len(
                    {r.id for r in records} & set(chosen))
                received = ({"received_at": at, "pool_warned_at": None}
                            if declaration.has(Feature.POOL) else {})
                for record in records:
                    expected = (attrs.evolve(record, owner_id="u3", updated_at=at,
                                             version=record.version + 1, **received)
                                if record.id in chosen else record)
                    assert repo.get(record.id) == expected
                assert [c.id for c in repo.children_of("owner_id", ["u3"])] == sorted(
                    r.id for r in records if r.id in chosen or r.owner_id == "u3")

        reassign()

    def test_children_of(self, storage: Storage, declaration: RecordKind[Any]) -> None:
        field = _parent_field(declaration)
        if field is None:
            pytest.skip(f"{declaration.kind} refers to no other record")

        @self._examples()
        @given(records=kind_records(declaration),
               parents=st.lists(_ID_VALUES | st.just("P9"), max_size=3))
        def children(records: list[Any], parents: list[str]) -> None:
            with self.discarded(storage) as uow:
                repo = uow.records(declaration)
                repo.add_many(records)
                assert repo.children_of(field, parents) == sorted(
                    (r.id, r.owner_id, getattr(r, field), r.version) for r in records
                    if getattr(r, field) in parents)

        children()

    _assert_agrees = staticmethod(RecordStorageContract._assert_agrees)
