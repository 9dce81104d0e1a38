"""pytest fixtures for a host's test suite. Enable them in the host's ``conftest.py``::

    pytest_plugins = ["crmkit.testing.fixtures"]

- ``crm_clock``: a :class:`~crmkit.adapters.clocks.FixedClock` at Monday 2 Nov 2026, 09:00
  Beijing time; move it with ``crm_clock.advance(days=31)``.
- ``crm_storage``: the storage the CRM runs on — memory; override this fixture to run the
  same tests on the host's own storage (e.g. ``SqlStorage`` on the host's test database).
- ``crm``: an empty CRM on ``crm_storage`` and ``crm_clock`` with sequential ids.
- ``crm_org``: ``crm`` with the sample organisation (:class:`~crmkit.testing.builders.SampleOrg`:
  admin, 销售经理, 销售员, 财务 and their departments, role ids by code).
"""

from __future__ import annotations

import pytest

from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.memory import MemoryStorage
from crmkit.app import CRM
from crmkit.ports import Storage
from crmkit.testing.builders import SampleOrg, fixed_clock, sample_crm, sample_org

__all__ = ["crm", "crm_clock", "crm_org", "crm_storage"]


@pytest.fixture
def crm_clock() -> FixedClock:
    return fixed_clock()


@pytest.fixture
def crm_storage() -> Storage:
    return MemoryStorage()


@pytest.fixture
def crm(crm_storage: Storage, crm_clock: FixedClock) -> CRM:
    return sample_crm(crm_storage, clock=crm_clock)


@pytest.fixture
def crm_org(crm: CRM, crm_clock: FixedClock) -> SampleOrg:
    return sample_org(crm, clock=crm_clock)
