"""Issue 11, the hostile test: every public facade method, called with hostile arguments (wrong
types, None, huge and negative numbers, NUL / lone surrogates / bidi overrides in text, naive
and out-of-range datetimes, foreign ids, strings where lists are expected, tampered cursors,
deep nesting), answers with a crmkit error or a result — never another exception — and a
refused call writes nothing: the storage's fingerprint (each table's row count and version
sum) is the same before and after. On memory, SQLite and PostgreSQL.

The public methods are found by introspection (each service namespace on ``crm``, every
method whose first parameter is ``actor``), so a new method is fuzzed the day it lands.
``CRMKIT_HOSTILE_EXAMPLES`` runs more examples (e.g. 2000) outside CI.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.entities import Module
from crmkit.errors import CrmError
from crmkit.ports import Storage
from crmkit.workflow.record_access import Record

from .conftest import Org

NAMESPACES = ("org", "fields", "leads", "customers", "pool", "contacts", "products",
              "opportunities", "contracts", "payments", "approvals", "followups", "attachments",
              "scenes", "duplicates")
KINDS = ("lead", "customer", "contact", "product", "opportunity", "contract", "payment")
EXAMPLES = {"memory": 4, "sqlite": 3, "postgres": 2}
"""Examples per backend in CI; each example calls every public method once (~190 calls)."""


def public_methods(crm: Any) -> dict[str, list[tuple[str, Callable[..., Any]]]]:
    """Namespace → its public methods that take the acting user first."""
    found: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
    for namespace in NAMESPACES:
        service = getattr(crm, namespace)
        for name in sorted(dir(service)):
            method = getattr(service, name)
            if name.startswith("_") or not callable(method):
                continue
            parameters = list(inspect.signature(method).parameters)
            if parameters[:1] == ["actor"]:
                found.setdefault(namespace, []).append((name, method))
    return found


# -- storage fingerprints -------------------------------------------------------------------
def _totals(value: Any, depth: int = 0) -> Any:
    """Memory storage as nested (count, version sum) pairs, like the SQL fingerprint."""
    if depth > 6:
        return None
    if isinstance(value, dict | list | tuple | set | frozenset):
        items = list(value.values()) if isinstance(value, dict) else list(value)
        inner = [_totals(v, depth + 1) for v in items
                 if type(v).__module__.startswith("crmkit.adapters.memory")
                 or isinstance(v, dict | list)]
        return (len(items), sum(v for v in (getattr(i, "version", 0) for i in items)
                                if isinstance(v, int)), inner)
    if type(value).__module__.startswith("crmkit.adapters.memory"):
        return sorted((k, _totals(v, depth + 1)) for k, v in vars(value).items()
                      if not k.startswith("_") and k != "undo")
    return None


def fingerprint(storage: Storage) -> str:
    """A digest of what ``storage`` holds: each table's row count and the sum of its versions
    (an insert, a delete or a versioned update changes it) — on SQL in one statement."""
    engine = getattr(storage, "engine", None)
    if engine is None:
        content: Any = _totals(storage)
    else:
        with engine.connect() as connection:
            content = sorted(tuple(row) for row in connection.execute(_table_totals()))
    return hashlib.sha256(repr(content).encode()).hexdigest()


@functools.cache
def _table_totals() -> Any:
    from sqlalchemy import func, literal, select, union_all

    from crmkit.adapters.sqlalchemy import metadata

    return union_all(*[
        select(literal(table.name), func.count(),
               func.coalesce(func.sum(table.c.version), 0) if "version" in table.c
               else literal(0)).select_from(table)
        for table in metadata.sorted_tables])


# -- hostile values ---------------------------------------------------------------------------
HOSTILE_TEXT = ("", " ", "a\x00b", "\ud800", "x\udfffy", "\u202eexe.pdf", "a\r\nb", "\u2066",
                "x" * 70_000, "-1", "NaN", "Infinity", "customer", "../../etc/passwd",
                "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-01T09:00:00",
                "1e999", "9" * 5000, "[]", "{}", "'; DROP TABLE crm_customers; --", "%", "_")
text = st.one_of(st.sampled_from(HOSTILE_TEXT),
                 st.text(st.sampled_from(list("a中\x00\ud800\u202e\r\n \t/\\.%'\"")),
                         max_size=12))
scalars = st.one_of(
    st.none(), st.booleans(), text,
    st.sampled_from([0, -1, 1, 2**31, 2**53, 2**63, 2**64, -(2**70), 10**30]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN"), Decimal("1e999"),
                     Decimal("0.000000000001")]),
    st.sampled_from([datetime(2026, 11, 1, 9, 0), datetime.min, datetime.max,
                     datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC),
                     datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
                     datetime(2099, 1, 1, tzinfo=UTC), date.min, date.max, date(2026, 11, 2)]),
    st.sampled_from([b"bytes", object(), Module.CUSTOMERS, [[[[[[[[[[]]]]]]]]]], (1, 2)]),
)
nested = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(text | st.sampled_from(["name", "id", "op"]), inner,
                                        max_size=3), max_leaves=6)
FIELD_KEYS = ("name", "mobile", "owner_id", "customer_id", "contact_id", "custom", "amount",
              "at", "method", "content", "parent_id", "code", "price", "department_id",
              "role_ids", "stages", "nodes", "number", "status", "source", "email",
              "next_contact_at", "contact_ids", "permissions", "scopes", "conditions", "sort",
              "limit", "cursor", "scene", "type", "key", "label_zh", "label_en", "options",
              "rules", "admin_ids", "member_user_ids", "stage_group_id", "lines", "plan_id",
              "contract_id", "planned_at", "received_at", "start", "kind", "reference_kind")


def tampered_cursors() -> st.SearchStrategy[str]:
    bodies = st.sampled_from([b'{"s":"-updated_at","v":[{"t":"0001-01-01T00:00:00+14:00"},"x"]}',
                              b'{"s":"-updated_at","v":[5,7]}', b'{"s":1}', b"[" * 5000,
                              b'{"s":"-updated_at","v":[{"n":"NaN"},"id1"]}', b"\xff\xfe"])
    return st.one_of(bodies.map(lambda b: base64.urlsafe_b64encode(b).decode()), text)


class World:
    """The sample organisation plus a record of each kind, and the ids hostile calls reuse."""

    def __init__(self, org: Org) -> None:
        crm, self.org = org.crm, org
        self.outsider = org.user("13900000005", "王五", org.finance, "sales_rep")
        customer = crm.customers.create(org.rep, {"name": "华为"})
        group = crm.opportunities.add_stage_group(org.admin, {"name": "流程", "stages": [
            {"name": "初步接洽", "win_rate": "10"}]})
        records: list[Record] = [
            customer, crm.customers.create(org.admin, {"name": "老板的客户"}),
            crm.leads.create(org.rep, {"name": "线索"}),
            crm.contacts.create(org.rep, {"name": "王工", "customer_id": customer.id}),
            crm.products.create(org.admin, {"name": "产品", "code": "P1", "price": "10"}),
            crm.opportunities.create(org.rep, {"name": "项目", "customer_id": customer.id,
                                               "stage_group_id": group.id}),
        ]
        contract = crm.contracts.create(org.rep, {"name": "合同", "customer_id": customer.id,
                                                  "amount": "100"}, submit=True)
        pool = crm.pool.create_pool(org.admin, {"name": "公海", "member_department_ids": [
            org.top.id]})
        attachment = crm.attachments.add(org.rep, "customer", customer.id, "a.pdf", b"%PDF",
                                         "application/pdf")
        scene = crm.scenes.save(org.rep, "customer", {"name": "我的", "conditions": []})
        self.ids = [r.id for r in records] + [
            contract.id, group.id, pool.id, attachment.id, scene.id, org.admin.id, org.rep.id,
            self.outsider.id, org.top.id, org.sales.id, *org.roles.values()]
        self.actors = [org.admin, org.admin, org.rep, self.outsider]

    def value_for(self, name: str) -> st.SearchStrategy[Any]:
        """Arguments for a parameter called ``name``: often plausible, often hostile."""
        ids = st.sampled_from(self.ids)
        if name in ("kind", "record_kind"):
            return st.one_of(st.sampled_from(KINDS), scalars)
        if name.endswith("_id"):
            return st.one_of(ids, ids, scalars)
        if name.endswith("_ids") or name in ("keys", "fields", "methods", "content_types"):
            return st.one_of(st.lists(ids, max_size=3), ids, st.lists(scalars, max_size=3),
                             nested)
        if name in ("data", "changes", "values", "mapping", "chosen", "widths"):
            return st.one_of(st.dictionaries(st.sampled_from(FIELD_KEYS),
                                             st.one_of(ids, nested), max_size=4), nested)
        if name in ("request",):
            return st.one_of(
                st.fixed_dictionaries({}, optional={
                    "cursor": tampered_cursors(), "limit": scalars, "scene": text | ids,
                    "conditions": st.lists(st.fixed_dictionaries({
                        "field": st.sampled_from(FIELD_KEYS) | text,
                        "op": st.sampled_from(["eq", "in", "gt", "between", "contains", "x"]),
                        "value": nested}), max_size=3) | nested,
                    "sort": st.lists(st.fixed_dictionaries(
                        {"field": st.sampled_from(FIELD_KEYS) | text}), max_size=4) | nested}),
                nested)
        if name in ("rules", "items"):
            return st.one_of(st.lists(st.dictionaries(st.sampled_from(FIELD_KEYS), nested,
                                                      max_size=3), max_size=3), nested)
        if name == "cursor":
            return tampered_cursors()
        if name == "module":
            return st.one_of(st.sampled_from(list(Module)), scalars)
        if name in ("access", "keep_old_owner", "status"):
            return st.one_of(st.sampled_from(["read", "write", "active", "disabled"]), scalars)
        return nested


def _hostile_calls(backend: Storage, org: Org, examples: int) -> None:
    world = World(org)
    methods = public_methods(org.crm)
    assert len(methods) == len(NAMESPACES) and sum(map(len, methods.values())) > 150
    before = [fingerprint(backend)]

    everything = [(f"{namespace}.{name}", method)
                  for namespace, found in methods.items() for name, method in found]

    @settings(max_examples=int(os.environ.get("CRMKIT_HOSTILE_EXAMPLES", examples)),
              deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def calls(data: st.DataObject) -> None:
        for name, method in everything:
            parameters = list(inspect.signature(method).parameters.values())[1:]
            args: dict[str, Any] = {}
            for parameter in parameters:
                if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                    continue
                if parameter.default is not parameter.empty and data.draw(st.booleans()):
                    continue
                args[parameter.name] = data.draw(world.value_for(parameter.name),
                                                 label=f"{name}({parameter.name})")
            actor = data.draw(st.sampled_from(world.actors))
            try:
                method(actor, **args)
            except CrmError:
                after = fingerprint(backend)
                assert after == before[0], f"{name} refused but wrote: {args!r:.500}"
            else:
                before[0] = fingerprint(backend)

    calls()


def test_hostile_arguments_raise_only_crmkit_errors_and_write_nothing(
        backend: Storage, org: Org, request: pytest.FixtureRequest) -> None:
    _hostile_calls(backend, org, EXAMPLES[request.node.callspec.params["backend"]])
