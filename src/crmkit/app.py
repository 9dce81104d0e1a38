"""Composition root: :class:`CRM` with default adapters, and :func:`build_crm` from a DB URL,
a host's Engine, or a host's Connection / Session (crmkit then joins the host's transaction).

Defaults: ``CRM()`` keeps everything in memory (tests, demos). ``build_crm(url)`` is durable:
storage, the notification outbox (``crm.outbox``) and attachment bytes all live in the
database, or attachment bytes on local disk under ``files_dir``.

One CRM serves a whole process and all its threads; :meth:`CRM.close` releases only what crmkit
built (never a host's engine, connection or session).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from crmkit.adapters.clocks import SystemClock
from crmkit.adapters.files import LocalFileStore, MemoryFileStore
from crmkit.adapters.ids import UUID7Ids
from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sheets import sheet_formats
from crmkit.entities.kinds import RecordKind
from crmkit.ports import (
    Clock,
    FileStore,
    IdGenerator,
    Notifier,
    OrgDirectory,
    Outbox,
    SheetFormat,
    Storage,
)
from crmkit.workflow.facade import DEFAULT_TIMEZONE, CRMFacade

if TYPE_CHECKING:
    from sqlalchemy import URL, Connection, Engine
    from sqlalchemy.orm import Session

__all__ = [
    "CRM",
    "build_crm",
]


class CRM(CRMFacade):
    """The crmkit facade. Every port is optional: by default storage and files live in memory,
    the clock is the system clock, ids are UUIDv7 and notifications go to an in-memory outbox
    (``crm.notifier.sent``). ``crm.outbox`` is the notifier when it is an
    :class:`~crmkit.ports.Outbox` the host drains (the default ones are), else None."""

    def __init__(
        self,
        storage: Storage | None = None,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        notifier: Notifier | None = None,
        files: FileStore | None = None,
        directory: OrgDirectory | None = None,
        plugins: Iterable[object] = (),
        load_entrypoints: bool = False,
        strict_plugins: bool = False,
        timezone: str = DEFAULT_TIMEZONE,
        kinds: Iterable[RecordKind[Any]] = (),
        formats: Mapping[str, SheetFormat] | None = None,
    ) -> None:
        kinds = tuple(kinds)
        self.notifier = notifier if notifier is not None else OutboxNotifier(clock)
        self.outbox: Outbox | None = self.notifier if isinstance(self.notifier, Outbox) else None
        self._owned: list[object] = []
        """What crmkit built for this CRM, and so :meth:`close` closes (never a host's port)."""
        if storage is None:
            storage = MemoryStorage(kinds=kinds)
            self._owned.append(storage)
        if files is None:
            files = MemoryFileStore()
            self._owned.append(files)
        super().__init__(
            storage=storage,
            clock=clock or SystemClock(),
            ids=ids or UUID7Ids(),
            notifier=self.notifier,
            files=files,
            directory=directory,
            plugins=plugins,
            load_entrypoints=load_entrypoints,
            strict_plugins=strict_plugins,
            timezone=timezone,
            kinds=kinds,
            formats=sheet_formats() if formats is None else formats,
        )

    def join(self, host: Connection | Session) -> AbstractContextManager[None]:
        """Inside the block, this thread's crmkit calls run in ``host``'s transaction (a
        SQLAlchemy ``Connection`` or ``Session`` on the same database): they commit or roll back
        with it, and their notifications wait for its commit. SQLAlchemy storage only."""
        join = getattr(self.storage, "join", None)
        if join is None:
            raise TypeError("joining a host transaction needs crmkit's SQLAlchemy storage")
        joined: AbstractContextManager[None] = join(host)
        return joined

    def close(self) -> None:
        """Release what crmkit built: the engine of a storage built from a URL, and any default
        adapter with a ``close()``. A host's engine, connection, session or adapters stay open."""
        for port in self._owned:
            close = getattr(port, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> CRM:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def build_crm(url: str | URL | Engine | Connection | Session = "sqlite:///crmkit.db", *,
              create_schema: bool = True, files_dir: str | Path | None = None,
              **options: Any) -> CRM:
    """A CRM on the SQLAlchemy adapter, durable by default, built from:

    - a URL — ``sqlite:///path.db`` is the embedded default; ``postgresql://…`` needs
      ``crmkit[postgres]``; :meth:`CRM.close` disposes the engine crmkit built;
    - a host's ``Engine`` — crmkit uses its own connections from it and leaves its settings alone;
    - a host's ``Connection`` or ``Session`` — every call joins the host's transaction.

    The schema is created when the database has none (``create_schema=False``: a database
    without crmkit's schema, or with an outdated one, is refused with ``SchemaError`` and nothing
    is written). Notifications go to the database outbox ``crm.outbox``; attachment bytes to the
    database, or to local disk under ``files_dir``. ``kinds`` (a host's own record kinds) go to
    the storage, which creates their tables with the schema, and to :class:`CRM`. Other
    keyword options (``notifier``, ``files``, ``clock`` …) go to :class:`CRM` and replace these
    defaults.
    """
    from crmkit.adapters.sqlalchemy import SqlStorage
    from crmkit.adapters.sqlalchemy.files import SqlFileStore
    from crmkit.adapters.sqlalchemy.outbox import SqlOutbox

    options["kinds"] = kinds = tuple(options.get("kinds", ()))
    storage = SqlStorage(url, kinds=kinds)
    if create_schema:
        storage.create_schema()
    else:
        storage.check_schema()
    if options.get("notifier") is None:
        options["notifier"] = SqlOutbox(storage, options.get("clock") or SystemClock())
    if options.get("files") is None:
        options["files"] = (LocalFileStore(files_dir) if files_dir is not None
                            else SqlFileStore(storage))
    crm = CRM(storage, **options)
    crm._owned.append(storage)
    return crm
