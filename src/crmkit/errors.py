"""The errors crmkit raises, each with a stable ``code`` and messages in Chinese and English.

One way to build them, the same order everywhere — what, then Chinese, then English:
``RuleViolation("org.last_super_admin", "不能停用最后一位超级管理员", "…")``, details
keyword-only; a bad field is ``FieldError(path, code, message_zh, message_en)``, and
``ValidationError.at(path, code, message_zh, message_en)`` raises one.

- :class:`ValidationError` — bad input; lists every bad field by path (``$.users[0].mobile``).
- :class:`PermissionDenied` — the actor's roles do not grant the operation.
- :class:`NotFound` — the record is missing *or* outside the actor's scope (same answer, so scope
  never leaks).
- :class:`Conflict` — optimistic-lock version mismatch or a uniqueness clash.
- :class:`RuleViolation` — a business rule refused the change (e.g. ``org.last_super_admin``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "Conflict",
    "CrmError",
    "FieldError",
    "NotFound",
    "PermissionDenied",
    "RuleViolation",
    "ValidationError",
]


@attrs.frozen
class FieldError:
    """One bad field: where (``path``), what (stable ``code``) and why (zh/en)."""

    path: str
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


class CrmError(Exception):
    """Base of every crmkit error: a stable ``code`` plus a Chinese and an English message."""

    default_code = "error"

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(f"[{self.code}] {self.message_en} / {self.message_zh}")

    def as_dict(self) -> dict[str, Any]:
        """A plain dict a host can return from its API."""
        return {
            "error": type(self).__name__,
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "details": self.details,
        }


class ValidationError(CrmError):
    """Input failed validation; ``errors`` names every bad field by path with a stable code."""

    default_code = "validation_failed"

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        paths = ", ".join(f"{e.path}: {e.code}" for e in self.errors)
        super().__init__(self.default_code, f"输入有误（{paths}）", f"invalid input ({paths})")

    @classmethod
    def at(cls, path: str, code: str, message_zh: str, message_en: str) -> ValidationError:
        """One bad field: ``ValidationError([FieldError(path, code, message_zh, message_en)])``."""
        return cls([FieldError(path, code, message_zh, message_en)])

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["errors"] = [e.as_dict() for e in self.errors]
        return data

    @property
    def paths(self) -> list[str]:
        return [e.path for e in self.errors]

    @property
    def codes(self) -> dict[str, str]:
        """``{path: code}`` — handy in tests and host error mapping."""
        return {e.path: e.code for e in self.errors}


class PermissionDenied(CrmError):
    """The acting user's roles do not grant this operation on this module."""

    default_code = "permission_denied"


class NotFound(CrmError):
    """No such record — or it lies outside the actor's data scope (indistinguishable on purpose)."""

    default_code = "not_found"


class Conflict(CrmError):
    """The record changed since it was read (version mismatch), or a unique value is taken."""

    default_code = "conflict"


class RuleViolation(CrmError):
    """A business rule refused the change; ``code`` names it (``org.department_not_empty``)."""

    default_code = "rule_violation"
