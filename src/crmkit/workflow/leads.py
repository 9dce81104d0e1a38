"""线索 Leads through the shared record engine (``crm.leads``)."""

from __future__ import annotations

from crmkit.entities import Module
from crmkit.entities.leads import LEAD, LEAD_FIELDS, READ_ONLY, Lead
from crmkit.entities.records import ConditionSpec
from crmkit.workflow.record_kinds import KindSpec

LEAD_WRITABLE = frozenset(f.key for f in LEAD_FIELDS) - READ_ONLY


def lead_spec() -> KindSpec:
    """Leads: converted leads leave the default scenes and appear in 已转化."""
    return KindSpec(
        kind=LEAD,
        module=Module.LEADS,
        entity=Lead,
        label_zh="线索",
        label_en="lead",
        system_fields=LEAD_FIELDS,
        writable=LEAD_WRITABLE,
        scenes={"converted": ("已转化", "Converted",
                              (ConditionSpec("converted", "eq", True),))},
        base_conditions=(ConditionSpec("converted", "eq", False),),
    )

