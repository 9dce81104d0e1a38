"""Order keys (crmkit.policies.order_keys): always room between two keys, never a renumbering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.errors import ValidationError
from crmkit.policies.order_keys import DIGITS, _encode, is_order_key, key_between, keys_after

integers = st.integers(-(36**6), 36**6)
fractions = st.text(alphabet=DIGITS, max_size=8).filter(lambda f: not f.endswith("0"))
keys = st.builds(lambda n, f: _encode(n) + f, integers, fractions)
"""Any well-formed key: an integer part (``_encode``), then a fraction."""


def test_the_first_key_is_zero_and_the_ends_step_by_one() -> None:
    assert key_between(None, None) == "i0"
    assert key_between("i0", None) == "i1"
    assert key_between(None, "i0") == "hz"
    assert key_between("iz", None) == "j10"
    assert key_between(None, "h1") == "gz0"  # -36: 36**2 - 36


def test_keys_in_between_take_the_shortest_fraction() -> None:
    assert key_between("i1", "i2") == "i1i"
    assert key_between("i1", "i1i") == "i19"
    assert key_between("i1i", "i2") == "i1r"
    assert key_between("i1", "i3") == "i2"


def test_appending_or_prepending_a_thousand_keys_keeps_them_short() -> None:
    appended = list(keys_after(None, 1000))
    assert appended == sorted(appended) and len(set(appended)) == 1000
    key, prepended = "i0", []
    for _ in range(1000):
        key = key_between(None, key)
        prepended.append(key)
    assert prepended == sorted(prepended, reverse=True)
    assert max(map(len, appended + prepended)) == 3


def test_inserting_at_the_same_spot_a_thousand_times_stays_within_the_key_limit() -> None:
    low, high = "i1", "i2"
    for _ in range(800):
        high = key_between(low, high)
        assert low < high and is_order_key(high)


def test_only_the_canonical_spelling_of_a_number_is_a_key() -> None:
    assert not is_order_key("j01")  # 1 has the one-digit spelling i1
    assert not is_order_key("h0")  # -36 needs two digits
    assert not is_order_key("j1")  # too short for its head
    assert not is_order_key("i1a0") and is_order_key("i1a")


@given(keys, keys)
def test_a_key_between_two_keys_lies_strictly_between(a: str, b: str) -> None:
    if a == b:
        return
    low, high = sorted((a, b))
    key = key_between(low, high)
    assert low < key < high and is_order_key(key)


@given(keys)
def test_keys_at_the_open_ends_lie_outside(a: str) -> None:
    assert is_order_key(a)
    assert key_between(a, None) > a and key_between(None, a) < a
    assert is_order_key(key_between(a, None)) and is_order_key(key_between(None, a))


@pytest.mark.parametrize(("before", "after", "path", "code"), [
    ("i2", "i1", "$.after", "order_key.order"),
    ("i1", "i1", "$.after", "order_key.order"),
    ("i10", None, "$.before", "order_key.invalid"),
    (None, "I1", "$.after", "order_key.invalid"),
    ("", None, "$.before", "order_key.invalid"),
    (None, "i1" + "x" * 199, "$.after", "order_key.invalid"),
])
def test_bad_neighbours_are_refused(before: str | None, after: str | None, path: str,
                                    code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        key_between(before, after)
    assert caught.value.codes == {path: code}
