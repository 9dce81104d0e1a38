"""Memory adapters: the reference implementations every contract suite is checked against."""

from crmkit.adapters.memory.storage import MemoryStorage, MemoryUnitOfWork

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]
