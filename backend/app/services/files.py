"""Storing an upload so that nothing is half-written: blob first, metadata second, blob removed again
if the metadata cannot be written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import BinaryIO

from app.context import Services
from app.services.filenames import sanitize_filename
from app.services.upload_checks import UploadRejectedError, inspect_upload
from app.store.base import FileRecord, QuotaExceededError, blob_key


def store_upload(
    services: Services,
    *,
    owner_id: str,
    source: BinaryIO,
    filename: str | None,
    declared_type: str | None,
) -> FileRecord:
    settings = services.settings
    inspected = inspect_upload(
        source,
        declared_type=declared_type,
        allowed_types=settings.allowed_content_types,
        max_bytes=settings.max_upload_bytes,
    )
    quota = services.quota
    usage = services.store.files.usage(owner_id)
    # Checked again atomically when the record is written; this early check avoids storing a blob
    # that could never be kept.
    if usage.bytes + inspected.size > quota.max_bytes or usage.files + 1 > quota.max_files:
        raise UploadRejectedError(413, "Storage quota exceeded")
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
    services.store.blobs.put(key, source, size=record.size, content_type=record.content_type)
    try:
        services.store.files.create(record, quota=quota)
    except QuotaExceededError:
        services.store.blobs.delete(key)
        raise UploadRejectedError(413, "Storage quota exceeded") from None
    except BaseException:
        services.store.blobs.delete(key)
        raise
    return record


def delete_file(services: Services, *, record: FileRecord) -> None:
    # Metadata first: a failure afterwards leaves an unreachable blob, never a record without bytes.
    services.store.files.delete(record)
    services.store.blobs.delete(blob_key(record))
