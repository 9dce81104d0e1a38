"""Composition root: :class:`CRM` with default adapters, and :func:`build_crm` from a DB URL.

Defaults: ``CRM()`` keeps everything in memory (tests, demos). ``build_crm(url)`` is durable:
storage, the notification outbox (``crm.outbox``) and attachment bytes all live in the
database, or attachment bytes on local disk under ``files_dir``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crmkit.adapters.basics import OutboxNotifier, SystemClock, UUID7Ids
from crmkit.adapters.files import LocalFileStore, MemoryFileStore
from crmkit.adapters.memory import MemoryStorage
from crmkit.ports import (
    Clock,
    FileStore,
    IdGenerator,
    Notifier,
    OrgDirectory,
    Outbox,
    Storage,
)
from crmkit.workflow.facade import DEFAULT_TIMEZONE, CRMFacade

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
    ) -> None:
        self.notifier = notifier if notifier is not None else OutboxNotifier(clock)
        self.outbox: Outbox | None = self.notifier if isinstance(self.notifier, Outbox) else None
        super().__init__(
            storage=storage if storage is not None else MemoryStorage(),
            clock=clock or SystemClock(),
            ids=ids or UUID7Ids(),
            notifier=self.notifier,
            files=files or MemoryFileStore(),
            directory=directory,
            plugins=plugins,
            load_entrypoints=load_entrypoints,
            strict_plugins=strict_plugins,
            timezone=timezone,
        )


def build_crm(url: str = "sqlite:///crmkit.db", *, create_schema: bool = True,
              files_dir: str | Path | None = None, **options: Any) -> CRM:
    """A CRM on the SQLAlchemy adapter at ``url``, durable by default.

    ``sqlite:///path.db`` is the embedded default; ``postgresql://…`` needs ``crmkit[postgres]``.
    The schema is created when the database has none (``create_schema=False``: a database
    without crmkit's schema, or with an outdated one, is refused with ``SchemaError`` and nothing
    is written). Notifications go to the database outbox ``crm.outbox``; attachment bytes to the
    database, or to local disk under ``files_dir``. Other keyword options (``notifier``,
    ``files``, ``clock`` …) go to :class:`CRM` and replace these defaults.
    """
    from crmkit.adapters.sqlalchemy import SqlStorage
    from crmkit.adapters.sqlalchemy.files import SqlFileStore
    from crmkit.adapters.sqlalchemy.outbox import SqlOutbox

    storage = SqlStorage(url)
    if create_schema:
        storage.create_schema()
    else:
        storage.check_schema()
    if options.get("notifier") is None:
        options["notifier"] = SqlOutbox(storage, options.get("clock") or SystemClock())
    if options.get("files") is None:
        options["files"] = (LocalFileStore(files_dir) if files_dir is not None
                            else SqlFileStore(storage))
    return CRM(storage, **options)
