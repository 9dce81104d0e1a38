"""商机 Opportunities and stage groups (``crm.opportunities``)."""

from __future__ import annotations

from crmkit.entities import Module
from crmkit.entities.sales import OPPORTUNITY, Opportunity
from crmkit.entities.sales_fields import OPPORTUNITY_FIELDS, OPPORTUNITY_WRITABLE
from crmkit.workflow.record_kinds import KindSpec
from crmkit.workflow.records import RecordService


def opportunity_spec() -> KindSpec:
    return KindSpec(OPPORTUNITY, Module.OPPORTUNITIES, Opportunity, "商机", "opportunity",
                    OPPORTUNITY_FIELDS, OPPORTUNITY_WRITABLE,
                    extra_keys=frozenset({"lines", "contact_ids"}))


class OpportunityService(RecordService):
    """Opportunities: product lines, stage groups, stage history, weighted amounts."""
