"""Password hashing (scrypt) and verification. Each hash costs ~70 ms, so examples are few."""

from __future__ import annotations

import base64
import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.policies import hash_password, verify_password
from crmkit.policies.credentials import N, P, R

# Any encodable text (lone surrogates cannot be UTF-8 encoded, so no hash exists for them).
passwords = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
slow = settings(max_examples=5, deadline=None)


@slow
@given(passwords, passwords)
def test_right_password_verifies_and_wrong_one_does_not(password: str, other: str) -> None:
    stored = hash_password(password)
    assert verify_password(password, stored)
    if other != password:
        assert not verify_password(other, stored)


def test_salts_differ_between_hashes_of_the_same_password() -> None:
    hashes = [hash_password("同一个密码") for _ in range(3)]
    assert len(set(hashes)) == 3
    assert len({h.split("$")[4] for h in hashes}) == 3
    assert all(verify_password("同一个密码", h) for h in hashes)


def test_stored_format_carries_its_parameters() -> None:
    stored = hash_password("correct horse battery staple")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", N, R, P)
    assert len(base64.b64decode(salt, validate=True)) == 16
    assert len(base64.b64decode(digest, validate=True)) == 32
    assert "correct" not in stored


def test_explicit_salt_is_deterministic() -> None:
    salt = b"0123456789abcdef"
    assert hash_password("密码123456", salt=salt) == hash_password("密码123456", salt=salt)
    assert hash_password("密码123456", salt=salt) != hash_password("密码123457", salt=salt)
    assert hash_password("密码123456", salt=salt) != hash_password("密码123456", salt=salt[::-1])


def test_close_misses_do_not_verify() -> None:
    stored = hash_password("Secret-2024")
    for wrong in ["secret-2024", "Secret-2024 ", " Secret-2024", "Secret-202", "", "Secret-2024\n"]:
        assert not verify_password(wrong, stored), wrong
    assert verify_password("Secret-2024", stored)


def test_unencodable_password_does_not_verify() -> None:
    assert not verify_password("\ud800", hash_password("x"))


@functools.cache
def _good() -> str:
    return hash_password("pw", salt=b"s" * 16)


def _with(index: int, value: str) -> str:
    parts = _good().split("$")
    parts[index] = value
    return "$".join(parts)


MALFORMED = [
    None,
    "",
    "scrypt",
    "scrypt$",
    "$$$$$",
    "plaintext-pw",
    "pw",
    _good().rsplit("$", 1)[0],  # digest missing
    _good() + "$extra",
    _good().replace("scrypt$", "bcrypt$", 1),
    _good().replace("scrypt$", "SCRYPT$", 1),
    " " + _good(),
    _with(1, "abc"),  # non-numeric cost
    _with(1, "1000"),  # n not a power of two
    _with(1, "0"),
    _with(1, "1048576"),  # exceeds scrypt's memory limit
    _with(2, "x"),
    _with(2, "0"),
    _with(3, "0"),
    _with(4, "!!!!"),  # salt is not base64
    _with(4, "中文盐值"),
    _with(5, "!!!!"),
    _with(5, ""),  # empty digest must never match
    _with(4, ""),
    _with(5, base64.b64encode(b"\0" * 32).decode()),  # right length, wrong bytes
    _with(1, str(N // 2)),  # parameters changed: digest no longer matches
]


@pytest.mark.parametrize("stored", MALFORMED)
def test_malformed_stored_hash_returns_false(stored: str | None) -> None:
    assert verify_password("pw", stored) is False


def test_the_malformed_fixture_starts_from_a_working_hash() -> None:
    assert verify_password("pw", _good())


@pytest.mark.parametrize("value", ["-1", "9" * 30])
@pytest.mark.parametrize("index", [1, 2, 3])
def test_negative_or_overflowing_cost_parameter_returns_false(index: int, value: str) -> None:
    assert verify_password("pw", _with(index, value)) is False


@pytest.mark.parametrize("keep", [1, 8, 20])
def test_truncated_digest_returns_false(keep: int) -> None:
    digest = base64.b64decode(_good().split("$")[5])[:keep]
    assert verify_password("pw", _with(5, base64.b64encode(digest).decode())) is False


@settings(max_examples=40)
@given(st.one_of(st.none(), st.text(max_size=60)))
def test_arbitrary_text_never_verifies_nor_raises(stored: str | None) -> None:
    assert verify_password("pw", stored) is False
