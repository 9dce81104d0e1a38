"""The facade: one object, a namespace per module (``crm.org`` …), every call atomic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import Any

from crmkit.entities.contracts import CONTRACT, PAYMENT
from crmkit.entities.kinds import (
    BUILTIN_KINDS,
    CAMPAIGN_KIND,
    CONTACT_KIND,
    CONTRACT_KIND,
    CUSTOMER_KIND,
    LEAD_KIND,
    OPPORTUNITY_KIND,
    PAYMENT_KIND,
    PRODUCT_KIND,
    SCHEDULE_KIND,
    TASK_KIND,
    WORK_LOG_KIND,
    Feature,
    RecordKind,
    with_host_kinds,
)
from crmkit.entities.sales import CONTACT, OPPORTUNITY
from crmkit.entities.timeline import TimelineCategory
from crmkit.ports import (
    Clock,
    FileStore,
    IdGenerator,
    Inbox,
    Notifier,
    OrgDirectory,
    SheetFormat,
    Storage,
)
from crmkit.workflow.approvals import ApprovalService
from crmkit.workflow.arguments import guard
from crmkit.workflow.attachments import AttachmentService
from crmkit.workflow.campaigns import CampaignService
from crmkit.workflow.comments import CommentService
from crmkit.workflow.contacts import ContactService
from crmkit.workflow.contracts import ContractService
from crmkit.workflow.customers import CustomerService, move_children
from crmkit.workflow.dashboard import DashboardService
from crmkit.workflow.duplicates import DuplicateService
from crmkit.workflow.fields import FieldService
from crmkit.workflow.fieldtypes import build_field_types
from crmkit.workflow.followups import FollowUpService
from crmkit.workflow.io import IOService
from crmkit.workflow.leads import LeadService
from crmkit.workflow.notifications import NotificationService
from crmkit.workflow.operations import Runtime
from crmkit.workflow.opportunities import OpportunityService
from crmkit.workflow.org import OrgService
from crmkit.workflow.payments import PaymentService
from crmkit.workflow.plugins import PluginLoadError, build_plugin_manager
from crmkit.workflow.pool import PoolService
from crmkit.workflow.products import ProductService
from crmkit.workflow.record_access import RecordAccess
from crmkit.workflow.records import RecordService
from crmkit.workflow.reminders import ReminderService, default_sources
from crmkit.workflow.reports import ReportService
from crmkit.workflow.scenes import SceneService
from crmkit.workflow.schedules import ScheduleService
from crmkit.workflow.tasks import TaskService
from crmkit.workflow.timeline import (
    ApprovalsOnTimeline,
    FollowUpsOnTimeline,
    RelatedOnTimeline,
    TimelineService,
)
from crmkit.workflow.workbench import WorkbenchService
from crmkit.workflow.worklogs import WorkLogService

DEFAULT_TIMEZONE = "Asia/Shanghai"


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
        kinds: Iterable[RecordKind[Any]] = (),
        formats: Mapping[str, SheetFormat] | None = None,
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
            kinds=with_host_kinds(kinds),
            committed=lambda entries: manager.hook.crmkit_after_commit(crm=self,
                                                                       entries=entries),
        )
        self.kinds: Mapping[str, RecordKind[Any]] = self.runtime.kinds
        """Every record kind this CRM knows, by name: crmkit's and the ``kinds`` declared by
        the host (reached through :meth:`kind`)."""
        self.fields = FieldService(self.runtime, self.field_types)
        self.records = RecordAccess(self.runtime)
        parts = (self.runtime, self.fields, self.field_types, self.records)
        self.approvals = ApprovalService(self.runtime)
        self.customers = CustomerService(*parts, CUSTOMER_KIND, cascades={
            CONTACT: move_children(CONTACT), OPPORTUNITY: move_children(OPPORTUNITY),
            CONTRACT: move_children(CONTRACT, PAYMENT)})
        self.contacts = ContactService(*parts, CONTACT_KIND)
        self.products = ProductService(*parts, PRODUCT_KIND)
        self.opportunities = OpportunityService(*parts, OPPORTUNITY_KIND)
        self.leads = LeadService(*parts, LEAD_KIND, customers=self.customers,
                                 contacts=self.contacts, opportunities=self.opportunities)
        self.contracts = ContractService(*parts, CONTRACT_KIND, approvals=self.approvals,
                                         customers=self.customers)
        self.payments = PaymentService(*parts, PAYMENT_KIND, approvals=self.approvals,
                                       contracts=self.contracts)
        self.tasks = TaskService(*parts, TASK_KIND)
        self.schedules = ScheduleService(*parts, SCHEDULE_KIND)
        self.work_logs = WorkLogService(*parts, WORK_LOG_KIND)
        self.campaigns = CampaignService(*parts, CAMPAIGN_KIND)
        services: list[RecordService[Any]] = [
            self.leads, self.customers, self.contacts, self.products, self.opportunities,
            self.contracts, self.payments, self.tasks, self.schedules, self.work_logs,
            self.campaigns]
        for declaration in self.kinds.values():
            if declaration.has(Feature.APPROVAL) and declaration not in BUILTIN_KINDS:
                raise ValueError(f"record kind {declaration.kind!r}: approval needs a service "
                                 "that submits records (crmkit's contracts and payments)")
            if declaration not in BUILTIN_KINDS:
                services.append(RecordService(*parts, declaration))
        self._services = {service.kind: service for service in services}
        self.org = OrgService(self.runtime, self.records,
                              {kind: s.hand_over for kind, s in self._services.items()})
        self.scenes = SceneService(self.runtime, self.fields)
        self.followups = FollowUpService(self.runtime, self.records, self.schedules)
        self.attachments = AttachmentService(self.runtime, self.records, files)
        self.comments = CommentService(self.runtime, self.records)
        self.workbench = WorkbenchService(self.runtime, self.records)
        self.duplicates = DuplicateService(self.runtime, self.fields, self.records)
        self.pool = PoolService(self.runtime, self.records, self.customers)
        self.io = IOService(self.runtime, self.fields, self.field_types, self.kind,
                            formats or {})
        """导入/导出: the sheet ``formats`` by name (:class:`crmkit.CRM`: CSV and XLSX)."""
        self.dashboard = DashboardService(self.runtime)
        self.reports = ReportService(self.runtime, self.dashboard, formats or {})
        """统计分析: report tables and charts of the dashboard's subjects and periods."""
        self.reminders = ReminderService(self.runtime, default_sources(self.runtime, self.pool))
        self.notifications = NotificationService(
            self.runtime, notifier if isinstance(notifier, Inbox) else None)
        self.timeline = TimelineService(self.runtime, self.records, [
            FollowUpsOnTimeline(), ApprovalsOnTimeline(self.runtime),
            RelatedOnTimeline(self.tasks, TimelineCategory.TASK),
            RelatedOnTimeline(self.schedules, TimelineCategory.SCHEDULE, attrgetter("starts_at")),
            RelatedOnTimeline(self.work_logs, TimelineCategory.LOG)])
        for service in (self.org, self.fields, self.scenes, self.followups, self.attachments,
                        self.comments, self.workbench, self.duplicates, self.pool,
                        self.approvals, self.io, self.dashboard, self.reports, self.reminders,
                        self.notifications, self.timeline, *services):
            guard(service)

    def kind(self, name: str) -> RecordService[Any]:
        """The record service of any kind by name — ``crm.kind("lead")`` is ``crm.leads``; a
        kind the host declared (``CRM(kinds=[…])``) has the shared record service: create,
        get, update, delete, list (filters, scenes), transfer, team and operation log, as its
        declared features allow. An unknown name → NotFound ``record_kind.not_found``."""
        self.runtime.declaration(name)
        return self._services[name]
