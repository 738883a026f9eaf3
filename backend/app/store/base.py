"""What the services need from storage, independent of where it lives (SQLite + a folder, or DynamoDB +
S3). Both stores raise the same exception for the same outcome; each method says which.

Every method may also raise StoreUnavailableError when the store cannot be reached (AWS mode), which
the API answers with 503.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from app.records import FileRecord, Page, PendingBlob, Quota, Role, Share, Usage, User

_BLOB_KEY = re.compile(r"[0-9a-f-]{36}/[0-9a-f-]{36}")


class UserStore(Protocol):
    def create(self, user: User) -> None:
        """Raises UsernameTakenError; the uniqueness check is the write itself."""
        ...

    def get(self, user_id: str) -> User | None: ...
    def get_by_username(self, username: str) -> User | None: ...
    def list(self, *, limit: int, cursor: str | None) -> Page[User]:
        """Newest first. Raises InvalidCursorError for a cursor this store did not issue."""
        ...

    def set_password(self, user_id: str, password_hash: str, *, expected_version: int) -> None:
        """Replace the hash and bump token_version, which invalidates every older token, only if the
        version is still `expected_version` (the one the caller read). Raises NotFoundError, or
        ConcurrentChangeError when another write came first."""
        ...

    def set_role(self, user_id: str, role: Role) -> None:
        """Raises NotFoundError."""
        ...

    def begin_deletion(self, user_id: str) -> None:
        """Mark the user deleting and bump token_version: every token dies, no login succeeds and no
        file can be created for them from now on. Idempotent. Raises NotFoundError."""
        ...

    def delete(self, user_id: str) -> None:
        """Removes the user and every share with them; nothing happens for an unknown id.
        Raises StoreStateError while the user still owns files or pending blobs."""
        ...


class FileStore(Protocol):
    """A file is stored in three steps, so that a crash at any point leaves something a sweep can find
    (services/sweeper.py): `reserve` (the quota is claimed and the blob noted as pending, before any
    byte is written), the blob is written, `commit` (pending becomes the record). Deleting mirrors it:
    `delete` (the record becomes pending), the blob is deleted, `release`. Usage counts records and
    pending blobs, so the quota counts every byte that may be stored."""

    def reserve(self, record: FileRecord, *, quota: Quota) -> None:
        """Claim the record's size and one file of the owner's quota and note its blob as pending,
        atomically with the quota check. Raises QuotaExceededError (and leaves nothing behind), or
        NotFoundError when the owner no longer exists or is being deleted."""
        ...

    def commit(self, record: FileRecord) -> None:
        """Turn the record's pending entry into the record, atomically. Raises NotFoundError when the
        entry is gone (swept as stale, or its account deleted meanwhile): the blob is then the
        caller's to remove."""
        ...

    def get(self, file_id: str) -> FileRecord | None: ...
    def list_owned(self, owner_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]:
        """Newest first. Raises InvalidCursorError for a cursor this store did not issue."""
        ...

    def delete(self, record: FileRecord) -> bool:
        """Remove the record and its shares and note its blob as pending, atomically; its quota stays
        claimed until `release`. False (and nothing changes) when the record was already gone."""
        ...

    def release(self, pending: PendingBlob) -> None:
        """Forget a pending blob (already deleted by the caller) and give its quota back; nothing
        happens when it is already gone, so it is given back once."""
        ...

    def pending_of(self, owner_id: str) -> list[PendingBlob]:
        """The owner's pending blobs, whatever their age (deleting an account)."""
        ...

    def stale_pending(self, *, before: datetime, limit: int) -> list[PendingBlob]:
        """Up to `limit` pending blobs noted before `before`, oldest first (the sweep)."""
        ...

    def usage(self, owner_id: str) -> Usage:
        """Records and pending blobs."""
        ...


class ShareStore(Protocol):
    def add(self, share: Share) -> None:
        """Raises AlreadySharedError, or NotFoundError when the file or the recipient no longer
        exists (deleted after the caller's checks)."""
        ...

    def remove(self, file_id: str, user_id: str) -> None:
        """Raises NotFoundError when there is no such share."""
        ...

    def exists(self, file_id: str, user_id: str) -> bool: ...
    def list_for_file(self, file_id: str) -> list[Share]:
        """By recipient username."""
        ...

    def list_for_user(self, user_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]:
        """The files shared with the user, newest share first; a file deleted a moment ago is skipped.
        Raises InvalidCursorError for a cursor this store did not issue."""
        ...


class BlobStore(Protocol):
    """Keys are `blob_key(record)`; any other key raises ValueError before storage is touched."""

    def put(self, key: str, source: BinaryIO, *, size: int, content_type: str) -> None:
        """Whole or not at all: a reader never sees part of a blob."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """Opens the blob before returning, so a missing one raises NotFoundError before any byte of a
        response is sent; once open, the chunks are the whole blob even if it is deleted meanwhile."""
        ...

    def delete(self, key: str) -> None:
        """Also removes what an interrupted `put` of the key left; nothing happens for a missing blob."""
        ...

    def exists(self, key: str) -> bool: ...


class CounterStore(Protocol):
    """Counters per key and fixed time window, shared by every process on the store (every Lambda
    execution environment), forgotten once their window has passed."""

    def increment(self, key: str, *, window: int, expires_at: int) -> int:
        """Adds one to the key's counter in `window` and returns the new count, atomically."""
        ...

    def count(self, key: str, *, window: int) -> int: ...


class RevocationStore(Protocol):
    def revoke(self, token_id: str, *, expires_at: int) -> None: ...
    def is_revoked(self, token_id: str) -> bool: ...


class CallerStore(Protocol):
    def caller(self, user_id: str, token_id: str) -> tuple[User | None, bool]:
        """The user (None if there is none) and whether the token is revoked: what every authenticated
        request reads, in one query (SQLite) or one round trip (DynamoDB)."""
        ...


@dataclass(frozen=True)
class Store:
    users: UserStore
    files: FileStore
    shares: ShareStore
    blobs: BlobStore
    revocations: RevocationStore
    counters: CounterStore
    callers: CallerStore


def blob_key(record: FileRecord | PendingBlob) -> str:
    """Server-generated ids only: the client's file name never reaches a path or an object key."""
    return f"{record.owner_id}/{record.id}"


def checked_blob_key(key: str) -> str:
    """Both stores refuse any key that is not two server ids, whoever asks."""
    if not _BLOB_KEY.fullmatch(key):
        raise ValueError("blob keys are server-generated ids")
    return key
