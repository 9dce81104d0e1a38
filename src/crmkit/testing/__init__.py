"""crmkit for test suites — ours and a host's. Install with the ``testing`` extra
(``pip install "crmkit[testing]"``: pytest and hypothesis).

- Contract suites: a host's own adapter (storage, org directory, file store, notifier, sheet
  format) proves itself by subclassing the matching ``…Contract`` class in a test module.
- Builders: :func:`fixed_clock`, :func:`sample_crm` and :func:`sample_org` (a CRM with a small
  organisation and its roles) — see :mod:`crmkit.testing.builders`.
- pytest fixtures (``crm_clock``, ``crm_storage``, ``crm``, ``crm_org``): add
  ``pytest_plugins = ["crmkit.testing.fixtures"]`` to the host's ``conftest.py``.
- Hypothesis strategies for entities and queries: :mod:`crmkit.testing.strategies`.
"""

from crmkit.testing.approvals import ApprovalStorageContract
from crmkit.testing.builders import SampleOrg, fixed_clock, sample_crm, sample_org
from crmkit.testing.pool import PoolStorageContract
from crmkit.testing.records import RecordStorageContract
from crmkit.testing.reminders import ReminderStorageContract
from crmkit.testing.services import FileStoreContract, NotifierContract, OrgDirectoryContract
from crmkit.testing.sheets import SheetFormatContract
from crmkit.testing.statistics import StatisticsContract
from crmkit.testing.storage import StorageContract

__all__ = [
    "ApprovalStorageContract",
    "FileStoreContract",
    "NotifierContract",
    "OrgDirectoryContract",
    "PoolStorageContract",
    "RecordStorageContract",
    "ReminderStorageContract",
    "SampleOrg",
    "SheetFormatContract",
    "StatisticsContract",
    "StorageContract",
    "fixed_clock",
    "sample_crm",
    "sample_org",
]
