"""Field types through pluggy: built-ins and plugins share one hook; clashes and bad names fail
loudly; the example distribution (examples/crmkit-uscc) registers explicitly and by entry point."""

from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit import CRM, CrmError, RuleViolation, ValidationError
from crmkit.entities.common import JSONValue
from crmkit.entities.fields import FieldDefinition, FieldType, FieldValueError, ValueKind
from crmkit.hookspecs import hookimpl
from crmkit.policies.fieldtypes import BUILTIN_FIELD_TYPES
from crmkit.workflow.fieldtypes import BUILTIN_PLUGIN_NAME, FieldTypeRegistry, build_field_types

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "crmkit-uscc"
VALID_USCC = ("91350100M000100Y43", "91110000802100433B", "91110108551385082Q")
Register = Callable[[FieldType], None]


def definition(type_name: str, **settings: Any) -> FieldDefinition:
    return FieldDefinition(
        kind="customer", key="f", label_zh="字段", label_en="Field", type=type_name, **settings
    )


def _upper(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    if not isinstance(raw, str) or not raw.isalpha():
        raise FieldValueError("format.letters", "只能是字母", "must be letters")
    return raw.upper()


def shouting(name: str = "shout") -> FieldType:
    return FieldType(name, ValueKind.TEXT, "大写", "Shout", _upper)


class Adds:
    """A third-party plugin object contributing the given types."""

    def __init__(self, *types: FieldType) -> None:
        self.types = types

    @hookimpl
    def crmkit_register_field_types(self, register: Register) -> None:
        for field_type in self.types:
            register(field_type)


# --- built-ins -------------------------------------------------------------------------------


def test_built_in_types_come_through_the_hook() -> None:
    crm = CRM()
    names = [t.name for t in BUILTIN_FIELD_TYPES]
    assert crm.field_types.names() == names
    assert all(crm.field_types.source(name) == BUILTIN_PLUGIN_NAME for name in names)
    first_name, first_plugin = crm.plugin_manager.list_name_plugin()[0]
    assert first_name == BUILTIN_PLUGIN_NAME
    hook_plugins = [impl.plugin for impl in
                    crm.plugin_manager.hook.crmkit_register_field_types.get_hookimpls()]
    assert hook_plugins == [first_plugin], "the built-ins use the public hook, nothing else"
    rebuilt = build_field_types(crm.plugin_manager)
    assert rebuilt.names() == names and rebuilt is not crm.field_types
    assert crm.field_types.get("money").value_kind is ValueKind.DECIMAL
    assert "money" in crm.field_types and "nope" not in crm.field_types
    assert len(crm.field_types) == len(list(crm.field_types)) == len(names)


def test_each_crm_has_its_own_registry() -> None:
    a, b = CRM(plugins=[Adds(shouting())]), CRM()
    assert "shout" in a.field_types and "shout" not in b.field_types


def test_unknown_type_is_a_validation_error_at_type() -> None:
    registry = CRM().field_types
    with pytest.raises(ValidationError) as caught:
        registry.get("colour")
    assert caught.value.codes == {"$.type": "field_type.unknown"}
    with pytest.raises(ValidationError) as caught:
        registry.validate_value(definition("colour"), "red", "$.custom.f")
    assert caught.value.codes == {"$.type": "field_type.unknown"}


# --- validate_value --------------------------------------------------------------------------


def test_validate_value_returns_the_stored_value_or_errors_at_the_path() -> None:
    registry = CRM().field_types
    money = definition("money", min_value="0")
    assert registry.validate_value(money, "12.5", "$.custom.budget") == "12.50"
    with pytest.raises(ValidationError) as caught:
        registry.validate_value(money, "12.555", "$.custom.budget")
    error = caught.value.errors[0]
    assert caught.value.codes == {"$.custom.budget": "decimal.precision"}
    assert error.message_en.startswith("$.custom.budget ") and "2" in error.message_en
    assert error.message_zh.startswith("$.custom.budget ") and "小数" in error.message_zh
    with pytest.raises(ValidationError) as caught:
        registry.validate_value(money, "-1", "$.custom.budget")
    assert caught.value.codes == {"$.custom.budget": "range.min"}


def test_empty_values_and_required() -> None:
    registry = CRM().field_types
    empties: tuple[JSONValue, ...] = (None, "", [])
    for empty in empties:
        tags = definition("multiselect", options=("a",))
        assert registry.validate_value(tags, empty, "$.x") is None
        with pytest.raises(ValidationError) as caught:
            registry.validate_value(definition("text", required=True), empty, "$.x")
        assert caught.value.codes == {"$.x": "required"}
    with pytest.raises(ValidationError) as caught:
        registry.validate_value(definition("text", required=True), "   ", "$.x")
    assert caught.value.codes == {"$.x": "blank"}
    assert registry.validate_value(definition("text"), "   ", "$.x") is None  # trimmed: empty
    assert registry.validate_value(definition("boolean", required=True), False, "$.x") is False
    assert registry.validate_value(definition("integer", required=True), 0, "$.x") == 0


def test_a_plain_value_error_from_a_plugin_becomes_a_validation_error() -> None:
    def sloppy(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
        return int(raw)

    crm = CRM(plugins=[Adds(FieldType("sloppy", ValueKind.INTEGER, "数", "Num", sloppy))])
    assert crm.field_types.validate_value(definition("sloppy"), "5", "$.n") == 5
    with pytest.raises(ValidationError) as caught:
        crm.field_types.validate_value(definition("sloppy"), "five", "$.n")
    assert caught.value.codes == {"$.n": "invalid"}


def test_check_definition() -> None:
    registry = CRM().field_types
    registry.check_definition(definition("select", options=("A", "B"), default="A"))
    with pytest.raises(ValidationError) as caught:
        registry.check_definition(definition("select"), "$.fields[0]")
    assert caught.value.codes == {"$.fields[0].options": "options.missing"}
    with pytest.raises(ValidationError) as caught:
        registry.check_definition(definition("select", options=("A",), default="C"))
    assert caught.value.codes == {"$.default": "option"}
    with pytest.raises(ValidationError) as caught:
        registry.check_definition(definition("money", precision=12, min_value="x"))
    assert caught.value.codes == {"$.precision": "precision.range", "$.min_value": "format.decimal"}
    with pytest.raises(ValidationError) as caught:
        registry.check_definition(definition("nope"))
    assert caught.value.codes == {"$.type": "field_type.unknown"}


# --- plugins ---------------------------------------------------------------------------------


def test_a_third_party_plugin_adds_a_type() -> None:
    crm = CRM(plugins=[Adds(shouting())])
    assert crm.field_types.names()[-1] == "shout"
    assert crm.field_types.names()[:-1] == [t.name for t in BUILTIN_FIELD_TYPES]
    assert crm.field_types.validate_value(definition("shout"), "hey", "$.s") == "HEY"
    with pytest.raises(ValidationError) as caught:
        crm.field_types.validate_value(definition("shout"), "h3y", "$.s")
    assert caught.value.codes == {"$.s": "format.letters"}
    assert caught.value.errors[0].message_zh == "$.s 只能是字母"


def test_a_module_level_hookimpl_works_too() -> None:
    module = ModuleType("my_types")

    @hookimpl
    def crmkit_register_field_types(register: Register) -> None:
        register(shouting("yell"))

    module.crmkit_register_field_types = crmkit_register_field_types  # type: ignore[attr-defined]
    assert "yell" in CRM(plugins=[module]).field_types


@pytest.mark.parametrize("clash", ["text", "money", "record"])
def test_a_type_clashing_with_a_built_in_is_rejected_naming_both(clash: str) -> None:
    plugin = Adds(shouting(clash))
    with pytest.raises(RuleViolation) as caught:
        CRM(plugins=[plugin])
    assert caught.value.code == "field_type.duplicate"
    error = caught.value
    assert error.code == "field_type.duplicate"
    assert BUILTIN_PLUGIN_NAME in error.message_en and BUILTIN_PLUGIN_NAME in error.message_zh
    assert error.details["plugins"][0] == BUILTIN_PLUGIN_NAME
    assert error.details["name"] == clash


def test_two_plugins_with_the_same_type_name_are_rejected() -> None:
    first, second = Adds(shouting()), Adds(shouting())
    crm = CRM(plugins=[first])
    crm.plugin_manager.register(second, name="second_plugin")
    with pytest.raises(RuleViolation) as caught:
        build_field_types(crm.plugin_manager)
    assert caught.value.code == "field_type.duplicate"
    assert caught.value.details["plugins"] == [crm.plugin_manager.get_name(first), "second_plugin"]
    with pytest.raises(RuleViolation, match=r"field_type\.duplicate") as caught:
        CRM(plugins=[Adds(shouting(), shouting())])
    assert caught.value.code == "field_type.duplicate"


@pytest.mark.parametrize(
    "name", ["Shout", "s", "1abc", "_abc", "a-b", "a b", "ab\n", "x" * 41, "类型", "", "ab."]
)
def test_bad_type_names_are_rejected(name: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        CRM(plugins=[Adds(shouting(name))])
    assert caught.value.code == "field_type.bad_name"


def test_good_type_names() -> None:
    names = ["ab", "uscc", "a1", "credit_code_v2", "x" * 40]
    registry = CRM(plugins=[Adds(*(shouting(n) for n in names))]).field_types
    assert registry.names()[-len(names):] == names


def test_register_only_takes_field_types_and_only_during_start_up() -> None:
    class NotAType:
        @hookimpl
        def crmkit_register_field_types(self, register: Register) -> None:
            register({"name": "dict_type"})  # type: ignore[arg-type]

    with pytest.raises(RuleViolation, match=r"field_type\.invalid") as caught:
        CRM(plugins=[NotAType()])
    assert caught.value.code == "field_type.invalid"

    class Late:
        register: Register | None = None

        @hookimpl
        def crmkit_register_field_types(self, register: Register) -> None:
            self.register = register

    late = Late()
    crm = CRM(plugins=[late])
    assert late.register is not None
    with pytest.raises(RuleViolation, match=r"field_type\.closed") as caught:
        late.register(shouting())
    assert caught.value.code == "field_type.closed"
    assert "shout" not in crm.field_types


def test_a_plugin_whose_hook_crashes_is_named() -> None:
    class Crashing:
        @hookimpl
        def crmkit_register_field_types(self, register: Register) -> None:
            raise RuntimeError("boom")

    with pytest.raises(CrmError) as caught:
        CRM(plugins=[Crashing()])
    assert caught.value.code == "field_type.plugin_failed" and "boom" in caught.value.message_en


def test_the_registry_is_a_plain_value_too() -> None:
    registry = FieldTypeRegistry({"shout": shouting()}, {"shout": "tests"})
    assert registry.names() == ["shout"] and registry.source("shout") == "tests"


# --- the example distribution: 统一社会信用代码 -----------------------------------------------


@pytest.fixture(scope="module")
def uscc_module() -> Iterator[ModuleType]:
    """The example plugin, imported from its source folder (as if installed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(EXAMPLE))
        yield importlib.import_module("crmkit_uscc")


def _check_uscc(registry: FieldTypeRegistry) -> None:
    credit = definition("uscc")
    assert registry.get("uscc").value_kind is ValueKind.TEXT
    for code in VALID_USCC:
        assert registry.validate_value(credit, code, "$.custom.credit_code") == code
        assert registry.validate_value(credit, code.lower(), "$.custom.credit_code") == code
    bad = {
        "91350100M000100Y44": "checksum.uscc",  # last character changed
        "91350100M000100Y34": "checksum.uscc",  # two characters swapped
        "91350100N000100Y43": "checksum.uscc",
        "91350100M000100Y4": "format.uscc",  # 17 characters
        "91350100M000100Y433": "format.uscc",
        "91350100M00O100Y43": "format.uscc",  # O is not in the charset
        "91350100M000100Y4 ": "format.uscc",
    }
    for code, expected in bad.items():
        with pytest.raises(ValidationError) as caught:
            registry.validate_value(credit, code, "$.custom.credit_code")
        assert caught.value.codes == {"$.custom.credit_code": expected}, code
    with pytest.raises(ValidationError) as caught:
        registry.validate_value(credit, 913501000, "$.custom.credit_code")
    assert caught.value.codes == {"$.custom.credit_code": "type"}


def test_example_plugin_registered_explicitly(uscc_module: ModuleType) -> None:
    crm = CRM(plugins=[uscc_module])
    _check_uscc(crm.field_types)
    _check_uscc(build_field_types(crm.plugin_manager))
    assert crm.field_types.source("uscc") == crm.plugin_manager.get_name(uscc_module)


class FakeEntryPoint:
    def __init__(self, name: str, target: object) -> None:
        self.name, self.value, self._target = name, f"fake:{name}", target

    def load(self) -> object:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_example_plugin_through_an_entry_point(
    uscc_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    eps = [FakeEntryPoint("broken", ImportError("gone")), FakeEntryPoint("uscc", uscc_module)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: eps)
    crm = CRM(load_entrypoints=True)
    assert [e.entry_point for e in crm.plugin_errors] == ["broken = fake:broken"]
    assert crm.field_types.source("uscc") == "uscc"
    _check_uscc(crm.field_types)


def test_example_plugin_through_real_distribution_metadata(
    uscc_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``pip install examples/crmkit-uscc`` leaves behind, minus the build: a dist-info
    with the entry points declared in the example's pyproject.toml."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    group = project["entry-points"]["crmkit"]
    info = tmp_path / f"crmkit_uscc-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    (info / "entry_points.txt").write_text(
        "[crmkit]\n" + "".join(f"{k} = {v}\n" for k, v in group.items()), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = importlib.metadata.entry_points(group="crmkit")
    assert "uscc" in found.names
    crm = CRM(load_entrypoints=True)
    assert crm.plugin_errors == []
    _check_uscc(crm.field_types)


def test_uscc_catches_every_single_character_error(uscc_module: ModuleType) -> None:
    charset, validate = uscc_module.CHARSET, uscc_module.validate_uscc

    @given(st.sampled_from(VALID_USCC), st.integers(0, 17), st.integers(1, 30))
    def check(code: str, position: int, shift: int) -> None:
        wrong = charset[(charset.index(code[position]) + shift) % 31]
        corrupted = code[:position] + wrong + code[position + 1 :]
        with pytest.raises(FieldValueError) as caught:
            validate(corrupted, definition("uscc"))
        assert caught.value.code == "checksum.uscc"

    check()


def test_a_field_value_error_in_the_old_order_is_swapped_back_and_warns() -> None:
    """0.1 plugins raised FieldValueError(code, en, zh): the languages would swap silently."""
    with pytest.warns(DeprecationWarning, match="old order"):
        error = FieldValueError("format.zip", "is not a 6-digit postcode", "不是 6 位邮政编码")
    assert (error.message_zh, error.message_en) == ("不是 6 位邮政编码",
                                                    "is not a 6-digit postcode")
    right = FieldValueError("format.zip", "不是 6 位邮政编码", "is not a 6-digit postcode")
    assert (right.message_zh, right.message_en) == (error.message_zh, error.message_en)
