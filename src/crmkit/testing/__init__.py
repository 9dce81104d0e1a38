"""Contract suites and hypothesis strategies for crmkit's ports. Needs the ``test`` extra.

A third-party adapter proves itself by subclassing the matching contract class in a test module.
"""

from crmkit.testing.approvals import ApprovalStorageContract
from crmkit.testing.records import RecordStorageContract
from crmkit.testing.services import FileStoreContract, NotifierContract, OrgDirectoryContract
from crmkit.testing.storage import StorageContract

__all__ = [
    "ApprovalStorageContract",
    "FileStoreContract",
    "NotifierContract",
    "OrgDirectoryContract",
    "RecordStorageContract",
    "StorageContract",
]
