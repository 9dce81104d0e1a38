"""Password hashing with scrypt (a standard memory-hard KDF from the standard library).

Stored form: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` — parameters travel with the hash, so
cost can be raised later without breaking existing passwords. A sign-in runs the KDF exactly
once whether or not the user exists (unknown users are checked against :data:`DUMMY_HASH`), so
its timing does not tell which mobiles are registered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1
MIN_LENGTH = 8
DIGEST_BYTES = 32
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
"""Cost ceilings: a stored hash asking for more is treated as malformed (no runaway KDF)."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


DUMMY_HASH = hash_password("crmkit: no such user", salt=b"crmkit-dummy-salt")
"""A fixed hash with the default costs: what a sign-in for an unknown mobile is checked against."""


def verify_password(password: object, stored: str | None) -> bool:
    """Constant-time check of ``password`` against a stored hash; False for any malformed hash
    (wrong scheme, bad base64, a digest shorter than 32 bytes, costs outside the ceilings) and
    for a password that is not text (checked as the empty one, so it costs the same)."""
    if not isinstance(stored, str) or not stored:
        return False
    text = password if isinstance(password, str) else ""
    try:
        scheme, n_text, r_text, p_text, salt_b64, digest_b64 = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
        if (scheme != "scrypt" or len(expected) < DIGEST_BYTES or not 2 <= n <= MAX_N
                or n & (n - 1) or not 1 <= r <= MAX_R or not 1 <= p <= MAX_P):
            return False
        actual = hashlib.scrypt(
            text.encode(errors="surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=len(expected)
        )
    except (ValueError, TypeError, OverflowError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected) and text is password
