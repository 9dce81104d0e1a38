"""A record kind declared by crmkit's own test suite, as a host declares one: 样品 samples.

Its entity has an attribute of every type a generated table stores — bounded and unbounded
text, an enum, a boolean, an integer, a decimal with its own digits, a date, times, a tuple and
a set of texts, a tuple of attrs objects, custom values — plus a unique field and a parent id,
so the record storage contract (:mod:`crmkit.testing.records`) exercises the generated table
and row mapping of a kind crmkit does not ship.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

from crmkit.entities import JSONValue, Module
from crmkit.entities.common import frozen_mapping
from crmkit.entities.kinds import Column, RecordKind
from crmkit.entities.sales_fields import fields_of

SAMPLE = "sample"


class Grade(enum.StrEnum):
    """An enum attribute (stored by value)."""

    FINE = "fine"
    POOR = "poor"


@attrs.frozen
class Step:
    """An object inside a record (stored in a JSON list)."""

    title: str
    cost: Decimal
    done: bool = False


@attrs.frozen
class Sample:
    """A record of the sample kind."""

    id: str
    name: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    code: str | None = None
    batch_id: str | None = None
    grade: Grade = Grade.FINE
    rank: int = 0
    weight: Decimal | None = None
    taken_on: date | None = None
    checked_at: datetime | None = None
    passed: bool = False
    tags: tuple[str, ...] = ()
    labs: frozenset[str] = frozenset()
    steps: tuple[Step, ...] = ()
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


SAMPLE_KIND: RecordKind[Sample] = RecordKind(
    SAMPLE, Sample, Module.TASKS, "样品", "sample",
    fields_of(
        SAMPLE,
        ("name", "名称", "Name", "text", {"required": True}),
        ("code", "编号", "Code", "text", {"unique": True, "max_length": 30}),
        ("grade", "等级", "Grade", "select", {"options": ("fine", "poor")}),
        ("rank", "排名", "Rank", "integer"),
        ("weight", "重量", "Weight", "decimal"),
        ("taken_on", "取样日期", "Taken on", "date"),
        ("passed", "合格", "Passed", "boolean"),
        ("owner_id", "负责人", "Owner", "user"),
    ),
    frozenset({"name", "code", "grade", "rank", "weight", "taken_on", "passed"}),
    "crm_test_samples",
    unique_fields=("code",),
    columns={"code": Column(length=30), "weight": Column(digits=9)},
    indexes={"owner_created": ("owner_id", "created_at", "id"), "batch": ("batch_id",)},
)
"""The whole declaration of the sample kind."""
