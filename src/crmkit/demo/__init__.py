"""``crmkit demo``: a sample company's quarter on an SQLite file, then its dashboard.

- :mod:`~crmkit.demo.company`: 星河软件 — departments, 20 people with supervisors and roles,
  pools with rules, stage groups, products, approval flows, targets, an imported customer list;
- :mod:`~crmkit.demo.simulation`: a quarter of the sales team, day by day, with a fixed seed
  and a :class:`~crmkit.adapters.clocks.FixedClock`;
- :mod:`~crmkit.demo.report`: the dashboard and audit trails as terminal tables;
- :mod:`~crmkit.demo.page`: the dashboard as one static HTML page with SVG charts;
- :mod:`~crmkit.demo.run`: :func:`~crmkit.demo.run.run_demo`, all of the above in order.

Everything goes through the public facade (``crm.*``) as a host's code would. The database
is left behind for inspection (``sqlite3 crmkit-demo.db``, ``crmkit export …``).
"""

from __future__ import annotations

from datetime import date

__all__ = ["DEFAULT_SEED", "DEFAULT_URL", "ID_PREFIX", "QUARTER_DAYS", "QUARTER_START"]

DEFAULT_URL = "sqlite:///crmkit-demo.db"
DEFAULT_SEED = 2026
QUARTER_START = date(2026, 7, 1)
QUARTER_DAYS = 92
"""July, August and September 2026 (the third quarter)."""
ID_PREFIX = "xh"
"""The demo's record ids are ``SequentialIds(ID_PREFIX)``: the same seed, the same ids."""
