"""The approval storage contract on memory, SQLite (in memory and in a file) and PostgreSQL,
plus what only SQL can get wrong: the row mapping covers every column, one statement per
sequence value and per received sum, and concurrent transactions (50 threads taking sequence
values at once; two approvers updating the same instance at the same moment)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine

from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.sqlalchemy import RECORD_TABLES, SqlStorage
from crmkit.adapters.sqlalchemy.rows import PAYMENT_PLAN_ROWS, RECORD_ROWS
from crmkit.adapters.sqlalchemy.tables import contracts, payment_plans, payments
from crmkit.entities.approvals import ApprovalMode, ApprovalStatus, ApprovalStep
from crmkit.entities.contract_fields import CONTRACT_FIELDS, PAYMENT_FIELDS
from crmkit.entities.contracts import CONTRACT, PAYMENT
from crmkit.errors import Conflict
from crmkit.ports import Storage
from crmkit.testing import ApprovalStorageContract
from crmkit.testing.approvals import sample_contract, sample_instance, sample_payment, sample_plan

from .conftest import (
    PostgresBackend,
    SqliteFileBackend,
    empty_pg_storage,
    in_threads,
    private_pg_schema,
    statements,
)

SEQUENCE = ("contract", "2026-11-27")
THREADS = 50

# -- storages ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """This module's private schema, with a pool large enough for the concurrency tests (the
    contract suite and ``sql_storage`` of conftest use it)."""
    with private_pg_schema(pg_url, pool_size=THREADS + 5, max_overflow=0) as engine:
        yield engine


class TestMemoryApprovalStorage(ApprovalStorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()


class TestSqliteApprovalStorage(ApprovalStorageContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://")


class TestSqliteFileApprovalStorage(SqliteFileBackend, ApprovalStorageContract):
    examples = 15


@pytest.mark.postgres
class TestPostgresApprovalStorage(PostgresBackend, ApprovalStorageContract):
    examples = 25


# -- SQL only: mapping and statements ------------------------------------------------------------


@pytest.mark.parametrize(("mapper", "table"), [
    (RECORD_ROWS[CONTRACT], contracts), (RECORD_ROWS[PAYMENT], payments),
    (PAYMENT_PLAN_ROWS, payment_plans),
])
def test_the_generic_mapper_fills_exactly_the_table_columns(mapper: Any, table: Any) -> None:
    assert mapper.columns == {c.name for c in table.c}


@pytest.mark.parametrize(("kind", "fields"), [(CONTRACT, CONTRACT_FIELDS),
                                              (PAYMENT, PAYMENT_FIELDS)])
def test_every_system_field_is_a_column(kind: str, fields: Any) -> None:
    """The query compiler maps a system field key to the column of the same name."""
    columns = RECORD_TABLES[kind].table.c
    assert [f.key for f in fields if f.key not in columns] == []


def test_the_mapper_refuses_unknown_attributes() -> None:
    from crmkit.adapters.sqlalchemy.rows import MAPPING, attrs_row_mapper
    from crmkit.entities.contracts import Payment

    with pytest.raises(ValueError, match="no attributes"):
        attrs_row_mapper(Payment, {"cutsom": MAPPING})
    with pytest.raises(ValueError, match="no attributes"):
        attrs_row_mapper(Payment, renames={"cutsom": "custom2"})
    with pytest.raises(ValueError, match="shadow"):
        attrs_row_mapper(Payment, computed={"amount": lambda p: p.amount})


def test_one_statement_per_sequence_value_and_per_sum(sql_storage: SqlStorage) -> None:
    ids = [f"K{n:05d}" for n in range(3000)]
    with sql_storage.transaction() as uow:
        uow.records(PAYMENT).add_many([
            sample_payment(f"P{n}", ids[n], approval_status=ApprovalStatus.APPROVED)
            for n in range(0, 3000, 7)])
    with sql_storage.transaction() as uow, statements(sql_storage.engine) as seen:
        assert uow.sequences.next(*SEQUENCE) == 1
        assert uow.sequences.next(*SEQUENCE) == 2
        assert len(uow.plans.received_by_contract(ids)) == len(range(0, 3000, 7))
        uow.plans.received_by_plan(ids)
    assert len(seen) == 4
    assert "ON CONFLICT" in seen[0]
    assert "RETURNING" in seen[0]


def test_due_plans_are_one_statement_a_page(sql_storage: SqlStorage) -> None:
    on = date(2026, 12, 1)
    with sql_storage.transaction() as uow:
        uow.records(CONTRACT).add(sample_contract("K1", approval_status=ApprovalStatus.APPROVED))
        uow.plans.add_many([sample_plan(f"PL{n:02d}", period=n) for n in range(1, 50)])
    with sql_storage.transaction() as uow, statements(sql_storage.engine) as seen:
        assert len(uow.plans.due(on)) == 49
        assert [p.id for p in uow.plans.due(on, after=(on, "PL02"), limit=3)] == [
            "PL03", "PL04", "PL05"]
    assert len(seen) == 2, seen


# -- concurrency ---------------------------------------------------------------------------------


def _take_values(storage: SqlStorage, *, meet_inside: bool) -> list[Any]:
    """50 transactions take a value of the same sequence at once. On PostgreSQL they meet
    inside their transactions (all open, then all upsert); SQLite's ``BEGIN IMMEDIATE``
    admits one writer at a time, so there they meet just before beginning."""
    barrier = threading.Barrier(THREADS, timeout=60)

    def take(_: int) -> int:
        if not meet_inside:
            barrier.wait()
        with storage.transaction() as uow:
            if meet_inside:
                barrier.wait()
            return uow.sequences.next(*SEQUENCE)

    values, elapsed = in_threads(THREADS, take)
    print(f"\n{THREADS} concurrent sequence values on {storage.engine.dialect.name}: "
          f"{elapsed * 1000:.0f} ms")
    return values


@pytest.mark.postgres
def test_concurrent_sequence_values_are_distinct_on_postgresql(
    pg_engine: Engine,
) -> None:
    storage = empty_pg_storage(pg_engine)
    values = _take_values(storage, meet_inside=True)
    assert sorted(values) == list(range(1, THREADS + 1))
    with storage.transaction() as uow:
        assert uow.sequences.next(*SEQUENCE) == THREADS + 1


def test_concurrent_sequence_values_are_distinct_on_a_sqlite_file(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite:///{tmp_path / 'crm.db'}")
    storage.create_schema()
    values = _take_values(storage, meet_inside=False)
    assert sorted(values) == list(range(1, THREADS + 1))


@pytest.mark.postgres
def test_two_approvers_at_the_same_moment_one_wins(pg_engine: Engine) -> None:
    """Both load version 1 in their own transactions and update at the same moment: the
    second UPDATE waits on the first's row lock, then finds version 2 and conflicts."""
    storage = empty_pg_storage(pg_engine)
    running = sample_instance("I1", "K1", steps=(ApprovalStep("n1", ApprovalMode.ANY,
                                                              ("u1", "u2")),))
    with storage.transaction() as uow:
        uow.approvals.add(running)
    barrier = threading.Barrier(2, timeout=30)
    approver = ("u1", "u2")

    def approve(n: int) -> str:
        with storage.transaction() as uow:
            loaded = uow.approvals.get("I1")
            assert loaded is not None
            barrier.wait()
            step = attrs.evolve(loaded.steps[0], approved_by=(approver[n],))
            uow.approvals.update(
                attrs.evolve(loaded, steps=(step,), current=1, status=ApprovalStatus.APPROVED,
                             version=loaded.version + 1),
                expected_version=loaded.version)
            time.sleep(0.2)  # hold the row lock: the other UPDATE runs against it
        return approver[n]

    results, elapsed = in_threads(2, approve)
    print(f"\ntwo concurrent approvals on postgresql: {elapsed * 1000:.0f} ms")
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert losers[0].code == "version_conflict"
    with storage.transaction() as uow:
        stored = uow.approvals.get("I1")
        assert stored is not None
        assert stored.version == 2
        assert stored.steps[0].approved_by == (winners[0],)
        assert uow.approvals.waiting_for("u1") == uow.approvals.waiting_for("u2") == []
