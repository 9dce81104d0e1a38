"""Attachment bytes in the database (``crm_files``): the default file store of ``build_crm``.

Durable with the database itself, the same for every process and machine that shares it, and
written in the operation's own transaction when called inside one (an attachment and its bytes
commit or roll back together). Keys and names follow :mod:`crmkit.adapters.files`.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from crmkit.adapters.files import _describe, _missing, _new_key, _valid_key
from crmkit.adapters.sqlalchemy.storage import SqlStorage
from crmkit.adapters.sqlalchemy.tables import files
from crmkit.ports import StoredFile


class SqlFileStore:
    """:class:`~crmkit.ports.FileStore` over ``crm_files`` of ``storage``."""

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    def put(self, name: str, data: bytes, content_type: str) -> StoredFile:
        stored = _describe(_new_key(), name, data, content_type)
        with self._storage.transaction() as uow:
            uow.connection.execute(insert(files).values(
                key=stored.key, name=stored.name, content_type=stored.content_type,
                size=stored.size, sha256=stored.sha256, data=bytes(data)))
        return stored

    def get(self, key: str) -> bytes:
        if not _valid_key(key):
            raise _missing(key)
        with self._storage.transaction() as uow:
            data = uow.connection.execute(select(files.c.data).where(files.c.key == key)).scalar()
        if data is None:
            raise _missing(key)
        return bytes(data)

    def delete(self, key: str) -> None:
        if _valid_key(key):
            with self._storage.transaction() as uow:
                uow.connection.execute(delete(files).where(files.c.key == key))
