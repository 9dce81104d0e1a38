"""公海 Public pool storage: the pool tables and :class:`SqlPools`, the SQL interpreter of
reclaim specs (:class:`~crmkit.entities.pool.ReclaimSpec`).

- ``crm_pools`` holds one row per pool (id sets and rules as JSON); ``crm_pool_claims`` one row
  per claimed customer, indexed by (user, time) for the daily claim limit.
- A spec compiles to ONE predicate over ``crm_customers`` (owner ∈ members ∧ not locked ∧ not
  pooled ∧ (clause₁ ∨ clause₂ ∨ …)), each clause a conjunction of plain column comparisons
  against the clause's cutoff instant plus ``NOT EXISTS`` probes of ``crm_opportunities``; the
  first matching clause is a ``CASE``. :meth:`SqlPools.candidates` is one SELECT;
  :meth:`SqlPools.reclaim` three statements (that SELECT, row-locking on PostgreSQL; one UPDATE
  of the selected ids; one DELETE of their team rows), whatever the number of customers —
  proved equal to :func:`crmkit.policies.reclaim.select` and to the rule text by
  :class:`crmkit.testing.PoolStorageContract`. (Not one ``UPDATE … RETURNING <CASE>``: SQLite
  renders RETURNING columns unqualified, so the ``NOT EXISTS`` probes inside the ``CASE``
  would bind ``id`` to the opportunity's own id.)
- Concurrency: ``take`` only takes customers still in the pool without an owner, and ``put``
  only moves customers, at the version the caller read, each in one UPDATE (PostgreSQL
  re-checks the condition on a row another transaction just changed, so of two concurrent
  claims, or a release and a transfer, exactly one changes the customer); ``lock_owners``
  takes row locks on the users' ``crm_users`` rows on PostgreSQL (SQLite transactions are
  ``BEGIN IMMEDIATE``), serialising each user's claims and gains.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Index,
    Integer,
    Table,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from crmkit.adapters.sqlalchemy.base import Repository
from crmkit.adapters.sqlalchemy.records import at_versions
from crmkit.adapters.sqlalchemy.rows import attrs_row_mapper
from crmkit.adapters.sqlalchemy.scope import in_id_set
from crmkit.adapters.sqlalchemy.tables import (
    JSONDocument,
    UTCDateTime,
    code_point_string,
    customers,
    metadata,
    opportunities,
    team_members,
    users,
)
from crmkit.entities.pool import (
    Pool,
    ReclaimCandidate,
    ReclaimSpec,
    RuleClause,
    RuleType,
)
from crmkit.entities.sales import CUSTOMER, DEAL_WON, OpportunityStatus
from crmkit.policies.pool_moves import put_values, take_values

pools = Table(
    "crm_pools",
    metadata,
    Column("id", code_point_string(64), primary_key=True),
    Column("name", code_point_string(200), nullable=False),
    Column("admin_ids", JSONDocument, nullable=False),
    Column("member_user_ids", JSONDocument, nullable=False),
    Column("member_department_ids", JSONDocument, nullable=False),
    Column("rules", JSONDocument, nullable=False),
    Column("daily_claim_limit", Integer, nullable=True),
    Column("claim_back_days", Integer, nullable=False),
    Column("warn_days", Integer, nullable=False),
    Column("reclaim_enabled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)
"""公海: id sets as sorted JSON lists, rules as a JSON list of objects."""

pool_claims = Table(
    "crm_pool_claims",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("customer_id", code_point_string(64), nullable=False),
    Column("user_id", code_point_string(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_crm_pool_claims_user_at", "user_id", "at"),
)
"""领取记录: one row per claimed customer (the daily claim limit counts them)."""


# -- rows --------------------------------------------------------------------------------------


POOL_ROWS = attrs_row_mapper(Pool)
"""Pools one column per attribute: the id sets as sorted JSON lists, the rules as a JSON list of
``{type, days, days_by_level, reclaim_won, reclaim_with_open_opportunities}``."""


# -- the reclaim predicate ---------------------------------------------------------------------

_c = customers.c
_o = opportunities.c


def _not_won() -> ColumnElement[bool]:
    return _c.deal_status != DEAL_WON


def _no_open_opportunity() -> ColumnElement[bool]:
    return ~exists().where(
        _o.customer_id == _c.id, _o.status == OpportunityStatus.IN_PROGRESS.value
    )


def clause_predicate(clause: RuleClause) -> ColumnElement[bool]:
    """One clause as SQL, term for term :func:`crmkit.policies.reclaim.clause_matches`.

    Column tests come first and the opportunity probes last: SQLite evaluates ``AND`` terms in
    order, so a probe runs only for customers whose own columns already match."""
    terms: list[ColumnElement[bool]] = []
    if clause.levels is not None:
        terms.append(_c.level.in_(clause.levels) if clause.levels else false())
    if not clause.reclaim_won or clause.type is RuleType.DEAL:
        terms.append(_not_won())
    # the receive time; a customer never received counts from its creation
    terms.append(func.coalesce(_c.received_at, _c.created_at) < clause.cutoff)
    if clause.type is RuleType.FOLLOWUP:
        terms.append(or_(_c.last_followup_at.is_(None), _c.last_followup_at < clause.cutoff))
    if not clause.reclaim_with_open_opportunities:
        terms.append(_no_open_opportunity())
    if clause.type is RuleType.OPPORTUNITY:
        terms.append(~exists().where(_o.customer_id == _c.id, _o.created_at >= clause.cutoff))
    return and_(*terms)


SQLITE_INLINE_OWNERS = 30_000
"""On SQLite, owner sets up to this size are an expanding ``IN (?, ?, …)`` (below SQLite's
32,766 bound-parameter limit) rather than one JSON parameter: the planner then knows how many
owners there are and scans the table for a pool covering most owners, where with ``json_each``
it guesses a few and probes the owner index once per member."""


def _owner_in(owner_ids: frozenset[str], dialect: str) -> ColumnElement[bool]:
    if dialect == "sqlite" and 0 < len(owner_ids) <= SQLITE_INLINE_OWNERS:
        return and_(_c.owner_id.is_not(None), _c.owner_id.in_(sorted(owner_ids)))
    return in_id_set(_c.owner_id, owner_ids)


def eligible_predicate(spec: ReclaimSpec, dialect: str) -> ColumnElement[bool]:
    """Owned by a member of the pool, not locked, not in a pool (:func:`~crmkit.policies.
    reclaim.eligible`)."""
    return and_(_owner_in(spec.owner_ids, dialect), _c.locked == false(),
                _c.pool_id.is_(None))


def spec_predicate(spec: ReclaimSpec, dialect: str
                   ) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """``(where, first)``: the customers ``spec`` selects, and the position in ``spec.clauses``
    of the first clause that selects one (a ``CASE``)."""
    clauses = [clause_predicate(c) for c in spec.clauses]
    if not clauses:
        return false(), literal(None)
    first = case(*[(p, i) for i, p in enumerate(clauses)], else_=None)
    return and_(eligible_predicate(spec, dialect), or_(*clauses)), first


# -- repository --------------------------------------------------------------------------------


class SqlPools(Repository):
    """:class:`~crmkit.ports.pool.PoolRepository` on ``crm_pools``, ``crm_pool_claims`` and the
    customer rows."""

    kind = "pool"
    table = pools

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._postgres = conn.dialect.name == "postgresql"

    # -- pools ------------------------------------------------------------------------------
    def get(self, pool_id: str) -> Pool | None:
        return self._one(select(pools).where(pools.c.id == pool_id), POOL_ROWS.from_row)

    def list(self) -> builtins.list[Pool]:
        """All pools by id."""
        rows = self._conn.execute(select(pools).order_by(pools.c.id)).mappings()
        return [POOL_ROWS.from_row(row) for row in rows]

    def add(self, pool: Pool) -> None:
        self._insert(POOL_ROWS.to_row(pool))

    def update(self, pool: Pool, *, expected_version: int) -> None:
        self._update_versioned(POOL_ROWS.to_row(pool), expected_version)

    def delete(self, pool_id: str) -> None:
        self._delete(pool_id)

    # -- reclaim ----------------------------------------------------------------------------
    def _select(self, spec: ReclaimSpec, *, unwarned: bool = False, lock: bool = False
                ) -> builtins.list[ReclaimCandidate]:
        if not spec.clauses or not spec.owner_ids:
            return []
        where, first = spec_predicate(spec, self._conn.dialect.name)
        if unwarned:
            where = and_(where, _c.pool_warned_at.is_(None))
        statement = select(_c.id, _c.owner_id, first).where(where).order_by(_c.id)
        if lock:
            statement = statement.with_for_update(key_share=True)
        rules = [(c.rule_index, c.type) for c in spec.clauses]
        return [ReclaimCandidate(cid, owner, spec.pool_id, *rules[position])
                for cid, owner, position in self._conn.execute(statement).all()]

    def candidates(
        self, spec: ReclaimSpec, *, unwarned: bool = False
    ) -> builtins.list[ReclaimCandidate]:
        """One SELECT of (id, owner, first clause), by customer id."""
        return self._select(spec, unwarned=unwarned)

    def reclaim(self, spec: ReclaimSpec, at: datetime) -> builtins.list[ReclaimCandidate]:
        """Three statements: the candidates (row-locked on PostgreSQL: ``FOR NO KEY UPDATE``
        re-checks the predicate on a row another transaction changes meanwhile, so a customer
        locked or followed up concurrently is not swept), one ``UPDATE … WHERE id IN (…)`` of
        them and one DELETE of their team rows (ids bound as one parameter when many)."""
        moved = self._select(spec, lock=self._postgres)
        if not moved:
            return []
        ids = [c.customer_id for c in moved]
        self._conn.execute(
            update(customers)
            .where(in_id_set(_c.id, ids))
            .values(**put_values(spec.pool_id, at), previous_owner_id=_c.owner_id,
                    version=_c.version + 1, updated_at=at)
        )
        self._clear_team(ids)
        return moved

    def _clear_team(self, customer_ids: Sequence[str]) -> None:
        if customer_ids:
            self._conn.execute(delete(team_members).where(
                team_members.c.record_kind == CUSTOMER,
                in_id_set(team_members.c.record_id, customer_ids)))

    def mark_warned(self, customer_ids: Sequence[str], at: datetime) -> None:
        if customer_ids:
            self._conn.execute(update(customers).where(in_id_set(_c.id, customer_ids))
                               .values(pool_warned_at=at))

    # -- claim, assign, release -------------------------------------------------------------
    def take(self, versions: Mapping[str, int], pool_id: str, owner_id: str, at: datetime
             ) -> int:
        """One UPDATE of the customers still in ``pool_id`` without an owner (the WHERE of
        :func:`~crmkit.policies.pool_moves.takeable`), at the version read."""
        if not versions:
            return 0
        statement = (
            update(customers)
            .where(in_id_set(_c.id, builtins.list(versions)), at_versions(customers, versions),
                   _c.pool_id == pool_id, _c.owner_id.is_(None))
            .values(**take_values(owner_id, at), version=_c.version + 1, updated_at=at)
        )
        return int(self._conn.execute(statement).rowcount)

    def put(self, versions: Mapping[str, int], pool_id: str, at: datetime
            ) -> builtins.list[str]:
        """One ``UPDATE … RETURNING id`` of those not in ``pool_id`` yet (the WHERE of
        :func:`~crmkit.policies.pool_moves.puttable`; the previous owner of
        :func:`~crmkit.policies.pool_moves.previous_owner` as a COALESCE), at the version read;
        one team DELETE."""
        if not versions:
            return []
        statement = (
            update(customers)
            .where(in_id_set(_c.id, builtins.list(versions)),
                   at_versions(customers, versions),
                   or_(_c.pool_id.is_(None), _c.pool_id != pool_id))
            .values(**put_values(pool_id, at),
                    previous_owner_id=func.coalesce(_c.owner_id, _c.previous_owner_id),
                    version=_c.version + 1, updated_at=at)
            .returning(_c.id)
        )
        moved = set(self._conn.execute(statement).scalars())
        self._clear_team(builtins.list(moved))
        return [cid for cid in versions if cid in moved]

    def lock_owners(self, user_ids: Sequence[str]) -> None:
        """PostgreSQL: ``SELECT … ORDER BY id FOR NO KEY UPDATE`` of the users' rows (in id
        order, so two such locks never deadlock) — it serialises their claims and gains without
        blocking foreign-key checks against the rows. SQLite: nothing (``BEGIN IMMEDIATE``
        transactions already run one at a time)."""
        if self._postgres and user_ids:
            self._conn.execute(
                select(users.c.id).where(in_id_set(users.c.id, user_ids))
                .order_by(users.c.id).with_for_update(key_share=True)
            )

    def add_claims(self, claims: Sequence[tuple[str, str, datetime]]) -> None:
        """One executemany INSERT."""
        if claims:
            self._conn.execute(insert(pool_claims), [
                {"customer_id": cid, "user_id": uid, "at": at} for cid, uid, at in claims])

    def claims_since(self, user_id: str, since: datetime) -> int:
        statement = select(func.count()).select_from(pool_claims).where(
            pool_claims.c.user_id == user_id, pool_claims.c.at >= since)
        return int(self._conn.execute(statement).scalar_one())
