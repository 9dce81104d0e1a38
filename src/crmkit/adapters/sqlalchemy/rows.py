"""Explicit row ↔ entity conversion for the Core tables (no ORM mapping of the attrs entities).

``*_to_row`` returns the column dict to INSERT/UPDATE; ``row_to_*`` builds the entity from a
result row (``RowMapping``). JSON columns hold plain JSON: enums by value, sets as sorted lists,
so a stored document is deterministic and readable by other tools.

Kinds stored one column per attribute under the attribute's own name (contracts, payments,
payment plans) need no hand-written pair: :func:`attrs_row_mapper` builds both directions from
``attrs.fields`` plus a :class:`Codec` per attribute whose column value differs (enums, product
lines, custom values) and any computed columns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs
from sqlalchemy import RowMapping

from crmkit.entities import (
    CustomDepartment,
    DataScope,
    Department,
    FieldChange,
    Gender,
    JSONValue,
    Module,
    Operation,
    OperationLogEntry,
    Role,
    ScopeLevel,
    User,
    UserStatus,
)
from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import Contract, Payment, PaymentPlan
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.leads import Lead
from crmkit.entities.records import (
    Attachment,
    ColumnConfig,
    ConditionSpec,
    FollowUp,
    Scene,
    Schedule,
    SortSpec,
)
from crmkit.entities.sales import (
    Contact,
    Customer,
    Opportunity,
    OpportunityStatus,
    PriceChange,
    Product,
    ProductCategory,
    ProductLine,
    Stage,
    StageChange,
    StageGroup,
)

# -- departments -----------------------------------------------------------------------------


def department_to_row(department: Department) -> dict[str, Any]:
    """Every field of a department, one column each."""
    return {
        "id": department.id,
        "name": department.name,
        "parent_id": department.parent_id,
        "sort_order": department.sort_order,
        "version": department.version,
    }


def row_to_department(row: RowMapping) -> Department:
    return Department(
        id=row["id"],
        name=row["name"],
        parent_id=row["parent_id"],
        sort_order=row["sort_order"],
        version=row["version"],
    )


# -- users -----------------------------------------------------------------------------------


def user_to_row(user: User) -> dict[str, Any]:
    """Every field of a user except ``role_ids`` (stored in ``crm_user_roles``); enums by value."""
    return {
        "id": user.id,
        "mobile": user.mobile,
        "name": user.name,
        "gender": user.gender.value,
        "email": user.email,
        "department_id": user.department_id,
        "position": user.position,
        "supervisor_id": user.supervisor_id,
        "status": user.status.value,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "version": user.version,
    }


def user_role_rows(user: User) -> list[dict[str, Any]]:
    """One ``crm_user_roles`` row per role the user holds (sorted, for deterministic writes)."""
    return [{"user_id": user.id, "role_id": role_id} for role_id in sorted(user.role_ids)]


def row_to_user(row: RowMapping, role_ids: Iterable[str] = ()) -> User:
    """A user from its ``crm_users`` row plus the role ids loaded from ``crm_user_roles``."""
    return User(
        id=row["id"],
        mobile=row["mobile"],
        name=row["name"],
        department_id=row["department_id"],
        gender=Gender(row["gender"]),
        email=row["email"],
        position=row["position"],
        supervisor_id=row["supervisor_id"],
        role_ids=frozenset(role_ids),
        status=UserStatus(row["status"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


# -- roles -----------------------------------------------------------------------------------


def permissions_to_json(
    permissions: Mapping[Module, frozenset[Operation]],
) -> dict[str, list[str]]:
    """``{module: [operation, ...]}`` with modules and operations by value, operations sorted."""
    return {
        module.value: sorted(op.value for op in operations)
        for module, operations in sorted(permissions.items())
    }


def json_to_permissions(data: Mapping[str, Any]) -> dict[Module, frozenset[Operation]]:
    """Inverse of :func:`permissions_to_json`; unknown modules/operations raise ``ValueError``."""
    return {
        Module(module): frozenset(Operation(op) for op in operations)
        for module, operations in data.items()
    }


def scope_to_json(scope: DataScope) -> dict[str, Any]:
    """``{level, departments: [{department_id, include_children}], users: [...]}``, sorted."""
    return {
        "level": scope.level.value,
        "departments": [
            {"department_id": d.department_id, "include_children": d.include_children}
            for d in sorted(scope.departments, key=lambda d: (d.department_id, d.include_children))
        ],
        "users": sorted(scope.users),
    }


def json_to_scope(data: Mapping[str, Any]) -> DataScope:
    """Inverse of :func:`scope_to_json`; missing lists read as empty."""
    return DataScope(
        level=ScopeLevel(data["level"]),
        departments=frozenset(
            CustomDepartment(d["department_id"], bool(d["include_children"]))
            for d in data.get("departments", ())
        ),
        users=frozenset(data.get("users", ())),
    )


def scopes_to_json(scopes: Mapping[Module, DataScope]) -> dict[str, dict[str, Any]]:
    """``{module: scope_to_json(scope)}`` with modules by value."""
    return {module.value: scope_to_json(scope) for module, scope in sorted(scopes.items())}


def json_to_scopes(data: Mapping[str, Any]) -> dict[Module, DataScope]:
    return {Module(module): json_to_scope(scope) for module, scope in data.items()}


def role_to_row(role: Role) -> dict[str, Any]:
    """Every field of a role; permissions and scopes as JSON documents."""
    return {
        "id": role.id,
        "name": role.name,
        "code": role.code,
        "description": role.description,
        "permissions": permissions_to_json(role.permissions),
        "scopes": scopes_to_json(role.scopes),
        "version": role.version,
    }


def row_to_role(row: RowMapping) -> Role:
    # Passed as ``**fields`` because the generic ``frozen_mapping`` converter leaves mypy
    # expecting an unsolved ``Mapping[K, V]`` for ``permissions``/``scopes``.
    fields: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "permissions": json_to_permissions(row["permissions"]),
        "scopes": json_to_scopes(row["scopes"]),
        "code": row["code"],
        "description": row["description"],
        "version": row["version"],
    }
    return Role(**fields)


# -- operation log ---------------------------------------------------------------------------


def changes_to_json(changes: Iterable[FieldChange]) -> list[dict[str, JSONValue]]:
    """Field changes as ``[{field, old, new}, ...]`` in their original order."""
    return [{"field": c.field, "old": c.old, "new": c.new} for c in changes]


def json_to_changes(data: Iterable[Mapping[str, JSONValue]]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(c["field"], c["old"], c["new"]) for c in data)


def log_entry_to_row(entry: OperationLogEntry) -> dict[str, Any]:
    """Every field of an operation-log entry; changes as a JSON list."""
    return {
        "id": entry.id,
        "record_kind": entry.record_kind,
        "record_id": entry.record_id,
        "actor_id": entry.actor_id,
        "at": entry.at,
        "action": entry.action,
        "changes": changes_to_json(entry.changes),
        "note": entry.note,
    }


def row_to_log_entry(row: RowMapping) -> OperationLogEntry:
    return OperationLogEntry(
        id=row["id"],
        record_kind=row["record_kind"],
        record_id=row["record_id"],
        actor_id=row["actor_id"],
        at=row["at"],
        action=row["action"],
        changes=json_to_changes(row["changes"]),
        note=row["note"],
    )


# -- business records --------------------------------------------------------------------------


def lead_to_row(lead: Lead) -> dict[str, Any]:
    """Every attribute of a lead, one column each; ``custom`` as a JSON object."""
    return {
        "id": lead.id,
        "name": lead.name,
        "owner_id": lead.owner_id,
        "created_by": lead.created_by,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "version": lead.version,
        "contact_name": lead.contact_name,
        "mobile": lead.mobile,
        "phone": lead.phone,
        "email": lead.email,
        "source": lead.source,
        "industry": lead.industry,
        "level": lead.level,
        "address": lead.address,
        "remark": lead.remark,
        "next_contact_at": lead.next_contact_at,
        "last_followup_at": lead.last_followup_at,
        "last_followup_content": lead.last_followup_content,
        "converted": lead.converted,
        "converted_at": lead.converted_at,
        "customer_id": lead.customer_id,
        "custom": dict(lead.custom),
    }


def row_to_lead(row: RowMapping) -> Lead:
    return Lead(
        id=row["id"],
        name=row["name"],
        owner_id=row["owner_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        contact_name=row["contact_name"],
        mobile=row["mobile"],
        phone=row["phone"],
        email=row["email"],
        source=row["source"],
        industry=row["industry"],
        level=row["level"],
        address=row["address"],
        remark=row["remark"],
        next_contact_at=row["next_contact_at"],
        last_followup_at=row["last_followup_at"],
        last_followup_content=row["last_followup_content"],
        converted=row["converted"],
        converted_at=row["converted_at"],
        customer_id=row["customer_id"],
        custom=row["custom"] or {},
    )


def decimal_to_json(value: Decimal) -> str:
    """A decimal as fixed-point JSON text (``"12.50"``, never ``"1E+3"``): exact, scale kept."""
    return format(value, "f")


def customer_to_row(customer: Customer) -> dict[str, Any]:
    """Every attribute of a customer, one column each; ``custom`` as a JSON object."""
    return {
        "id": customer.id,
        "name": customer.name,
        "owner_id": customer.owner_id,
        "created_by": customer.created_by,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "version": customer.version,
        "level": customer.level,
        "industry": customer.industry,
        "source": customer.source,
        "deal_status": customer.deal_status,
        "phone": customer.phone,
        "mobile": customer.mobile,
        "email": customer.email,
        "website": customer.website,
        "address": customer.address,
        "remark": customer.remark,
        "next_contact_at": customer.next_contact_at,
        "last_followup_at": customer.last_followup_at,
        "last_followup_content": customer.last_followup_content,
        "locked": customer.locked,
        "pool_id": customer.pool_id,
        "previous_owner_id": customer.previous_owner_id,
        "pooled_at": customer.pooled_at,
        "received_at": customer.received_at,
        "pool_warned_at": customer.pool_warned_at,
        "lead_id": customer.lead_id,
        "custom": dict(customer.custom),
    }


def row_to_customer(row: RowMapping) -> Customer:
    return Customer(
        id=row["id"],
        name=row["name"],
        owner_id=row["owner_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        level=row["level"],
        industry=row["industry"],
        source=row["source"],
        deal_status=row["deal_status"],
        phone=row["phone"],
        mobile=row["mobile"],
        email=row["email"],
        website=row["website"],
        address=row["address"],
        remark=row["remark"],
        next_contact_at=row["next_contact_at"],
        last_followup_at=row["last_followup_at"],
        last_followup_content=row["last_followup_content"],
        locked=row["locked"],
        pool_id=row["pool_id"],
        previous_owner_id=row["previous_owner_id"],
        pooled_at=row["pooled_at"],
        received_at=row["received_at"],
        pool_warned_at=row["pool_warned_at"],
        lead_id=row["lead_id"],
        custom=row["custom"] or {},
    )


def contact_to_row(contact: Contact) -> dict[str, Any]:
    """Every attribute of a contact, one column each; ``custom`` as a JSON object."""
    return {
        "id": contact.id,
        "name": contact.name,
        "customer_id": contact.customer_id,
        "owner_id": contact.owner_id,
        "created_by": contact.created_by,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "version": contact.version,
        "mobile": contact.mobile,
        "phone": contact.phone,
        "email": contact.email,
        "position": contact.position,
        "decision_maker": contact.decision_maker,
        "primary": contact.primary,
        "remark": contact.remark,
        "next_contact_at": contact.next_contact_at,
        "last_followup_at": contact.last_followup_at,
        "last_followup_content": contact.last_followup_content,
        "custom": dict(contact.custom),
    }


def row_to_contact(row: RowMapping) -> Contact:
    return Contact(
        id=row["id"],
        name=row["name"],
        customer_id=row["customer_id"],
        owner_id=row["owner_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        mobile=row["mobile"],
        phone=row["phone"],
        email=row["email"],
        position=row["position"],
        decision_maker=row["decision_maker"],
        primary=row["primary"],
        remark=row["remark"],
        next_contact_at=row["next_contact_at"],
        last_followup_at=row["last_followup_at"],
        last_followup_content=row["last_followup_content"],
        custom=row["custom"] or {},
    )


def product_to_row(product: Product) -> dict[str, Any]:
    """Every attribute of a product, one column each (price as NUMERIC)."""
    return {
        "id": product.id,
        "name": product.name,
        "code": product.code,
        "owner_id": product.owner_id,
        "created_by": product.created_by,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "version": product.version,
        "category_id": product.category_id,
        "unit": product.unit,
        "price": product.price,
        "description": product.description,
        "on_shelf": product.on_shelf,
        "custom": dict(product.custom),
    }


def row_to_product(row: RowMapping) -> Product:
    return Product(
        id=row["id"],
        name=row["name"],
        code=row["code"],
        owner_id=row["owner_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        category_id=row["category_id"],
        unit=row["unit"],
        price=row["price"],
        description=row["description"],
        on_shelf=row["on_shelf"],
        custom=row["custom"] or {},
    )


def lines_to_json(lines: Iterable[ProductLine]) -> list[dict[str, Any]]:
    """Product lines as ``[{product_id, name, price, quantity, discount, unit, subtotal}]``
    in order, every decimal as fixed-point text."""
    return [
        {
            "product_id": line.product_id,
            "name": line.name,
            "price": decimal_to_json(line.price),
            "quantity": decimal_to_json(line.quantity),
            "discount": decimal_to_json(line.discount),
            "unit": line.unit,
            "subtotal": decimal_to_json(line.subtotal),
        }
        for line in lines
    ]


def json_to_lines(data: Iterable[Mapping[str, Any]]) -> tuple[ProductLine, ...]:
    return tuple(
        ProductLine(
            product_id=item["product_id"],
            name=item["name"],
            price=Decimal(item["price"]),
            quantity=Decimal(item["quantity"]),
            discount=Decimal(item["discount"]),
            unit=item.get("unit"),
            subtotal=Decimal(item["subtotal"]),
        )
        for item in data
    )


def opportunity_to_row(opportunity: Opportunity) -> dict[str, Any]:
    """Every attribute of an opportunity, one column each; ``lines`` and ``contact_ids`` as
    JSON lists, the status by value."""
    return {
        "id": opportunity.id,
        "name": opportunity.name,
        "customer_id": opportunity.customer_id,
        "owner_id": opportunity.owner_id,
        "created_by": opportunity.created_by,
        "created_at": opportunity.created_at,
        "updated_at": opportunity.updated_at,
        "stage_group_id": opportunity.stage_group_id,
        "version": opportunity.version,
        "stage_id": opportunity.stage_id,
        "status": OpportunityStatus(opportunity.status).value,
        "amount": opportunity.amount,
        "expected_close_date": opportunity.expected_close_date,
        "lines": lines_to_json(opportunity.lines),
        "order_discount": opportunity.order_discount,
        "contact_ids": list(opportunity.contact_ids),
        "lost_reason": opportunity.lost_reason,
        "closed_at": opportunity.closed_at,
        "remark": opportunity.remark,
        "next_contact_at": opportunity.next_contact_at,
        "last_followup_at": opportunity.last_followup_at,
        "last_followup_content": opportunity.last_followup_content,
        "custom": dict(opportunity.custom),
    }


def row_to_opportunity(row: RowMapping) -> Opportunity:
    return Opportunity(
        id=row["id"],
        name=row["name"],
        customer_id=row["customer_id"],
        owner_id=row["owner_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        stage_group_id=row["stage_group_id"],
        version=row["version"],
        stage_id=row["stage_id"],
        status=OpportunityStatus(row["status"]),
        amount=row["amount"],
        expected_close_date=row["expected_close_date"],
        lines=json_to_lines(row["lines"]),
        order_discount=row["order_discount"],
        contact_ids=tuple(row["contact_ids"]),
        lost_reason=row["lost_reason"],
        closed_at=row["closed_at"],
        remark=row["remark"],
        next_contact_at=row["next_contact_at"],
        last_followup_at=row["last_followup_at"],
        last_followup_content=row["last_followup_content"],
        custom=row["custom"] or {},
    )


# -- stage groups, categories, histories -------------------------------------------------------


def stage_group_to_row(group: StageGroup) -> dict[str, Any]:
    """Stages as ``[{id, name, win_rate}]`` in order (win rate as text), departments sorted."""
    return {
        "id": group.id,
        "name": group.name,
        "stages": [
            {"id": s.id, "name": s.name, "win_rate": decimal_to_json(s.win_rate)}
            for s in group.stages
        ],
        "department_ids": sorted(group.department_ids),
        "enabled": group.enabled,
        "version": group.version,
    }


def row_to_stage_group(row: RowMapping) -> StageGroup:
    return StageGroup(
        id=row["id"],
        name=row["name"],
        stages=tuple(Stage(s["id"], s["name"], Decimal(s["win_rate"])) for s in row["stages"]),
        department_ids=frozenset(row["department_ids"]),
        enabled=row["enabled"],
        version=row["version"],
    )


def category_to_row(category: ProductCategory) -> dict[str, Any]:
    return {
        "id": category.id,
        "name": category.name,
        "parent_id": category.parent_id,
        "version": category.version,
    }


def row_to_category(row: RowMapping) -> ProductCategory:
    return ProductCategory(
        id=row["id"], name=row["name"], parent_id=row["parent_id"], version=row["version"]
    )


def price_change_to_row(change: PriceChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "product_id": change.product_id,
        "old_price": change.old_price,
        "new_price": change.new_price,
        "at": change.at,
        "actor_id": change.actor_id,
    }


def row_to_price_change(row: RowMapping) -> PriceChange:
    return PriceChange(
        id=row["id"],
        product_id=row["product_id"],
        old_price=row["old_price"],
        new_price=row["new_price"],
        at=row["at"],
        actor_id=row["actor_id"],
    )


def stage_change_to_row(change: StageChange) -> dict[str, Any]:
    """Statuses by value."""
    return {
        "id": change.id,
        "opportunity_id": change.opportunity_id,
        "from_stage_id": change.from_stage_id,
        "to_stage_id": change.to_stage_id,
        "from_status": OpportunityStatus(change.from_status).value,
        "to_status": OpportunityStatus(change.to_status).value,
        "at": change.at,
        "actor_id": change.actor_id,
        "reason": change.reason,
    }


def row_to_stage_change(row: RowMapping) -> StageChange:
    return StageChange(
        id=row["id"],
        opportunity_id=row["opportunity_id"],
        from_stage_id=row["from_stage_id"],
        to_stage_id=row["to_stage_id"],
        from_status=OpportunityStatus(row["from_status"]),
        to_status=OpportunityStatus(row["to_status"]),
        at=row["at"],
        actor_id=row["actor_id"],
        reason=row["reason"],
    )


def field_definition_to_row(definition: FieldDefinition) -> dict[str, Any]:
    """Every attribute of a field definition; ``options`` as a JSON list, ``order`` as
    ``sort_order``."""
    return {
        "kind": definition.kind,
        "key": definition.key,
        "label_zh": definition.label_zh,
        "label_en": definition.label_en,
        "type": definition.type,
        "system": definition.system,
        "required": definition.required,
        "unique": definition.unique,
        "default": definition.default,
        "options": list(definition.options),
        "max_length": definition.max_length,
        "precision": definition.precision,
        "min_value": definition.min_value,
        "max_value": definition.max_value,
        "help_text": definition.help_text,
        "sort_order": definition.order,
        "hidden": definition.hidden,
        "retired": definition.retired,
        "reference_kind": definition.reference_kind,
        "version": definition.version,
    }


def row_to_field_definition(row: RowMapping) -> FieldDefinition:
    return FieldDefinition(
        kind=row["kind"],
        key=row["key"],
        label_zh=row["label_zh"],
        label_en=row["label_en"],
        type=row["type"],
        system=row["system"],
        required=row["required"],
        unique=row["unique"],
        default=row["default"],
        options=tuple(row["options"]),
        max_length=row["max_length"],
        precision=row["precision"],
        min_value=row["min_value"],
        max_value=row["max_value"],
        help_text=row["help_text"],
        order=row["sort_order"],
        hidden=row["hidden"],
        retired=row["retired"],
        reference_kind=row["reference_kind"],
        version=row["version"],
    )


def scene_to_row(scene: Scene) -> dict[str, Any]:
    """Conditions as ``[{field, op, value}]``, sort as ``[{field, descending}]``."""
    return {
        "id": scene.id,
        "user_id": scene.user_id,
        "record_kind": scene.record_kind,
        "name": scene.name,
        "conditions": [{"field": c.field, "op": c.op, "value": c.value} for c in scene.conditions],
        "sort": [{"field": s.field, "descending": s.descending} for s in scene.sort],
        "is_default": scene.is_default,
        "hidden": scene.hidden,
        "sort_order": scene.order,
        "version": scene.version,
    }


def row_to_scene(row: RowMapping) -> Scene:
    return Scene(
        id=row["id"],
        user_id=row["user_id"],
        record_kind=row["record_kind"],
        name=row["name"],
        conditions=tuple(
            ConditionSpec(c["field"], c["op"], c.get("value")) for c in row["conditions"]
        ),
        sort=tuple(SortSpec(s["field"], bool(s["descending"])) for s in row["sort"]),
        is_default=row["is_default"],
        hidden=row["hidden"],
        order=row["sort_order"],
        version=row["version"],
    )


def column_config_to_row(config: ColumnConfig) -> dict[str, Any]:
    """Fields as a JSON list (in order), widths as a JSON object."""
    return {
        "user_id": config.user_id,
        "record_kind": config.record_kind,
        "fields": list(config.fields),
        "widths": dict(config.widths),
    }


def row_to_column_config(row: RowMapping) -> ColumnConfig:
    return ColumnConfig(
        user_id=row["user_id"],
        record_kind=row["record_kind"],
        fields=tuple(row["fields"]),
        widths=row["widths"],
    )


def followup_to_row(followup: FollowUp) -> dict[str, Any]:
    """Every attribute; the related id tuples as JSON lists."""
    return {
        "id": followup.id,
        "record_kind": followup.record_kind,
        "record_id": followup.record_id,
        "author_id": followup.author_id,
        "method": followup.method,
        "content": followup.content,
        "at": followup.at,
        "created_at": followup.created_at,
        "contact_ids": list(followup.contact_ids),
        "opportunity_ids": list(followup.opportunity_ids),
        "attachment_ids": list(followup.attachment_ids),
        "next_contact_at": followup.next_contact_at,
    }


def row_to_followup(row: RowMapping) -> FollowUp:
    return FollowUp(
        id=row["id"],
        record_kind=row["record_kind"],
        record_id=row["record_id"],
        author_id=row["author_id"],
        method=row["method"],
        content=row["content"],
        at=row["at"],
        created_at=row["created_at"],
        contact_ids=tuple(row["contact_ids"]),
        opportunity_ids=tuple(row["opportunity_ids"]),
        attachment_ids=tuple(row["attachment_ids"]),
        next_contact_at=row["next_contact_at"],
    )


def schedule_to_row(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "owner_id": schedule.owner_id,
        "title": schedule.title,
        "starts_at": schedule.starts_at,
        "ends_at": schedule.ends_at,
        "record_kind": schedule.record_kind,
        "record_id": schedule.record_id,
        "source": schedule.source,
    }


def row_to_schedule(row: RowMapping) -> Schedule:
    return Schedule(
        id=row["id"],
        owner_id=row["owner_id"],
        title=row["title"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        record_kind=row["record_kind"],
        record_id=row["record_id"],
        source=row["source"],
    )


def attachment_to_row(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "record_kind": attachment.record_kind,
        "record_id": attachment.record_id,
        "file_key": attachment.file_key,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "sha256": attachment.sha256,
        "uploaded_by": attachment.uploaded_by,
        "uploaded_at": attachment.uploaded_at,
    }


def row_to_attachment(row: RowMapping) -> Attachment:
    return Attachment(
        id=row["id"],
        record_kind=row["record_kind"],
        record_id=row["record_id"],
        file_key=row["file_key"],
        name=row["name"],
        size=row["size"],
        content_type=row["content_type"],
        sha256=row["sha256"],
        uploaded_by=row["uploaded_by"],
        uploaded_at=row["uploaded_at"],
    )


# -- generic attrs mapping (contracts, payments, payment plans) ---------------------------------


@attrs.frozen
class Codec:
    """How one attribute differs from its column: ``dump`` makes the column value, ``load``
    the attribute value back (None stays None for optional attributes)."""

    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]
    null: Any = None
    """The attribute value a NULL column loads as."""


def enum_codec(cls: type[enum.Enum]) -> Codec:
    """An enum stored by value."""
    return Codec(lambda member: cls(member).value, cls)


LINES = Codec(lines_to_json, json_to_lines)
"""Product lines as the JSON list of :func:`lines_to_json`."""

CUSTOM = Codec(dict, lambda value: value or {})
"""Custom field values as a JSON object."""

E = TypeVar("E")


@attrs.frozen
class RowMapper(Generic[E]):
    """Row ↔ entity for an attrs class stored one column per attribute (same names).

    Attributes without a codec pass through as they are (the column type converts them);
    ``computed`` columns are derived from the entity on the way in and ignored on the way out.
    """

    cls: type[E]
    codecs: Mapping[str, Codec]
    computed: Mapping[str, Callable[[E], Any]]
    names: tuple[str, ...]

    def to_row(self, entity: E) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in self.names:
            value = getattr(entity, name)
            codec = self.codecs.get(name)
            row[name] = codec.dump(value) if codec is not None and value is not None else value
        for name, derive in self.computed.items():
            row[name] = derive(entity)
        return row

    def from_row(self, row: RowMapping) -> E:
        values: dict[str, Any] = {}
        for name in self.names:
            value = row[name]
            codec = self.codecs.get(name)
            if codec is not None:
                value = codec.load(value) if value is not None else codec.null
            values[name] = value
        return self.cls(**values)

    @property
    def columns(self) -> frozenset[str]:
        """The column names :meth:`to_row` fills."""
        return frozenset(self.names) | frozenset(self.computed)


def attrs_row_mapper(
    cls: type[E],
    codecs: Mapping[str, Codec] | None = None,
    computed: Mapping[str, Callable[[E], Any]] | None = None,
) -> RowMapper[E]:
    """The :class:`RowMapper` of ``cls`` from ``attrs.fields(cls)``; a codec or computed column
    naming no attribute (or shadowing one) is a ``ValueError`` at import, not a silent gap."""
    names = tuple(field.name for field in attrs.fields(cls))  # type: ignore[arg-type]
    codecs = dict(codecs or {})
    computed = dict(computed or {})
    if unknown := set(codecs) - set(names):
        raise ValueError(f"{cls.__name__} has no attributes {sorted(unknown)}")
    if clash := set(computed) & set(names):
        raise ValueError(f"computed columns {sorted(clash)} shadow attributes of {cls.__name__}")
    return RowMapper(cls, codecs, computed, names)


_APPROVAL_STATUS = enum_codec(ApprovalStatus)
NUMBER = Codec(lambda number: number or None, str)
"""Not numbered yet (None, or ``""``) is stored as NULL, so a plain unique index serves
``number = ?`` (SQLite cannot use a partial index for a bound value) and unnumbered rows never
clash; NULL reads back as None."""

CONTRACT_ROWS = attrs_row_mapper(
    Contract, {"lines": LINES, "approval_status": _APPROVAL_STATUS, "custom": CUSTOM,
               "number": NUMBER}
)
PAYMENT_ROWS = attrs_row_mapper(
    Payment, {"approval_status": _APPROVAL_STATUS, "custom": CUSTOM, "number": NUMBER}
)
PAYMENT_PLAN_ROWS = attrs_row_mapper(
    PaymentPlan, computed={"remind_on": lambda plan: plan.remind_on}
)
