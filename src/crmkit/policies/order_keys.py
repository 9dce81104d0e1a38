"""Order keys: a position in a user-ordered list that never needs its neighbours renumbered.

A key is a number written with the digits ``0-9a-z`` (base 36): an integer part, then an
optional fraction. The first character says how long the integer part is and its sign — ``i``
one digit, ``j`` two … ``z`` eighteen for integers ≥ 0; ``h`` one digit, ``g`` two … ``0``
eighteen for negative ones (stored as 36^length − |n|) — so keys compare as plain strings in
the order of their numbers, in byte order and in every usual collation alike (digits and
lowercase letters only). A fraction never ends in ``0``.

:func:`key_between` returns a key strictly between two keys: at either end the next integer
(``i0``, ``i1`` … when appending; ``hz``, ``hy`` … when putting on top), so a column filled one
task at a time keeps keys of three or four characters; between two keys the shortest fraction
in the middle, about one more character per five halvings of a gap. Moving an item rewrites that
item's key only.
"""

from __future__ import annotations

from collections.abc import Iterator

from crmkit.errors import ValidationError

__all__ = ["DIGITS", "MAX_KEY_LENGTH", "is_order_key", "key_between", "keys_after"]

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE = len(DIGITS)
_VALUE = {c: i for i, c in enumerate(DIGITS)}
_LONGEST = 18
"""Longest integer part (digits): 36**18 keys at either end is more than any column takes."""
MAX_KEY_LENGTH = 200
"""Longest key accepted (a fraction this long took ~900 insertions at one spot)."""


def _digits(number: int, length: int) -> str:
    out = ""
    for _ in range(length):
        number, digit = divmod(number, _BASE)
        out = DIGITS[digit] + out
    return out


def _encode(number: int) -> str:
    """The integer part of a key for ``number`` (the head character, then its digits)."""
    magnitude = abs(number)
    length = 1
    while _BASE ** length <= magnitude:
        length += 1
    if length > _LONGEST:
        raise OverflowError("order key integer part too large")
    if number >= 0:
        return DIGITS[_LONGEST - 1 + length] + _digits(number, length)
    return DIGITS[_LONGEST - length] + _digits(_BASE ** length - magnitude, length)


def _decode(key: str) -> tuple[int, str] | None:
    """(integer, fraction) of a well-formed key, else None."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or any(c not in _VALUE for c in key):
        return None
    head = _VALUE[key[0]]
    length = head - _LONGEST + 1 if head >= _LONGEST else _LONGEST - head
    body, fraction = key[1:1 + length], key[1 + length:]
    if len(body) < length or fraction.endswith("0"):
        return None
    value = int(body, _BASE)
    number = value if head >= _LONGEST else value - _BASE ** length
    if _encode(number) != key[:1 + length]:
        return None  # not the one canonical spelling of its integer
    return number, fraction


def is_order_key(key: object) -> bool:
    """A well-formed key: a canonical integer part, a fraction not ending in ``0``, at most
    :data:`MAX_KEY_LENGTH` characters."""
    return isinstance(key, str) and _decode(key) is not None


def _midpoint(low: str, high: str | None) -> str:
    """A fraction strictly between ``low`` ("" = 0) and ``high`` (None = 1); neither ends in
    ``0`` and ``low < high``."""
    if high is not None:
        shared = 0
        while shared < len(high) and (low[shared] if shared < len(low) else "0") == high[shared]:
            shared += 1
        if shared:
            return high[:shared] + _midpoint(low[shared:], high[shared:])
    digit_low = _VALUE[low[0]] if low else 0
    digit_high = _VALUE[high[0]] if high is not None else _BASE
    if digit_high - digit_low > 1:
        return DIGITS[(digit_low + digit_high) // 2]
    if high is not None and len(high) > 1:
        return high[0]
    return DIGITS[digit_low] + _midpoint(low[1:], None)


def _between(low: tuple[int, str] | None, high: tuple[int, str] | None) -> str:
    if low is None and high is None:
        return _encode(0)
    if low is None:
        assert high is not None
        return _encode(high[0] if high[1] else high[0] - 1)
    if high is None or low[0] + 1 < high[0] or (low[0] + 1 == high[0] and high[1]):
        return _encode(low[0] + 1)
    if low[0] == high[0]:
        return _encode(low[0]) + _midpoint(low[1], high[1])
    return _encode(low[0]) + _midpoint(low[1], None)


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after ``before`` and before ``after`` (None: open end)."""
    decoded: list[tuple[int, str] | None] = []
    for path, key in (("$.before", before), ("$.after", after)):
        parts = None if key is None else _decode(key)
        if key is not None and parts is None:
            raise ValidationError.at(path, "order_key.invalid", "不是有效的排序键",
                                     "is not an order key")
        decoded.append(parts)
    if before is not None and after is not None and before >= after:
        raise ValidationError.at("$.after", "order_key.order",
                                 "必须排在前一个键之后", "must sort after the key before it")
    return _between(decoded[0], decoded[1])


def keys_after(before: str | None, count: int) -> Iterator[str]:
    """``count`` increasing keys after ``before``: for appending several items at once."""
    key = before
    for _ in range(count):
        key = key_between(key, None)
        yield key
