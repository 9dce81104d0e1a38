"""Ports: ``typing.Protocol`` interfaces the workflow layer talks to. Import entities only."""

from crmkit.ports.clocks import Clock
from crmkit.ports.files import FileStore, StoredFile
from crmkit.ports.ids import IdGenerator
from crmkit.ports.notifiers import Notifier, Outbox, OutboxMessage
from crmkit.ports.org_directory import OrgDirectory
from crmkit.ports.storage import (
    DepartmentRepository,
    OperationLogRepository,
    RoleRepository,
    Storage,
    UnitOfWork,
    UserRepository,
)

__all__ = [
    "Clock",
    "DepartmentRepository",
    "FileStore",
    "IdGenerator",
    "Notifier",
    "OperationLogRepository",
    "OrgDirectory",
    "Outbox",
    "OutboxMessage",
    "RoleRepository",
    "Storage",
    "StoredFile",
    "UnitOfWork",
    "UserRepository",
]
