"""What the services need from storage, independent of where it lives (SQLite + a folder, or DynamoDB +
S3). Both stores raise the same exception for the same outcome; each method says which.

Every method may also raise StoreUnavailableError when the store cannot be reached (AWS mode), which
the API answers with 503.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from app.records import FileRecord, Page, Quota, Role, Share, Usage, User

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
        Raises StoreStateError while the user still owns files."""
        ...


class FileStore(Protocol):
    def create(self, record: FileRecord, *, quota: Quota) -> None:
        """Insert atomically with the quota check. Raises QuotaExceededError (and leaves nothing
        behind), or NotFoundError when the owner no longer exists."""
        ...

    def get(self, file_id: str) -> FileRecord | None: ...
    def list_owned(self, owner_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]:
        """Newest first. Raises InvalidCursorError for a cursor this store did not issue."""
        ...

    def delete(self, record: FileRecord) -> None:
        """Remove the record, its shares and its quota usage; deleting twice gives usage back once."""
        ...

    def usage(self, owner_id: str) -> Usage: ...


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

    def put(self, key: str, source: BinaryIO, *, size: int, content_type: str) -> None: ...
    def open(self, key: str) -> Iterator[bytes]:
        """Opens the blob before returning, so a missing one raises NotFoundError before any byte of a
        response is sent; once open, the chunks are the whole blob even if it is deleted meanwhile."""
        ...

    def delete(self, key: str) -> None:
        """Nothing happens for a missing blob."""
        ...

    def exists(self, key: str) -> bool: ...


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
    callers: CallerStore


def blob_key(record: FileRecord) -> str:
    """Server-generated ids only: the client's file name never reaches a path or an object key."""
    return f"{record.owner_id}/{record.id}"


def checked_blob_key(key: str) -> str:
    """Both stores refuse any key that is not two server ids, whoever asks."""
    if not _BLOB_KEY.fullmatch(key):
        raise ValueError("blob keys are server-generated ids")
    return key
