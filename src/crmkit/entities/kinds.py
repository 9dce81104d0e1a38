"""Record kinds (线索, 客户, 联系人 …): one :class:`RecordKind` declaration each.

A declaration says everything crmkit needs to know about a kind — the entity class, the module
whose permissions and data scope govern it, its system fields, what a payload may write, the
fields no two records share, the table it is stored in, its scenes and which shared record
features apply. Tables, row mappings, catalogues and registries are derived from the
declarations (:data:`BUILTIN_KINDS`); nothing else lists the kinds.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from crmkit.entities.calendar import EVENT, CalendarEvent
from crmkit.entities.calendar_fields import SCHEDULE_EXTRAS, SCHEDULE_FIELDS, SCHEDULE_WRITABLE
from crmkit.entities.campaign_fields import (
    CAMPAIGN_FIELDS,
    CAMPAIGN_STATUS_LABELS,
    CAMPAIGN_TYPE_LABELS,
    CAMPAIGN_WRITABLE,
)
from crmkit.entities.campaigns import CAMPAIGN, Campaign
from crmkit.entities.common import frozen_mapping
from crmkit.entities.contract_fields import (
    APPROVAL_STATUS_LABELS,
    CONTRACT_FIELDS,
    CONTRACT_WRITABLE,
    PAYMENT_FIELDS,
    PAYMENT_WRITABLE,
)
from crmkit.entities.contracts import CONTRACT, PAYMENT, Contract, Payment
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.leads import LEAD, LEAD_FIELDS, READ_ONLY, Lead
from crmkit.entities.org import Module
from crmkit.entities.records import ConditionSpec
from crmkit.entities.sales import (
    CONTACT,
    CUSTOMER,
    OPPORTUNITY,
    PRODUCT,
    Contact,
    Customer,
    Opportunity,
    Product,
)
from crmkit.entities.sales_fields import (
    CONTACT_FIELDS,
    CONTACT_WRITABLE,
    CUSTOMER_FIELDS,
    CUSTOMER_WRITABLE,
    OPPORTUNITY_FIELDS,
    OPPORTUNITY_STATUS_LABELS,
    OPPORTUNITY_WRITABLE,
    PRODUCT_FIELDS,
    PRODUCT_WRITABLE,
    fields_of,
)
from crmkit.entities.task_fields import PRIORITY_LABELS, TASK_EXTRAS, TASK_FIELDS, TASK_WRITABLE
from crmkit.entities.tasks import TASK, Task
from crmkit.entities.worklog_fields import WORK_LOG_EXTRAS, WORK_LOG_FIELDS, WORK_LOG_WRITABLE
from crmkit.entities.worklogs import WORK_LOG, WorkLog

__all__ = [
    "BUILTIN_KINDS",
    "CAMPAIGN_KIND",
    "CLASSIFIED_COLUMNS",
    "CONTACT_COLUMNS",
    "CONTACT_KIND",
    "CONTRACT_KIND",
    "CUSTOMER_KIND",
    "FEATURE_ATTRIBUTES",
    "LEAD_KIND",
    "LISTING_INDEXES",
    "OPPORTUNITY_KIND",
    "PAYMENT_KIND",
    "PRODUCT_KIND",
    "RECENT_INDEXES",
    "RECORD_ATTRIBUTES",
    "RECORD_KINDS",
    "RECORD_MODULES",
    "RECORD_TYPES",
    "SCHEDULE_KIND",
    "SEARCHABLE_TYPES",
    "TASK_KIND",
    "WORK_LOG_KIND",
    "Column",
    "Feature",
    "Indexes",
    "OptionLabels",
    "RecordKind",
    "Scenes",
    "fields_of",
    "frozen_mapping",
    "kind_name",
    "kinds_by_name",
    "with_host_kinds",
]

_R = TypeVar("_R")
_SQL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""A kind's name and table: lower case, so no two differ by case only (SQLite ignores it)."""


class Feature(enum.StrEnum):
    """The shared record features a kind takes part in."""

    TEAM = "team"
    """相关团队: members with read or read-write access."""
    TRANSFER = "transfer"
    """转移: a new owner, one record or many."""
    POOL = "pool"
    """公海: records can be put back, claimed, assigned and reclaimed."""
    FOLLOWUPS = "followups"
    """跟进记录: follow-ups update ``last_followup_at`` / ``last_followup_content``."""
    ATTACHMENTS = "attachments"
    """附件."""
    APPROVAL = "approval"
    """审批: the record goes through an approval flow (``approval_status``)."""
    TIMELINE = "timeline"
    """The record's timeline lists its follow-ups, tasks, schedules, logs and approvals."""
    COMMENTS = "comments"
    """评论: whoever sees a record may comment on it (``crm.comments``)."""
    RELATED = "related"
    """相关业务: the record names related records (``related``); the record engine keeps them
    as links (``uow.links``) so "what relates to this record" is one indexed lookup."""


RECORD_ATTRIBUTES = frozenset({"id", "owner_id", "version", "created_at", "updated_at",
                               "created_by", "custom"})
"""What the record engine reads and writes on every record (attrs attributes of the entity)."""

FEATURE_ATTRIBUTES: Mapping[Feature, frozenset[str]] = {
    Feature.FOLLOWUPS: frozenset({"last_followup_at", "last_followup_content",
                                  "next_contact_at"}),
    Feature.POOL: frozenset({"pool_id"}),
    Feature.APPROVAL: frozenset({"number", "approval_status", "approval_id"}),
    Feature.RELATED: frozenset({"related"}),
}
"""The attributes a kind's entity needs to take part in a feature (checked when declared)."""

SEARCHABLE_TYPES = frozenset({"text", "textarea", "mobile", "phone", "email", "url"})
"""Field types a keyword can look in (their values are text)."""

Scenes = Mapping[str, tuple[str, str, tuple[ConditionSpec, ...]]]
"""Kind-specific system scenes: scene id → (zh name, en name, conditions)."""


def _name(record: Any) -> str:
    return str(record.name)


def _number(record: Any) -> str:
    return str(getattr(record, "number", None) or "")


@attrs.frozen
class Column:
    """A storage hint for one attribute whose column differs from what its type implies;
    adapters read it, the domain does not. Without a hint text is unbounded (ids — ``id``,
    ``*_id``, ``created_by`` — hold 64 characters, enums 16) and decimals are amounts."""

    length: int | None = None
    """Text: at most this many characters."""
    digits: int | None = None
    """Decimals: at most this many digits (amounts: 20), of which as many after the point as the
    system field's ``precision`` (2 by default)."""


OptionLabels = Mapping[str, Mapping[str, tuple[str, str]]]
"""Field key → option code → (zh label, en label)."""

Indexes = Mapping[str, tuple[str, ...]]
"""Lookups a storage should serve fast: index name (unique within the kind) → attributes."""

LISTING_INDEXES: Indexes = {"owner_created": ("owner_id", "created_at", "id")}
"""The default list order (newest first) within owners' scopes."""

RECENT_INDEXES: Indexes = {"created": ("created_at", "id")}
"""The default list order for wide scopes: a page stops after its rows."""

CONTACT_COLUMNS: Mapping[str, Column] = {
    "mobile": Column(32), "phone": Column(64), "email": Column(254)}
"""Phone numbers and mail addresses."""

CLASSIFIED_COLUMNS: Mapping[str, Column] = {
    "source": Column(200), "industry": Column(200), "level": Column(200)}
"""Option fields (来源, 行业, 级别)."""


@attrs.frozen
class RecordKind(Generic[_R]):
    """One record kind, declared once.

    ``writable`` lists the system fields a create/edit payload may set (``owner_id`` only on
    create). ``scenes`` adds kind-specific system scenes (e.g. 已转化 for leads);
    ``base_conditions`` applies to every scene except those in ``scenes``. ``unique_fields``
    are the attributes no two records share unless empty (``<kind>.<field>_taken``), enforced
    by the storage. ``table`` names the table an SQL adapter stores the kind in.
    """

    kind: str
    entity: type[_R]
    module: Module
    label_zh: str
    label_en: str
    system_fields: tuple[FieldDefinition, ...]
    writable: frozenset[str]
    table: str
    features: frozenset[Feature] = frozenset()
    unique_fields: tuple[str, ...] = ()
    scenes: Scenes = attrs.field(factory=dict, converter=frozen_mapping)
    base_conditions: tuple[ConditionSpec, ...] = ()
    extra_keys: frozenset[str] = frozenset()
    """Payload keys the kind's own service validates (e.g. opportunity product lines)."""
    title: Callable[[Any], str] = _name
    columns: Mapping[str, Column] = attrs.field(factory=dict, converter=frozen_mapping)
    """Storage hints per attribute (see :class:`Column`)."""
    indexes: Indexes = attrs.field(factory=dict, converter=frozen_mapping)
    """Lookups to serve fast besides those every list needs (:attr:`list_indexes`; each unique
    field gets its own unique one too)."""
    searchable: tuple[str, ...] = ()
    """搜索: the system text fields a list's keyword looks in (name, mobile, phone, email …);
    a storage indexes them for substring search where it can (trigrams on PostgreSQL)."""
    option_labels: OptionLabels = attrs.field(factory=dict, converter=frozen_mapping)
    """Labels of select options stored as codes (e.g. ``approval_status``: ``approved`` →
    通过 / Approved): exports write the label, imports read label or code."""

    @property
    def attributes(self) -> frozenset[str]:
        """The attribute names of the entity (an attrs class)."""
        return frozenset(attrs.fields_dict(self.entity)) if attrs.has(self.entity) else frozenset()

    def __attrs_post_init__(self) -> None:
        names = self.attributes
        system = {f.key for f in self.system_fields}
        needed = RECORD_ATTRIBUTES | system | set(self.unique_fields)
        for feature in self.features:
            needed |= FEATURE_ATTRIBUTES.get(feature, frozenset())
        missing = sorted(needed - names)
        if missing:
            raise ValueError(f"record kind {self.kind!r}: {self.entity.__name__} lacks the "
                             f"attributes {', '.join(missing)}")
        if not _SQL_NAME.fullmatch(self.kind) or not _SQL_NAME.fullmatch(self.table):
            raise ValueError(f"record kind {self.kind!r}: the kind and its table {self.table!r} "
                             "are lower-case names ([a-z][a-z0-9_]*, at most 63 characters)")
        if not self.writable <= system:
            raise ValueError(f"record kind {self.kind!r}: writable names no system field: "
                             f"{', '.join(sorted(self.writable - system))}")
        texts = {f.key for f in self.system_fields if f.type in SEARCHABLE_TYPES}
        if unsearchable := [key for key in self.searchable if key not in texts]:
            raise ValueError(f"record kind {self.kind!r}: searchable names no system text "
                             f"field: {', '.join(unsearchable)}")

    def has(self, feature: Feature) -> bool:
        return feature in self.features

    @property
    def list_indexes(self) -> Indexes:
        """:attr:`indexes` and what the kind's lists need, derived: the default sort (newest
        first) within owners' scopes (``owner_created``: 我负责的, 下属负责的, data scopes) and
        over all records (``created``: 全部 for a wide scope), and for every system scene with
        conditions (``base_conditions``, :attr:`scenes`) its condition fields before the sort
        (``<fields>_created``). A derived index whose columns a declared one already has is
        left out."""
        wanted: dict[str, tuple[str, ...]] = {**LISTING_INDEXES, **RECENT_INDEXES}
        for conditions in (self.base_conditions, *(c for _, _, c in self.scenes.values())):
            fields = tuple(dict.fromkeys(c.field for c in conditions))
            if fields:
                wanted["_".join(fields) + "_created"] = (*fields, *RECENT_INDEXES["created"])
        found = dict(self.indexes)
        for name, columns in wanted.items():
            if columns not in found.values():
                found.setdefault(name, columns)
        return found


_PERSON_SEARCH = ("name", "mobile", "phone", "email")
"""搜索 over the kinds that name a person or a company and how to reach them."""

_SHARED = frozenset({Feature.TEAM, Feature.TRANSFER, Feature.FOLLOWUPS, Feature.ATTACHMENTS,
                     Feature.TIMELINE})

LEAD_KIND: RecordKind[Lead] = RecordKind(
    LEAD, Lead, Module.LEADS, "线索", "lead", LEAD_FIELDS,
    frozenset(f.key for f in LEAD_FIELDS) - READ_ONLY, "crm_leads", _SHARED,
    scenes={"converted": ("已转化", "Converted", (ConditionSpec("converted", "eq", True),))},
    base_conditions=(ConditionSpec("converted", "eq", False),),
    columns={**CONTACT_COLUMNS, **CLASSIFIED_COLUMNS},
    indexes={"owner_updated": ("owner_id", "updated_at", "id"), "name": ("name",),
             "campaign": ("campaign_id",)},
    searchable=_PERSON_SEARCH,
)
CUSTOMER_KIND: RecordKind[Customer] = RecordKind(
    CUSTOMER, Customer, Module.CUSTOMERS, "客户", "customer", CUSTOMER_FIELDS,
    CUSTOMER_WRITABLE, "crm_customers", _SHARED | {Feature.POOL},
    columns={**CONTACT_COLUMNS, **CLASSIFIED_COLUMNS, "deal_status": Column(200)},
    indexes={"owner_updated": ("owner_id", "updated_at", "id"), "pool": ("pool_id",),
             "name": ("name",), "owner_locked": ("owner_id", "locked"),
             "owner_deal": ("owner_id", "deal_status"), "campaign": ("campaign_id",)},
    searchable=_PERSON_SEARCH,
)
CONTACT_KIND: RecordKind[Contact] = RecordKind(
    CONTACT, Contact, Module.CONTACTS, "联系人", "contact", CONTACT_FIELDS, CONTACT_WRITABLE,
    "crm_contacts", _SHARED,
    columns={**CONTACT_COLUMNS, "position": Column(200)},
    indexes={"customer": ("customer_id",)},
    searchable=_PERSON_SEARCH,
)
PRODUCT_KIND: RecordKind[Product] = RecordKind(
    PRODUCT, Product, Module.PRODUCTS, "产品", "product", PRODUCT_FIELDS, PRODUCT_WRITABLE,
    "crm_products", frozenset({Feature.TEAM, Feature.TRANSFER, Feature.ATTACHMENTS}),
    columns={"code": Column(200), "unit": Column(64)},
    indexes={"code": ("code",), "category": ("category_id",)},
    searchable=("name", "code"),
)
OPPORTUNITY_KIND: RecordKind[Opportunity] = RecordKind(
    OPPORTUNITY, Opportunity, Module.OPPORTUNITIES, "商机", "opportunity", OPPORTUNITY_FIELDS,
    OPPORTUNITY_WRITABLE, "crm_opportunities", _SHARED,
    extra_keys=frozenset({"lines", "contact_ids"}),
    columns={"order_discount": Column(digits=7)},
    option_labels={"status": OPPORTUNITY_STATUS_LABELS},
    indexes={"customer_created": ("customer_id", "created_at"),
             "stage": ("stage_group_id", "stage_id")},
    searchable=("name",),
)
CONTRACT_KIND: RecordKind[Contract] = RecordKind(
    CONTRACT, Contract, Module.CONTRACTS, "合同", "contract", CONTRACT_FIELDS, CONTRACT_WRITABLE,
    "crm_contracts", _SHARED | {Feature.APPROVAL}, unique_fields=("number",),
    extra_keys=frozenset({"lines"}),
    columns={"number": Column(64), "order_discount": Column(digits=7)},
    option_labels={"approval_status": APPROVAL_STATUS_LABELS},
    indexes={"customer": ("customer_id",), "opportunity": ("opportunity_id",)},
    searchable=("name", "number"),
)
PAYMENT_KIND: RecordKind[Payment] = RecordKind(
    PAYMENT, Payment, Module.PAYMENTS, "回款", "payment", PAYMENT_FIELDS, PAYMENT_WRITABLE,
    "crm_payments", _SHARED | {Feature.APPROVAL}, unique_fields=("number",), title=_number,
    columns={"number": Column(64), "method": Column(64)},
    option_labels={"approval_status": APPROVAL_STATUS_LABELS},
    # The contract and plan lookups carry the approval status, so the received sums read only
    # the effective rows.
    indexes={"customer": ("customer_id",), "contract": ("contract_id", "approval_status"),
             "plan": ("plan_id", "approval_status")},
    searchable=("number",),
)

TASK_KIND: RecordKind[Task] = RecordKind(
    TASK, Task, Module.TASKS, "任务", "task", TASK_FIELDS, TASK_WRITABLE, "crm_tasks",
    features=frozenset({Feature.TEAM, Feature.TRANSFER, Feature.ATTACHMENTS, Feature.COMMENTS,
                        Feature.RELATED}),
    extra_keys=TASK_EXTRAS, title=lambda task: str(task.title),
    option_labels={"priority": PRIORITY_LABELS},
    indexes={"owner_due": ("owner_id", "due_date"), "parent": ("parent_id",)},
    searchable=("title",),
)
"""任务: owned records of the tasks module (the workbench rules are crmkit.policies)."""

SCHEDULE_KIND: RecordKind[CalendarEvent] = RecordKind(
    EVENT, CalendarEvent, Module.TASKS, "日程", "schedule", SCHEDULE_FIELDS, SCHEDULE_WRITABLE,
    "crm_calendar_events", features=frozenset({Feature.RELATED}), extra_keys=SCHEDULE_EXTRAS,
    title=lambda event: str(event.title), columns={"source": Column(64)},
    indexes={"owner_starts": ("owner_id", "starts_at")}, searchable=("title",),
)
"""日程: calendar events of the tasks (办公) module; participants see them (read-only team
members); the repeat rules are crmkit.policies.recurrence."""

WORK_LOG_KIND: RecordKind[WorkLog] = RecordKind(
    WORK_LOG, WorkLog, Module.TASKS, "日志", "work log", WORK_LOG_FIELDS, WORK_LOG_WRITABLE,
    "crm_work_logs", features=frozenset({Feature.RELATED, Feature.COMMENTS}),
    extra_keys=WORK_LOG_EXTRAS,
    title=lambda log: f"{log.period.label_zh} {log.period_start.isoformat()}",
    indexes={"owner_period": ("owner_id", "period_start")},
)
"""日志: reports of the tasks (办公) module; recipients see them (read-only team members); the
rules are crmkit.policies.worklogs."""

CAMPAIGN_KIND: RecordKind[Campaign] = RecordKind(
    CAMPAIGN, Campaign, Module.CAMPAIGNS, "市场活动", "campaign", CAMPAIGN_FIELDS,
    CAMPAIGN_WRITABLE, "crm_campaigns",
    features=frozenset({Feature.TEAM, Feature.TRANSFER, Feature.ATTACHMENTS}),
    option_labels={"type": CAMPAIGN_TYPE_LABELS, "status": CAMPAIGN_STATUS_LABELS},
    indexes={"starts": ("starts_on",)},
    searchable=("name",),
)
"""市场活动: records of the campaigns module; leads and customers name theirs
(``campaign_id``); the evaluation is ``crm.campaigns.evaluate`` / ``report``."""

BUILTIN_KINDS: tuple[RecordKind[Any], ...] = (
    LEAD_KIND, CUSTOMER_KIND, CONTACT_KIND, PRODUCT_KIND, OPPORTUNITY_KIND, CONTRACT_KIND,
    PAYMENT_KIND, TASK_KIND, SCHEDULE_KIND, WORK_LOG_KIND, CAMPAIGN_KIND,
)
"""crmkit's own record kinds, in the order their modules appear."""


def kinds_by_name(kinds: Iterable[RecordKind[Any]]) -> dict[str, RecordKind[Any]]:
    """Kind name → declaration; a name declared twice is a ``ValueError``."""
    registry: dict[str, RecordKind[Any]] = {}
    for declaration in kinds:
        if declaration.kind in registry:
            raise ValueError(f"record kind {declaration.kind!r} declared twice")
        registry[declaration.kind] = declaration
    return registry


def with_host_kinds(kinds: Iterable[RecordKind[Any]]) -> dict[str, RecordKind[Any]]:
    """crmkit's kinds and a host's own, by name. A host kind cannot take :attr:`Feature.POOL`
    (the 公海 pool, its rules and its sweep serve customers only) nor a built-in kind's name:
    either is a ``ValueError`` when the CRM or its storage is built."""
    kinds = tuple(kinds)
    for declaration in kinds:
        if declaration.has(Feature.POOL):
            raise ValueError(f"record kind {declaration.kind!r}: the pool serves customers only")
    return kinds_by_name((*BUILTIN_KINDS, *kinds))


def kind_name(kind: str | RecordKind[Any]) -> str:
    """The name of a kind given by name or by declaration (``uow.records`` takes either)."""
    return kind if isinstance(kind, str) else kind.kind


RECORD_KINDS: dict[str, RecordKind[Any]] = kinds_by_name(BUILTIN_KINDS)
"""Built-in kind name → declaration."""

RECORD_TYPES: dict[str, type] = {k.kind: k.entity for k in BUILTIN_KINDS}
"""Record kind → entity class (derived from the declarations)."""

RECORD_MODULES: dict[str, Module] = {k.kind: k.module for k in BUILTIN_KINDS}
"""Record kind → the module whose permissions and data scope govern it (derived)."""
