"""Files: who may read or change one, storing an upload so that nothing is half-written (blob first,
metadata second, blob removed again if the metadata cannot be written), listing, reading and deleting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from app.context import AppContext
from app.exceptions import NotFoundError, PermissionDeniedError, QuotaExceededError
from app.records import FileRecord, Page, User
from app.services.filenames import sanitize_filename
from app.services.upload_checks import inspect_upload
from app.store.base import blob_key

FALLBACK_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Content:
    """A file's bytes as they are served: streamed, with the type they may be served as."""

    chunks: Iterator[bytes]
    media_type: str


def _existing(context: AppContext, file_id: str) -> FileRecord:
    record = context.store.files.get(file_id)
    if record is None:
        raise NotFoundError(file_id)
    return record


def readable_file(context: AppContext, *, user: User, file_id: str) -> FileRecord:
    """The owner's or a recipient's. Raises NotFoundError or PermissionDeniedError."""
    record = _existing(context, file_id)
    if record.owner_id != user.id and not context.store.shares.exists(record.id, user.id):
        raise PermissionDeniedError
    return record


def owned_file(context: AppContext, *, user: User, file_id: str) -> FileRecord:
    """The owner's only. Raises NotFoundError or PermissionDeniedError."""
    record = _existing(context, file_id)
    if record.owner_id != user.id:
        raise PermissionDeniedError
    return record


def store_upload(
    context: AppContext,
    *,
    owner_id: str,
    source: BinaryIO,
    filename: str | None,
    declared_type: str | None,
) -> FileRecord:
    """Raises an UploadRejectedError (QuotaExceededError among them); a refused upload leaves nothing."""
    settings = context.settings
    inspected = inspect_upload(
        source,
        declared_type=declared_type,
        allowed_types=settings.allowed_content_types,
        max_bytes=settings.max_upload_bytes,
    )
    quota = context.quota
    usage = context.store.files.usage(owner_id)
    # Checked again atomically when the record is written; this early check avoids storing a blob
    # that could never be kept.
    if usage.bytes + inspected.size > quota.max_bytes or usage.files + 1 > quota.max_files:
        raise QuotaExceededError(owner_id)
    record = FileRecord(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        name=sanitize_filename(filename),
        size=inspected.size,
        content_type=inspected.content_type,
        sha256=inspected.sha256,
        created_at=datetime.now(UTC),
    )
    key = blob_key(record)
    context.store.blobs.put(key, source, size=record.size, content_type=record.content_type)
    try:
        context.store.files.create(record, quota=quota)
    except BaseException:
        context.store.blobs.delete(key)
        raise
    return record


def list_files(context: AppContext, *, owner_id: str, limit: int, cursor: str | None) -> Page[FileRecord]:
    """The owner's own files, newest first. Raises InvalidCursorError."""
    return context.store.files.list_owned(owner_id, limit=limit, cursor=cursor)


def content(context: AppContext, record: FileRecord) -> Content:
    """A type no longer on the allowlist is served as opaque bytes, never as what it claims to be."""
    allowed = context.settings.allowed_content_types
    media_type = record.content_type if record.content_type in allowed else FALLBACK_CONTENT_TYPE
    return Content(chunks=context.store.blobs.open(blob_key(record)), media_type=media_type)


def delete_file(context: AppContext, record: FileRecord) -> None:
    # Metadata first: a failure afterwards leaves an unreachable blob, never a record without bytes.
    context.store.files.delete(record)
    context.store.blobs.delete(blob_key(record))
