"""Ports: ``typing.Protocol`` interfaces the workflow layer talks to. Import entities only."""

from crmkit.ports.services import (
    Clock,
    FileStore,
    IdGenerator,
    Notifier,
    OrgDirectory,
    Outbox,
    OutboxMessage,
    StoredFile,
)
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
