"""附件 Attachments on records (``crm.attachments``), stored through the FileStore port.

Limits (size, content types) are organisation settings. A file name is 1–255 characters with
no slashes, control characters (CR, LF, NUL …) or bidirectional overrides — refused, not
cleaned (:func:`~crmkit.policies.validation.file_name_problem`). The blob is written before the
database transaction and removed again if the transaction fails, so no orphan row or file
survives a refused upload.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation
from crmkit.entities.kinds import Feature
from crmkit.entities.records import Attachment
from crmkit.errors import NotFound, ValidationError
from crmkit.policies.validation import FILE_NAME_MAX, Problems, file_name_problem
from crmkit.ports import FileStore
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.record_access import RecordAccess

LIMITS_KEY = "attachments.limits"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TYPES = (
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain",
    "text/csv", "application/zip", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)


@attrs.frozen
class AttachmentLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    content_types: tuple[str, ...] = DEFAULT_TYPES


class AttachmentService:
    def __init__(self, runtime: Runtime, access: RecordAccess, files: FileStore) -> None:
        self._rt = runtime
        self._access = access
        self._files = files

    def limits(self, actor: ActorRef) -> AttachmentLimits:
        """The attachment limits in force: the largest file and the allowed content types."""
        with self._rt.operation(actor, Module.FIELDS, None) as op:
            return self._limits(self._rt.setting(op, LIMITS_KEY))

    @staticmethod
    def _limits(stored: Any) -> AttachmentLimits:
        if not isinstance(stored, dict):
            return AttachmentLimits()
        return AttachmentLimits(int(stored["max_bytes"]), tuple(stored["content_types"]))

    def set_limits(self, actor: ActorRef, max_bytes: int, content_types: Sequence[str]
                   ) -> AttachmentLimits:
        """Set the largest upload and the allowed content types (admins: ``fields`` edit)."""
        with self._rt.operation(actor, Module.FIELDS, Operation.EDIT) as op:
            types = list(content_types) if isinstance(content_types, list | tuple) else []
            if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
                raise ValidationError.at("$.max_bytes", "invalid", "必须为正整数",
                                         "must be a positive integer")
            if not types or any(not isinstance(t, str) or "/" not in t for t in types):
                raise ValidationError.at("$.content_types", "invalid",
                                         "需要填写 MIME 类型", "must list MIME types")
            op.put_setting(LIMITS_KEY, {"max_bytes": max_bytes, "content_types": types})
        return AttachmentLimits(max_bytes, tuple(types))

    def add(self, actor: ActorRef, kind: str, record_id: str, name: str, data: bytes,
            content_type: str) -> Attachment:
        """Attach a file to a record the actor may edit, within the size and type limits."""
        if not isinstance(data, bytes | bytearray):
            raise ValidationError.at("$.data", "type", "必须是文件内容", "must be bytes")
        name_problem = file_name_problem(name)
        if name_problem is not None:
            problems = Problems()
            problems.add("$.name", name_problem, detail_en=f" (max {FILE_NAME_MAX})"
                         if name_problem == "too_long" else "")
            problems.raise_if_any()
        stored = None
        try:
            module = self._rt.declaration(kind, Feature.ATTACHMENTS).module
            with self._rt.operation(actor, module, Operation.EDIT) as op:
                record = self._access.editable(op, kind, record_id)
                limits = self._limits(self._rt.setting(op, LIMITS_KEY))
                if len(data) > limits.max_bytes:
                    raise ValidationError.at(
                        "$.data", "file.too_large", f"文件超过 {limits.max_bytes} 字节",
                        f"is larger than {limits.max_bytes} bytes")
                if content_type not in limits.content_types:
                    raise ValidationError.at(
                        "$.content_type", "file.type_not_allowed", "不允许的文件类型",
                        "is not an allowed file type")
                stored = self._files.put(name, bytes(data), content_type)
                attachment = Attachment(
                    self._rt.ids.new_id(), kind, record.id, stored.key, stored.name, stored.size,
                    stored.content_type, stored.sha256, op.user_id, op.now,
                )
                op.uow.attachments.add(attachment)
                op.log(kind, record.id, "attach",
                       (FieldChange(f"attachment.{attachment.id}", None, stored.name),))
                return attachment
        except BaseException:
            if stored is not None:
                self._files.delete(stored.key)
            raise

    def list(self, actor: ActorRef, kind: str, record_id: str) -> builtins.list[Attachment]:
        """A record's attachments; the record must be visible to the actor (else NotFound)."""
        module = self._rt.declaration(kind, Feature.ATTACHMENTS).module
        with self._rt.operation(actor, module, Operation.VIEW) as op:
            self._access.visible(op, kind, record_id)
            return op.uow.attachments.for_record(kind, record_id)

    def download(self, actor: ActorRef, attachment_id: str) -> tuple[Attachment, bytes]:
        """The attachment and its bytes: its record visible to the actor, who holds the
        record module's ``view`` permission."""
        with self._rt.operation(actor, Module.ORG, None) as op:
            attachment, _record = self._attachment(op, attachment_id, Operation.VIEW)
        return attachment, self._files.get(attachment.file_key)

    def remove(self, actor: ActorRef, attachment_id: str) -> None:
        """Remove an attachment: the record module's ``edit`` permission and edit rights."""
        with self._rt.operation(actor, Module.ORG, None) as op:
            attachment, record = self._attachment(op, attachment_id, Operation.EDIT)
            self._access.check_editable(op, attachment.record_kind, record)
            op.uow.attachments.delete(attachment.id)
            op.log(attachment.record_kind, attachment.record_id, "detach",
                   (FieldChange(f"attachment.{attachment.id}", attachment.name, None),))
        self._files.delete(attachment.file_key)

    def _attachment(self, op: Op, attachment_id: str, operation: Operation
                    ) -> tuple[Attachment, Any]:
        """An attachment whose record the actor sees, and that record — NotFound alike for a
        missing attachment and one of an invisible record — then ``operation`` on the
        record's module (checked after visibility: a missing id never reveals the module)."""
        found = (op.uow.attachments.get(attachment_id) if isinstance(attachment_id, str)
                 else None)
        try:
            if found is None:
                raise NotFound("not_found", "", "")
            record = self._access.visible(op, found.record_kind, found.record_id)
        except NotFound:
            raise NotFound("attachment.not_found", "附件不存在",
                           "attachment not found") from None
        op.require(self._access.module_of(found.record_kind), operation)
        assert isinstance(found, Attachment)
        return found, record
