"""Ports: ``typing.Protocol`` interfaces the workflow layer talks to. Import entities only."""

from crmkit.ports.clocks import Clock
from crmkit.ports.files import FileStore, StoredFile
from crmkit.ports.ids import IdGenerator
from crmkit.ports.notifiers import Inbox, Notifier, Outbox, OutboxMessage
from crmkit.ports.org_directory import OrgDirectory
from crmkit.ports.sheets import ByteSink, ByteSource, Cell, SheetFormat
from crmkit.ports.storage import (
    DepartmentRepository,
    OperationLogRepository,
    RoleRepository,
    Storage,
    UnitOfWork,
    UserRepository,
)

__all__ = [
    "ByteSink",
    "ByteSource",
    "Cell",
    "Clock",
    "DepartmentRepository",
    "FileStore",
    "IdGenerator",
    "Inbox",
    "Notifier",
    "OperationLogRepository",
    "OrgDirectory",
    "Outbox",
    "OutboxMessage",
    "RoleRepository",
    "SheetFormat",
    "Storage",
    "StoredFile",
    "UnitOfWork",
    "UserRepository",
]
