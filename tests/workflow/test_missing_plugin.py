"""A missing field-type plugin never takes the CRM down (issue 12.5): the field is reported as
unavailable by key and type name, reads return its stored value untouched, writes, filters and
sorts naming it are refused with ``field.unavailable``, every other field and call works, and an
admin can retire it. On memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crmkit import CRM, ValidationError
from crmkit.adapters.ids import SequentialIds
from crmkit.entities.common import JSONValue
from crmkit.entities.fields import (
    FieldDefinition,
    FieldType,
    FieldValueError,
    UnavailableField,
    ValueKind,
)
from crmkit.hookspecs import hookimpl

from .conftest import Org


def _shout(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    if not isinstance(raw, str):
        raise FieldValueError("type", "应为字符串", "must be a string")
    return raw.upper()


class ShoutPlugin:
    """A third-party plugin with the field type ``shout`` (later uninstalled)."""

    @hookimpl
    def crmkit_register_field_types(self, register: Callable[[FieldType], None]) -> None:
        register(FieldType("shout", ValueKind.TEXT, "大写", "Shout", _shout))


@pytest.fixture
def stored(org: Org) -> str:
    """A customer with a ``motto`` value of the plugin type, written while the plugin was
    installed; ``org.crm`` itself runs without the plugin (as after an uninstall)."""
    plugged = CRM(org.crm.storage, clock=org.clock, ids=SequentialIds("p"),
                  plugins=[ShoutPlugin()])
    fields = plugged.fields
    fields.define(org.admin, "customer", {"key": "motto", "label_zh": "口号",
                                          "label_en": "Motto", "type": "shout",
                                          "required": True, "unique": True})
    fields.define(org.admin, "customer", {"key": "grade", "label_zh": "等级",
                                          "label_en": "Grade", "type": "text"})
    made = plugged.customers.create(org.rep, {"name": "甲公司",
                                              "custom": {"motto": "go", "grade": "A"}})
    assert made.custom == {"motto": "GO", "grade": "A"}
    return str(made.id)


def test_the_field_is_reported_unavailable_and_reads_keep_its_value(org: Org, stored: str
                                                                     ) -> None:
    assert org.crm.fields.unavailable(org.admin, "customer") == [
        UnavailableField("customer", "motto", "shout", "口号", "Motto", retired=False)]
    assert [u.key for u in org.crm.fields.unavailable(org.admin)] == ["motto"]
    listed = {d.key: d.type for d in org.crm.fields.list(org.admin, "customer")}
    assert listed["motto"] == "shout" and listed["grade"] == "text"
    # reads return the stored value untouched
    assert org.crm.customers.get(org.rep, stored).custom == {"motto": "GO", "grade": "A"}
    page = org.crm.customers.list(org.rep, {"conditions": [
        {"field": "grade", "op": "eq", "value": "A"}]})
    assert [c.custom["motto"] for c in page.items] == ["GO"]


def test_writes_filters_and_sorts_naming_the_field_are_refused(org: Org, stored: str) -> None:
    with pytest.raises(ValidationError) as caught:
        org.crm.customers.update(org.rep, stored, {"custom": {"motto": "stop"}})
    assert caught.value.codes == {"$.custom.motto": "field.unavailable"}
    message = caught.value.errors[0]
    assert "Motto" in message.message_en and "shout" in message.message_en
    assert "口号" in message.message_zh
    assert org.crm.customers.get(org.rep, stored).custom["motto"] == "GO"
    with pytest.raises(ValidationError) as caught:
        org.crm.customers.list(org.rep, {"conditions": [
            {"field": "motto", "op": "eq", "value": "GO"}]})
    assert caught.value.codes == {"$.conditions[0].field": "field.unavailable"}
    with pytest.raises(ValidationError) as caught:
        org.crm.customers.list(org.rep, {"sort": [{"field": "motto"}]})
    assert caught.value.codes == {"$.sort[0].field": "field.unavailable"}


def test_every_other_field_and_call_works(org: Org, stored: str) -> None:
    """Edits of other fields keep the value; a new record needs no value for the (required,
    unique) unavailable field."""
    edited = org.crm.customers.update(org.rep, stored, {"custom": {"grade": "B"},
                                                        "level": "A"})
    assert edited.custom == {"motto": "GO", "grade": "B"}
    other = org.crm.customers.create(org.rep, {"name": "乙公司", "custom": {"grade": "C"}})
    assert other.custom == {"grade": "C"}
    assert {c.id for c in org.crm.customers.list(org.rep).items} == {stored, other.id}
    org.crm.customers.transfer(org.rep, [stored], org.manager.id)
    assert org.crm.customers.get(org.manager, stored).custom["motto"] == "GO"


def test_an_admin_can_relabel_and_retire_it_until_the_plugin_is_back(org: Org, stored: str) -> None:
    fields = org.crm.fields
    relabelled = fields.update(org.admin, "customer", "motto", {"label_en": "Slogan"})
    assert relabelled.label_en == "Slogan"
    with pytest.raises(ValidationError) as caught:
        fields.update(org.admin, "customer", "motto", {"required": False})
    assert caught.value.codes == {"$.required": "field.unavailable"}
    retired = fields.retire(org.admin, "customer", "motto")
    assert retired.retired
    assert "motto" not in [d.key for d in fields.list(org.admin, "customer")]
    assert [u.retired for u in fields.unavailable(org.admin, "customer")] == [True]
    with pytest.raises(ValidationError) as caught:
        org.crm.customers.update(org.rep, stored, {"custom": {"motto": "x"}})
    assert caught.value.codes == {"$.custom.motto": "field.retired"}
    assert org.crm.customers.get(org.rep, stored).custom["motto"] == "GO"
    # the plugin back: the field is usable again, its value intact
    again = CRM(org.crm.storage, clock=org.clock, ids=SequentialIds("q"),
                plugins=[ShoutPlugin()])
    assert again.fields.unavailable(org.admin) == []
    again.fields.restore(org.admin, "customer", "motto")
    updated = again.customers.update(org.rep, stored, {"custom": {"motto": "stop"}})
    assert updated.custom["motto"] == "STOP"
