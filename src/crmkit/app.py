"""Composition root: :class:`CRM` with default adapters, and :func:`build_crm` from a DB URL."""

from __future__ import annotations

from collections.abc import Iterable

from crmkit.adapters.basics import OutboxNotifier, SystemClock, UUID7Ids
from crmkit.adapters.files import MemoryFileStore
from crmkit.adapters.memory import MemoryStorage
from crmkit.ports import Clock, FileStore, IdGenerator, Notifier, OrgDirectory, Storage
from crmkit.workflow.facade import DEFAULT_TIMEZONE, CRMFacade


class CRM(CRMFacade):
    """The crmkit facade. Every port is optional: by default storage and files live in memory,
    the clock is the system clock, ids are UUIDv7 and notifications go to an outbox
    (``crm.notifier.sent``)."""

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
        self.notifier = notifier if notifier is not None else OutboxNotifier()
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
              **options: object) -> CRM:
    """A CRM on the SQLAlchemy adapter at ``url``.

    ``sqlite:///path.db`` is the embedded default; ``postgresql://…`` needs ``crmkit[postgres]``.
    The schema is created when the database has none (``create_schema=False``: a database
    without crmkit's schema, or with an outdated one, is refused with ``SchemaError`` and nothing
    is written). Other keyword options go to :class:`CRM`.
    """
    from crmkit.adapters.sqlalchemy import SqlStorage

    storage = SqlStorage(url)
    if create_schema:
        storage.create_schema()
    else:
        storage.check_schema()
    return CRM(storage, **options)  # type: ignore[arg-type]
