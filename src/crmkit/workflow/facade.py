"""The facade: one object, a namespace per module (``crm.org`` …), every call atomic."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from crmkit.entities.contracts import CONTRACT, PAYMENT
from crmkit.entities.sales import CONTACT, OPPORTUNITY
from crmkit.ports import Clock, FileStore, IdGenerator, Notifier, OrgDirectory, Storage
from crmkit.workflow.approvals import ApprovalService
from crmkit.workflow.arguments import guard
from crmkit.workflow.attachments import AttachmentService
from crmkit.workflow.contacts import ContactService, contact_spec
from crmkit.workflow.contracts import ContractService, contract_spec
from crmkit.workflow.customers import CustomerService, customer_spec, move_children
from crmkit.workflow.duplicates import DuplicateService
from crmkit.workflow.fields import FieldService
from crmkit.workflow.fieldtypes import build_field_types
from crmkit.workflow.followups import FollowUpService
from crmkit.workflow.leads import LeadService, lead_spec
from crmkit.workflow.opportunities import OpportunityService, opportunity_spec
from crmkit.workflow.org import OrgService
from crmkit.workflow.payments import PaymentService, payment_spec
from crmkit.workflow.plugins import PluginLoadError, build_plugin_manager
from crmkit.workflow.pool import PoolService
from crmkit.workflow.products import ProductService, product_spec
from crmkit.workflow.record_kinds import KindSpec
from crmkit.workflow.records import RecordAccess, RecordService
from crmkit.workflow.runtime import Runtime
from crmkit.workflow.scenes import SceneService

DEFAULT_TIMEZONE = "Asia/Shanghai"
S = TypeVar("S", bound=RecordService)


class CRMFacade:
    """crmkit's use cases over explicit ports. Hosts normally use :class:`crmkit.CRM`, which
    fills in default adapters."""

    def __init__(
        self,
        *,
        storage: Storage,
        clock: Clock,
        ids: IdGenerator,
        notifier: Notifier,
        files: FileStore,
        directory: OrgDirectory | None = None,
        plugins: Iterable[object] = (),
        load_entrypoints: bool = False,
        strict_plugins: bool = False,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        manager, errors = build_plugin_manager(
            plugins, load_entrypoints=load_entrypoints, strict=strict_plugins
        )
        self.plugin_manager = manager
        self.field_types = build_field_types(manager)
        self.plugin_errors: list[PluginLoadError] = errors
        self.storage = storage
        self.files = files
        self.runtime = Runtime(
            storage=storage, clock=clock, ids=ids, notifier=notifier, directory=directory,
            plugins=manager, timezone=timezone,
        )
        self.runtime.facade = self
        self.fields = FieldService(self.runtime, self.field_types)
        self.records = RecordAccess(self.runtime, self.fields)
        self.org = OrgService(self.runtime, self.records)
        self.scenes = SceneService(self.runtime, self.fields)
        self.followups = FollowUpService(self.runtime, self.records)
        self.attachments = AttachmentService(self.runtime, self.records, files)
        self.duplicates = DuplicateService(self.runtime, self.fields, self.records, ())
        self.leads = self._record_kind(lead_spec(), LeadService)
        self.customers = self._record_kind(customer_spec(), CustomerService)
        self.contacts = self._record_kind(contact_spec(), ContactService)
        self.products = self._record_kind(product_spec(), ProductService)
        self.opportunities = self._record_kind(opportunity_spec(), OpportunityService)
        self.leads.customers, self.leads.contacts = self.customers, self.contacts
        self.pool = PoolService(self.runtime, self.records, self.customers)
        self.approvals = ApprovalService(self.runtime)
        self.contracts = self._record_kind(contract_spec(), ContractService)
        self.payments = self._record_kind(payment_spec(), PaymentService)
        self.contracts.customers, self.contracts.payments = self.customers, self.payments
        self.payments.contracts = self.contracts
        self.contracts.attach(self.approvals)
        self.payments.attach(self.approvals)
        for related in (CONTACT, OPPORTUNITY, CONTRACT, PAYMENT):
            self.customers.register_cascade(move_children(related))
        for service in (self.org, self.fields, self.scenes, self.followups, self.attachments,
                        self.duplicates, self.leads, self.customers, self.contacts,
                        self.products, self.opportunities, self.pool, self.approvals,
                        self.contracts, self.payments):
            guard(service)

    def _record_kind(self, spec: KindSpec, service_class: type[S]) -> S:
        """Wire one record kind: its service, and its part in the user hand-over."""
        service = service_class(self.runtime, self.fields, self.field_types, self.records, spec)
        self.org.register_hand_over(spec.kind, service.hand_over)
        self.duplicates.add_kind(spec.kind)
        return service
