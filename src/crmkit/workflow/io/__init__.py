"""导入/导出 Import and export (DESIGN §4) for every record kind, driven by the kinds'
declarations and their current fields — no code per kind.

- :mod:`~crmkit.workflow.io.service`: ``crm.io`` — export, templates, import, error reports;
- :mod:`~crmkit.workflow.io.imports`: how rows become records (header, duplicates, batches);
- :mod:`~crmkit.workflow.io.columns`: which fields a file holds and how values become cells;
- :mod:`~crmkit.workflow.io.results`: what an import or export reports.

File formats (CSV, XLSX) are adapters behind the :class:`~crmkit.ports.SheetFormat` port;
cell rules (formula injection, dates, booleans) are :mod:`crmkit.policies.cells`.
"""

from crmkit.workflow.io.results import (
    ExportResult,
    ImportProgress,
    ImportResult,
    RowError,
)
from crmkit.workflow.io.service import IOService

__all__ = ["ExportResult", "IOService", "ImportProgress", "ImportResult", "RowError"]
