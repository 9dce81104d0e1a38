"""The statistics contract (:class:`crmkit.testing.StatisticsContract`) on memory, SQLite and
PostgreSQL: every tally equals the reference interpreter and the naive oracle; plus what only
SQL can get wrong: a tally is one statement, whatever the number of buckets or owners."""

from __future__ import annotations

from datetime import date

import pytest

from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities.statistics import Granularity, GroupBy, Measure, PeriodKind, Tally
from crmkit.policies.periods import buckets, period
from crmkit.ports import Storage
from crmkit.testing import StatisticsContract
from crmkit.testing.statistics import TZ

from .conftest import PostgresBackend, statements


class TestMemoryStatistics(StatisticsContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()


class TestSqliteStatistics(StatisticsContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://")

    def test_a_daily_trend_over_thousands_of_owners_is_one_statement(self) -> None:
        storage = SqlStorage("sqlite://")
        storage.create_schema()
        year = period(PeriodKind.THIS_YEAR, date(2026, 12, 3))
        spec = Tally(Measure.CONTRACTS, frozenset(f"u{n}" for n in range(5000)),
                     buckets(year, Granularity.DAY, TZ), GroupBy.OWNER)
        with storage.transaction() as uow, statements(storage.engine) as seen:
            assert uow.statistics.tally(spec) == []
        assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1


@pytest.mark.postgres
class TestPostgresStatistics(PostgresBackend, StatisticsContract):
    pass
