"""What the record engine needs to know about one record kind."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from crmkit.entities import Module
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.records import ConditionSpec


@attrs.frozen
class KindSpec:
    """A record kind (线索, 客户 …) as the shared record engine sees it.

    ``writable`` lists the system fields a create/edit payload may set (``owner_id`` only on
    create). ``scenes`` adds kind-specific system scenes (e.g. 已转化 for leads);
    ``base_conditions`` applies to every scene except those in ``scenes``.
    """

    kind: str
    module: Module
    entity: type
    label_zh: str
    label_en: str
    system_fields: tuple[FieldDefinition, ...]
    writable: frozenset[str]
    scenes: dict[str, tuple[str, str, tuple[ConditionSpec, ...]]] = attrs.Factory(dict)
    base_conditions: tuple[ConditionSpec, ...] = ()
    extra_keys: frozenset[str] = frozenset()
    """Payload keys the kind's own service validates (e.g. opportunity product lines)."""
    title: Callable[[object], str] = attrs.field(default=lambda record: record.name)
