"""Files: who may read or change one, storing an upload so that nothing is half-written or uncounted
(quota reserved and the blob noted as pending first, blob second, record last), listing, reading and
deleting (record first, then the blob, then the quota). A crash between the steps leaves a pending
blob, which services/sweeper.py removes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from app.context import AppContext
from app.exceptions import NotFoundError, PermissionDeniedError
from app.records import FileRecord, Page, PendingBlob, User
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
    record = FileRecord(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        name=sanitize_filename(filename),
        size=inspected.size,
        content_type=inspected.content_type,
        sha256=inspected.sha256,
        created_at=datetime.now(UTC),
    )
    # The quota is claimed before a byte is stored: a refused upload writes nothing, and one cut short
    # by a crash leaves a pending entry that keeps counting until the sweep removes it and its blob.
    context.store.files.reserve(record, quota=context.quota)
    pending = PendingBlob.of(record, record.created_at)
    try:
        context.store.blobs.put(blob_key(record), source, size=record.size, content_type=record.content_type)
    except BaseException:
        # The caller hears the first failure; if cleaning up fails too, the sweep finishes it.
        with contextlib.suppress(Exception):
            discard(context, pending)
        raise
    try:
        context.store.files.commit(record)
    except Exception:
        # A commit that timed out may still have been applied: the blob is removed only once the store
        # says there is no record. If it cannot say, the pending entry (if any) is left to the sweep.
        committed: bool | None = None
        with contextlib.suppress(Exception):
            committed = context.store.files.get(record.id) is not None
        if committed:
            return record
        if committed is False:
            with contextlib.suppress(Exception):
                discard(context, pending)
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
    # Metadata first: a crash afterwards leaves a pending blob for the sweep, never a record without
    # bytes. False: another request deleted it first and removes the blob itself.
    if context.store.files.delete(record):
        discard(context, PendingBlob.of(record, record.created_at))


def discard(context: AppContext, pending: PendingBlob) -> None:
    """The blob first, then its quota: interrupted in between, the entry is still there to sweep."""
    context.store.blobs.delete(blob_key(pending))
    context.store.files.release(pending)
