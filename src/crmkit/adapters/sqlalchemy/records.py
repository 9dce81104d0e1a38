"""Core repositories for business records and their shared features (DESIGN §4).

- Record kinds are a registry (:data:`RECORD_TABLES`): kind → table + row ↔ entity functions,
  all generated from the kind's :class:`~crmkit.entities.kinds.RecordKind` declaration (a host's
  own kinds too: :func:`record_storage`); :class:`SqlRecords` serves every kind the same way.
- Queries are compiled by :class:`~crmkit.adapters.sqlalchemy.querying.QueryCompiler`: a page
  is one SELECT, a total one ``SELECT count(*)``; no statement per row anywhere.
- Set-based writes: ``reassign`` is one ``UPDATE … WHERE id IN (…)`` whatever the number of ids
  (large id sets are bound as one array/JSON parameter), ``add_many``/``put_many`` are one
  executemany each; "insert or update" is ``INSERT … ON CONFLICT DO UPDATE``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    MetaData,
    RowMapping,
    Select,
    String,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from crmkit.adapters.sqlalchemy import scope as id_sets
from crmkit.adapters.sqlalchemy.base import (
    Repository,
    bulk_insert,
    dialect_insert,
    raise_write_conflict,
    taken,
    version_conflict,
    versioned_params,
    versioned_update,
)
from crmkit.adapters.sqlalchemy.querying import QueryCompiler
from crmkit.adapters.sqlalchemy.rows import (
    ATTACHMENT_ROWS,
    CATEGORY_ROWS,
    COLUMN_CONFIG_ROWS,
    COMMENT_ROWS,
    FIELD_DEFINITION_ROWS,
    FOLLOWUP_ROWS,
    PRICE_CHANGE_ROWS,
    RECORD_ROWS,
    SCENE_ROWS,
    STAGE_CHANGE_ROWS,
    STAGE_GROUP_ROWS,
    TAG_ROWS,
    TARGET_ROWS,
    RowMapper,
    record_row_mapper,
)
from crmkit.adapters.sqlalchemy.scope import in_id_set, in_key_set, key_set_test
from crmkit.adapters.sqlalchemy.tables import (
    NAMING_CONVENTION,
    RECORD_KIND_TABLES,
    attachments,
    categories,
    column_configs,
    comments,
    field_definitions,
    followups,
    metadata,
    price_changes,
    record_links,
    record_table,
    scenes,
    settings,
    stage_changes,
    stage_groups,
    tags,
    targets,
    team_members,
)
from crmkit.entities import JSONValue
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.kinds import BUILTIN_KINDS, RecordKind, with_host_kinds
from crmkit.entities.query import FieldRef, RecordQuery
from crmkit.entities.records import (
    Access,
    Attachment,
    ColumnConfig,
    FollowUp,
    RecordLink,
    RecordRef,
    TeamMember,
)
from crmkit.entities.timeline import FOLLOWUP_ITEM, TimelineKey
from crmkit.errors import Conflict
from crmkit.ports.entity_store import (
    CATEGORIES,
    COMMENTS,
    PRICE_CHANGES,
    SCENES,
    STAGE_CHANGES,
    STAGE_GROUPS,
    TAGS,
    TARGETS,
    EntityKind,
)
from crmkit.ports.records import Child

R = TypeVar("R")
E = TypeVar("E")
UNIQUE_CHUNK = 1000


@attrs.frozen
class RecordTable(Generic[R]):
    """How one record kind is stored: its table (``id``, ``owner_id``, ``version``,
    ``updated_at``, ``custom`` columns, optionally ``pool_id``) and its row ↔ entity functions."""

    kind: str
    table: Table
    to_row: Callable[[R], dict[str, Any]]
    from_row: Callable[[RowMapping], R]
    unique_fields: tuple[str, ...] = ()
    """Columns no two records share unless empty (each with a unique index over its non-empty
    values): ``<kind>.<field>_taken``."""
    read: Callable[[Sequence[Any]], R] | None = None
    """``from_row`` by position, for rows of ``select(table)`` (the table's column order);
    None: ``from_row`` on the mapping view."""


def record_storage(declaration: RecordKind[Any], table: Table) -> RecordTable[Any]:
    """How a declared kind is stored in ``table`` (see :func:`~crmkit.adapters.sqlalchemy.
    tables.record_table`): rows mapped by the generated :func:`~crmkit.adapters.sqlalchemy.rows.
    record_row_mapper`."""
    rows = RECORD_ROWS.get(declaration.kind)
    if rows is None or rows.cls is not declaration.entity:
        rows = record_row_mapper(declaration)
    return RecordTable(declaration.kind, table, rows.to_row, rows.from_row,
                       declaration.unique_fields, rows.reader([c.name for c in table.c]))


RECORD_TABLES: dict[str, RecordTable[Any]] = {
    k.kind: record_storage(k, RECORD_KIND_TABLES[k.kind]) for k in BUILTIN_KINDS
}
"""Built-in record kind → storage, derived from the declarations
(:data:`crmkit.entities.kinds.BUILTIN_KINDS`)."""


def declared_record_tables(
    kinds: Iterable[RecordKind[Any]],
) -> tuple[MetaData, dict[str, RecordTable[Any]]]:
    """The storage of a host's own record kinds: their tables, generated into a
    :class:`~sqlalchemy.MetaData` of their own (crmkit's :data:`~crmkit.adapters.sqlalchemy.
    tables.metadata`, migrations and schema fingerprint stay untouched), and the registry of
    every kind, crmkit's and the host's. A kind named twice (or like a built-in one) or a table
    named like another is a ``ValueError``."""
    extra = MetaData(naming_convention=NAMING_CONVENTION)
    registry = dict(RECORD_TABLES)
    for declaration in with_host_kinds(kinds).values():
        if declaration.kind in RECORD_TABLES:
            continue
        taken = {name.lower() for name in (*metadata.tables, *extra.tables)}
        if declaration.table.lower() in taken:
            raise ValueError(f"record kind {declaration.kind!r}: table {declaration.table!r} "
                             "is taken")
        registry[declaration.kind] = record_storage(declaration,
                                                    record_table(declaration, extra))
    return extra, registry


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert each row, or update the non-key columns of the row with the same ``keys``: one
    ``INSERT … ON CONFLICT (keys) DO UPDATE`` executemany. Later duplicates win."""
    unique = list({tuple(row[k] for k in keys): row for row in rows}.values())
    if not unique:
        return
    insert_ = dialect_insert(conn, table)
    statement = insert_.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c.name: insert_.excluded[c.name] for c in table.c if c.name not in keys},
    )
    conn.execute(statement, unique)


# -- records -----------------------------------------------------------------------------------


_ADVISORY_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM "
    "(SELECT hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k "
    "ORDER BY h) AS ordered"
)


def at_versions(table: Table, versions: Mapping[str, int]) -> ColumnElement[bool]:
    """Each row still at the version the caller read: ``id || ':' || version`` is one of the
    ``"<id>:<version>"`` tokens, bound as one id set (any number of rows, both dialects). Under
    PostgreSQL's READ COMMITTED an UPDATE waiting on a row another transaction changed
    re-checks this on the new row, so of two writers that read the same version one wins."""
    token = table.c.id.concat(":").concat(cast(table.c.version, String))
    return in_id_set(token, [f"{rid}:{version}" for rid, version in versions.items()])


_BY_ID: dict[Table, Select[Any]] = {}
"""``SELECT … WHERE id = :record_id`` per record table, built once."""
_MANY: dict[tuple[Table, str, bool], Select[Any]] = {}
"""``SELECT … WHERE id IN :record_ids`` per record table, dialect and form (listed or one
bound set, see :func:`~crmkit.adapters.sqlalchemy.scope.key_set_test`), built once."""


class SqlRecords(Repository):
    """:class:`~crmkit.ports.records.RecordRepository` over one :class:`RecordTable`."""

    def __init__(self, conn: Connection, storage: RecordTable[Any]) -> None:
        super().__init__(conn)
        self.kind = storage.kind
        self.table = storage.table
        self.unique_fields = storage.unique_fields
        self._to_row = storage.to_row
        self._from_row = storage.from_row
        self._read = storage.read
        self._compiler = QueryCompiler(storage.table, storage.kind, conn.dialect.name)

    def _all(self, statement: Select[Any], parameters: Mapping[str, Any] | None = None
             ) -> list[Any]:
        """The records ``statement`` (a ``select(table)``) finds."""
        result = self._conn.execute(statement, parameters)
        read = self._read
        if read is None:
            return [self._from_row(row) for row in result.mappings()]
        return [read(row) for row in result.fetchall()]

    def get(self, record_id: str) -> Any | None:
        statement = _BY_ID.get(self.table)
        if statement is None:
            statement = _BY_ID[self.table] = select(self.table).where(
                self.table.c.id == bindparam("record_id"))
        found = self._all(statement, {"record_id": record_id})
        return found[0] if found else None

    def get_many(self, record_ids: Sequence[str]) -> list[Any]:
        """The existing records among ``record_ids``, by id; one statement."""
        if not record_ids:
            return []
        ids = list(dict.fromkeys(record_ids))
        key = (self.table, self._conn.dialect.name, len(ids) > id_sets.KEY_INLINE_LIMIT)
        statement = _MANY.get(key)
        if statement is None:
            statement = _MANY[key] = (
                select(self.table)
                .where(key_set_test(self.table.c.id, "record_ids", len(ids)))
                .order_by(*self._compiler.order_by(()))
            )
        return self._all(statement, {"record_ids": ids})

    def add(self, record: Any) -> None:
        """Insert; an existing id → ``Conflict(<kind>.exists)``, a unique value another record
        holds → ``Conflict(<kind>.<field>_taken)``."""
        row = self._to_row(record)
        self._check_unique([row])
        self._insert(row)

    def add_many(self, records: Sequence[Any]) -> None:
        """One executemany INSERT (COPY on PostgreSQL for big batches, see
        :func:`~crmkit.adapters.sqlalchemy.base.bulk_insert`); any existing id →
        ``Conflict(<kind>.exists)``."""
        if not records:
            return
        try:
            bulk_insert(self._conn, self.table, [self._to_row(r) for r in records])
        except IntegrityError as err:
            raise_write_conflict(err, self.kind, self.unique_fields)

    def update(self, record: Any, *, expected_version: int, previous: Any | None = None
               ) -> None:
        """Versioned UPDATE; with ``previous`` (the record as read) only the changed columns
        are sent and only changed unique values checked."""
        row = self._to_row(record)
        before = None if previous is None else self._to_row(previous)
        self._check_unique([row], self._changed_unique([row], [before]))
        self._update_versioned(row, expected_version, before)

    def update_many(self, records: Sequence[Any], expected_versions: Sequence[int],
                    previous: Sequence[Any] | None = None) -> None:
        """One executemany ``UPDATE … WHERE id = :id AND version = :expected`` (after one
        SELECT per unique field and chunk); fewer rows matched than records → ``Conflict``.
        With ``previous`` (the records as read) only the columns that changed in some record
        are sent."""
        rows = [self._to_row(r) for r in records]
        if not rows:
            return
        befores: list[dict[str, Any] | None] = (
            [None] * len(rows) if previous is None else [self._to_row(p) for p in previous])
        self._check_unique(rows, self._changed_unique(rows, befores))
        if not self._conn.dialect.supports_sane_multi_rowcount:
            for row, expected, before in zip(rows, expected_versions, befores, strict=True):
                self._update_versioned(row, expected, before)
            return
        params = [versioned_params(row, expected, before)
                  for row, expected, before in zip(rows, expected_versions, befores, strict=True)]
        changed = set().union(*params)  # one statement: every row sets the same columns
        for row, values in zip(rows, params, strict=True):
            if len(values) != len(changed):
                values.update((k, row[k]) for k in changed - values.keys())
        try:
            result = self._conn.execute(versioned_update(self.table), params)
        except IntegrityError as err:
            raise_write_conflict(err, self.kind, self.unique_fields)
        if result.rowcount != len(rows):
            raise version_conflict(self.kind, ", ".join(r["id"] for r in rows[:5]))

    def _changed_unique(self, rows: Sequence[dict[str, Any]],
                        befores: Sequence[dict[str, Any] | None]) -> tuple[str, ...]:
        """The unique fields whose value some row changes (all of them without a previous)."""
        return tuple(f for f in self.unique_fields
                     if any(b is None or b.get(f) != row[f]
                            for row, b in zip(rows, befores, strict=True)))

    def _check_unique(self, rows: Sequence[dict[str, Any]],
                      fields: Sequence[str] | None = None) -> None:
        """Unique values of the rows written (of ``fields``, default every unique field): no
        two share one, no other record holds one (``Conflict(<kind>.<field>_taken)``) — one
        SELECT per field and chunk, first, so the transaction stays usable (PostgreSQL aborts
        it on a constraint error); a concurrent clash still hits the unique index. Empty
        values (None, ``""``) never clash."""
        for field in self.unique_fields if fields is None else fields:
            holder_of: dict[Any, str] = {}
            for row in rows:
                value = row[field]
                if value in (None, ""):
                    continue
                if holder_of.setdefault(value, row["id"]) != row["id"]:
                    raise taken(self.kind, field)
            values = list(holder_of)
            column = self.table.c[field]
            for start in range(0, len(values), UNIQUE_CHUNK):
                chunk = values[start:start + UNIQUE_CHUNK]
                for found_id, value in self._conn.execute(
                        select(self.table.c.id, column).where(column.in_(chunk))):
                    if holder_of.get(value) != found_id:
                        raise taken(self.kind, field)

    def delete(self, record_id: str) -> None:
        self._delete(record_id)

    def query(self, query: RecordQuery) -> list[Any]:
        """One SELECT: scope ∧ conditions ∧ after-cursor, sorted, at most ``limit`` rows (plus
        one indexed SELECT of the viewer's team record ids when the scope has a team grant)."""
        team_ids = self._compiler.team_ids(self._conn, query.scope)
        return self._all(*self._compiler.page(query, team_ids))

    def count(self, query: RecordQuery) -> int:
        """One ``SELECT count(*)`` over scope ∧ conditions (team ids first, as in ``query``)."""
        team_ids = self._compiler.team_ids(self._conn, query.scope)
        return int(self._conn.execute(self._compiler.count(query, team_ids)).scalar_one())

    def find_equal(self, field: FieldRef, value: Any, *, limit: int = 10) -> list[Any]:
        """Records whose ``field`` equals ``value`` (any owner, any scope), by id."""
        return self._all(*self._compiler.find_equal(field, value, limit))

    def reassign(self, record_ids: Sequence[str], owner_id: str | None, at: datetime, *,
                 versions: Mapping[str, int] | None = None) -> int:
        """``UPDATE … SET owner_id, version = version + 1, updated_at (and received_at = at,
        pool_warned_at = NULL on kinds that have them) WHERE id IN (…)`` (``AND`` each row still
        at its version in ``versions``, see :func:`at_versions`): one statement for any number
        of ids; returns how many rows changed."""
        wanted = list(dict.fromkeys(record_ids))
        if not wanted:
            return 0
        table = self.table
        values: dict[str, Any] = {
            "owner_id": owner_id, "version": table.c.version + 1, "updated_at": at
        }
        if "received_at" in table.c:
            values["received_at"] = at
        if "pool_warned_at" in table.c:
            values["pool_warned_at"] = None
        where = self._compiler.with_ids(wanted)
        if versions is not None:
            where = and_(where, at_versions(table, versions))
        statement = update(table).where(where).values(values)
        return int(self._conn.execute(statement).rowcount)

    def children_of(self, field: str, parent_ids: Sequence[str]) -> list[Child]:
        """``(id, owner_id, parent, version)`` of the records whose system column ``field`` is
        one of ``parent_ids``, by id: one statement for any number of parents."""
        if field not in self.table.c:
            raise ValueError(f"{self.kind} has no system field {field!r}")
        if not parent_ids:
            return []
        table = self.table
        parent = table.c[field]
        statement = (
            select(table.c.id, table.c.owner_id, parent, table.c.version)
            .where(in_key_set(parent, parent_ids))
            .order_by(*self._compiler.order_by(()))
        )
        return [Child(*row) for row in self._conn.execute(statement)]

    def lock_values(self, field: str, values: Sequence[Any]) -> None:
        """PostgreSQL: one transaction-scoped advisory lock per ``<kind>:<field>:<value>``
        (64-bit text hash), taken in hash order so two writers never deadlock on them; one
        statement. SQLite: nothing (``BEGIN IMMEDIATE`` transactions run one at a time)."""
        if self._conn.dialect.name != "postgresql" or not values:
            return
        keys = sorted({f"{self.kind}:{field}:{value}" for value in values})
        self._conn.execute(_ADVISORY_LOCKS, {"keys": keys})


# -- team --------------------------------------------------------------------------------------


def _member(row: RowMapping) -> TeamMember:
    return TeamMember(row["record_kind"], row["record_id"], row["user_id"], Access(row["access"]))


class SqlTeam:
    """相关团队 rows in ``crm_team_members`` (the same rows grant visibility in queries)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def members(self, record_kind: str, record_id: str) -> list[TeamMember]:
        """Members of one record, by user id."""
        statement = (
            select(team_members)
            .where(team_members.c.record_kind == record_kind,
                   team_members.c.record_id == record_id)
            .order_by(team_members.c.user_id)
        )
        return [_member(row) for row in self._conn.execute(statement).mappings()]

    def put_many(self, members: Sequence[TeamMember]) -> None:
        """Insert or update (access) each member: one upsert executemany. An unknown user →
        ``Conflict(team.reference_missing)``."""
        rows = [
            {"record_kind": m.record_kind, "record_id": m.record_id, "user_id": m.user_id,
             "access": Access(m.access).value}
            for m in members
        ]
        try:
            upsert(self._conn, team_members, rows, ("record_kind", "record_id", "user_id"))
        except IntegrityError as err:
            raise_write_conflict(err, "team", ())

    def remove(self, record_kind: str, record_id: str, user_id: str) -> None:
        self._conn.execute(
            delete(team_members).where(
                team_members.c.record_kind == record_kind,
                team_members.c.record_id == record_id,
                team_members.c.user_id == user_id,
            )
        )

    def remove_user(self, record_kind: str, record_ids: Sequence[str], user_id: str) -> None:
        """Take one user off the teams of many records: one DELETE."""
        if not record_ids:
            return
        self._conn.execute(
            delete(team_members).where(
                team_members.c.record_kind == record_kind,
                team_members.c.user_id == user_id,
                in_key_set(team_members.c.record_id, record_ids),
            )
        )

    def members_many(self, record_kind: str, record_ids: Sequence[str]) -> list[TeamMember]:
        """Members of many records, by (record id, user id): one SELECT."""
        if not record_ids:
            return []
        statement = (
            select(team_members)
            .where(team_members.c.record_kind == record_kind,
                   in_key_set(team_members.c.record_id, record_ids))
            .order_by(team_members.c.record_id, team_members.c.user_id)
        )
        return [_member(row) for row in self._conn.execute(statement).mappings()]

    def clear(self, record_kind: str, record_ids: Sequence[str]) -> None:
        """Drop every member of these records: one DELETE."""
        if not record_ids:
            return
        self._conn.execute(
            delete(team_members).where(
                team_members.c.record_kind == record_kind,
                in_key_set(team_members.c.record_id, record_ids),
            )
        )

    def access_of(self, record_kind: str, record_id: str, user_id: str) -> TeamMember | None:
        row = self._conn.execute(
            select(team_members).where(
                team_members.c.record_kind == record_kind,
                team_members.c.record_id == record_id,
                team_members.c.user_id == user_id,
            )
        ).mappings().first()
        return None if row is None else _member(row)


# -- field definitions, scenes, columns ----------------------------------------------------------


class SqlFields:
    """Custom field definitions; listed by (order, key)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def list(self, kind: str) -> list[FieldDefinition]:
        statement = (
            select(field_definitions)
            .where(field_definitions.c.kind == kind)
            .order_by(field_definitions.c.sort_order, field_definitions.c.key)
        )
        rows = self._conn.execute(statement).mappings()
        return [FIELD_DEFINITION_ROWS.from_row(row) for row in rows]

    def add(self, definition: FieldDefinition) -> None:
        """Insert; a key the kind already has → ``Conflict(field.key_taken)``."""
        try:
            self._conn.execute(insert(field_definitions), FIELD_DEFINITION_ROWS.to_row(definition))
        except IntegrityError as err:
            raise Conflict(
                "field.key_taken", "字段已存在", f"field {definition.key} exists"
            ) from err

    def update(self, definition: FieldDefinition, *, expected_version: int) -> None:
        """Versioned UPDATE keyed by (kind, key); stale or missing → ``Conflict``."""
        row = FIELD_DEFINITION_ROWS.to_row(definition)
        values = {k: v for k, v in row.items() if k not in ("kind", "key")}
        result = self._conn.execute(
            update(field_definitions)
            .where(
                field_definitions.c.kind == definition.kind,
                field_definitions.c.key == definition.key,
                field_definitions.c.version == expected_version,
            )
            .values(values)
        )
        if result.rowcount == 0:
            raise version_conflict("field", definition.key)



class SqlColumns:
    """Column configuration, one row per (user, record kind)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, user_id: str, record_kind: str) -> ColumnConfig | None:
        row = self._conn.execute(
            select(column_configs).where(
                column_configs.c.user_id == user_id, column_configs.c.record_kind == record_kind
            )
        ).mappings().first()
        return None if row is None else COLUMN_CONFIG_ROWS.from_row(row)

    def put(self, config: ColumnConfig) -> None:
        """Insert or replace (one upsert)."""
        upsert(self._conn, column_configs, [COLUMN_CONFIG_ROWS.to_row(config)],
               ("user_id", "record_kind"))


# -- follow-ups, attachments, settings --------------------------------------------------------


class SqlFollowUps(Repository):
    kind = "followup"
    table = followups

    def add(self, followup: FollowUp) -> None:
        self._insert(FOLLOWUP_ROWS.to_row(followup))

    def for_record(self, record_kind: str, record_id: str, *, limit: int = 100) -> list[FollowUp]:
        """Newest first (by ``at``, then id)."""
        statement = (
            select(followups)
            .where(followups.c.record_kind == record_kind, followups.c.record_id == record_id)
            .order_by(followups.c.at.desc(), followups.c.id.desc())
            .limit(limit)
        )
        return [FOLLOWUP_ROWS.from_row(row) for row in self._conn.execute(statement).mappings()]

    def for_records(self, records: Sequence[RecordRef], *, before: TimelineKey | None = None,
                    limit: int = 100) -> list[FollowUp]:
        """One SELECT over the ``(record_kind, record_id, at)`` index."""
        by_kind: dict[str, list[str]] = {}
        for ref in records:
            by_kind.setdefault(ref.kind, []).append(ref.id)
        if not by_kind:
            return []
        c = followups.c
        where = [or_(*(and_(c.record_kind == kind, in_key_set(c.record_id, ids))
                       for kind, ids in by_kind.items()))]
        if before is not None:
            where.append(below(c.at, c.id, FOLLOWUP_ITEM, before))
        statement = (select(followups).where(*where)
                     .order_by(c.at.desc(), c.id.desc()).limit(limit))
        return [FOLLOWUP_ROWS.from_row(row) for row in self._conn.execute(statement).mappings()]


def below(at: ColumnElement[Any], item_id: ColumnElement[Any], item_kind: str,
          before: TimelineKey) -> ColumnElement[bool]:
    """Rows of one item kind whose timeline key ``(at, item_kind, id)`` lies below ``before``
    (the kind is a constant, so it is compared here, not in SQL)."""
    if item_kind < before.kind:
        return at <= before.at
    if item_kind > before.kind:
        return at < before.at
    return or_(at < before.at, and_(at == before.at, item_id < before.id))


class SqlAttachments(Repository):
    kind = "attachment"
    table = attachments

    def get(self, attachment_id: str) -> Attachment | None:
        return self._one(
            select(attachments).where(attachments.c.id == attachment_id), ATTACHMENT_ROWS.from_row
        )

    def add(self, attachment: Attachment) -> None:
        self._insert(ATTACHMENT_ROWS.to_row(attachment))

    def delete(self, attachment_id: str) -> None:
        self._delete(attachment_id)

    def for_record(self, record_kind: str, record_id: str) -> list[Attachment]:
        """By upload time, then id."""
        statement = (
            select(attachments)
            .where(attachments.c.record_kind == record_kind, attachments.c.record_id == record_id)
            .order_by(attachments.c.uploaded_at, attachments.c.id)
        )
        return [ATTACHMENT_ROWS.from_row(row) for row in self._conn.execute(statement).mappings()]


class SqlLinks:
    """相关业务 links in ``crm_record_links``; the reverse lookup reads its target index."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def replace(self, source: RecordRef, targets: Sequence[RecordRef]) -> None:
        """One DELETE, then one executemany INSERT."""
        self.clear(source.kind, [source.id])
        rows = [{"source_kind": source.kind, "source_id": source.id, "target_kind": t.kind,
                 "target_id": t.id} for t in dict.fromkeys(targets)]
        if rows:
            self._conn.execute(insert(record_links), rows)

    def sources(self, source_kind: str, targets: Sequence[RecordRef]) -> list[RecordLink]:
        """One SELECT per target kind (a record's timeline asks about a handful of kinds)."""
        by_kind: dict[str, list[str]] = {}
        for target in targets:
            by_kind.setdefault(target.kind, []).append(target.id)
        found: list[RecordLink] = []
        for kind, ids in sorted(by_kind.items()):
            statement = select(record_links).where(
                record_links.c.target_kind == kind, in_key_set(record_links.c.target_id, ids),
                record_links.c.source_kind == source_kind)
            found.extend(RecordLink(**row) for row in self._conn.execute(statement).mappings())
        return sorted(found, key=lambda link: (link.target_kind, link.target_id,
                                               link.source_id))

    def clear(self, source_kind: str, source_ids: Sequence[str]) -> None:
        if source_ids:
            self._conn.execute(delete(record_links).where(
                record_links.c.source_kind == source_kind,
                in_key_set(record_links.c.source_id, source_ids)))

    def unlink(self, target: RecordRef) -> None:
        self._conn.execute(delete(record_links).where(
            record_links.c.target_kind == target.kind, record_links.c.target_id == target.id))


class SqlSettings:
    """One JSON value per key; a missing key reads as None."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, key: str) -> JSONValue:
        return self._conn.execute(select(settings.c.value).where(settings.c.key == key)).scalar()

    def put(self, key: str, value: JSONValue) -> None:
        upsert(self._conn, settings, [{"key": key, "value": value}], ("key",))


# -- stage groups, product categories, price and stage histories --------------------------------


class SqlEntities(Repository, Generic[E]):
    """The generic :class:`~crmkit.ports.entity_store.EntityStore` of one
    :class:`~crmkit.ports.entity_store.EntityKind` on its table, rows converted by the entity's
    generated :class:`~crmkit.adapters.sqlalchemy.rows.RowMapper`: ``list`` is one SELECT with
    one equality per filter, ordered by the kind's attributes (their columns, renamed ones
    too)."""

    def __init__(self, conn: Connection, kind: EntityKind[E], table: Table,
                 rows: RowMapper[E]) -> None:
        super().__init__(conn)
        self.entity_kind, self.kind, self.table, self._rows = kind, kind.kind, table, rows

    def _column(self, attribute: str) -> ColumnElement[Any]:
        return self.table.c[self._rows.renames.get(attribute, attribute)]

    def get(self, entity_id: str) -> E | None:
        return self._one(select(self.table).where(self.table.c.id == entity_id),
                         self._rows.from_row)

    def list(self, **equal: object) -> list[E]:
        order = [self._column(a) for a in self.entity_kind.order]
        statement = (
            select(self.table)
            .where(*(self._column(name) == value for name, value in equal.items()))
            .order_by(*(c.desc() for c in order) if self.entity_kind.descending else order)
        )
        return [self._rows.from_row(row) for row in self._conn.execute(statement).mappings()]

    def add(self, entity: E) -> None:
        self._insert(self._rows.to_row(entity))

    def update(self, entity: E, *, expected_version: int) -> None:
        row = self._rows.to_row(entity)
        if "version" not in self.table.c:
            raise version_conflict(self.kind, row["id"])
        self._update_versioned(row, expected_version)

    def delete(self, entity_id: str) -> None:
        """Delete (no-op when missing)."""
        self._delete(entity_id)


def entity_store(conn: Connection, kind: EntityKind[E]) -> SqlEntities[E]:
    """The generic store of ``kind`` (one of :data:`~crmkit.ports.entity_store.ENTITY_KINDS`)
    on its table."""
    table, rows = ENTITY_TABLES[kind.kind]
    return SqlEntities(conn, kind, table, rows)


ENTITY_TABLES: dict[str, tuple[Table, RowMapper[Any]]] = {
    SCENES.kind: (scenes, SCENE_ROWS),
    STAGE_GROUPS.kind: (stage_groups, STAGE_GROUP_ROWS),
    CATEGORIES.kind: (categories, CATEGORY_ROWS),
    PRICE_CHANGES.kind: (price_changes, PRICE_CHANGE_ROWS),
    STAGE_CHANGES.kind: (stage_changes, STAGE_CHANGE_ROWS),
    COMMENTS.kind: (comments, COMMENT_ROWS),
    TAGS.kind: (tags, TAG_ROWS),
    TARGETS.kind: (targets, TARGET_ROWS),
}
"""Entity kind name → its table and generated row mapper (every entity kind)."""
