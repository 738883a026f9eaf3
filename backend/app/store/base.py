"""What the API needs from storage, independent of where it lives (SQLite + folder, or DynamoDB + S3)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Generic, Literal, Protocol, TypeVar

Role = Literal["user", "admin"]
T = TypeVar("T")


class StoreError(Exception):
    """Base for expected store outcomes the API maps to a status code."""


class UsernameTakenError(StoreError):
    pass


class AlreadySharedError(StoreError):
    pass


class NotFoundError(StoreError):
    pass


class QuotaExceededError(StoreError):
    pass


class InvalidCursorError(StoreError):
    pass


class StoreUnavailableError(Exception):
    """The store could not be reached or asked us to back off: a 503, never a 500 or a pass."""


@dataclass(frozen=True, repr=False)
class User:
    id: str
    username: str
    password_hash: str
    role: Role
    token_version: int
    created_at: datetime

    def __repr__(self) -> str:  # keep the hash out of logs and tracebacks
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role!r})"


@dataclass(frozen=True)
class FileRecord:
    id: str
    owner_id: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime


@dataclass(frozen=True)
class Share:
    file_id: str
    user_id: str
    username: str
    created_at: datetime


@dataclass(frozen=True)
class Quota:
    max_bytes: int
    max_files: int


@dataclass(frozen=True)
class Usage:
    bytes: int
    files: int


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class UserStore(Protocol):
    def create(self, user: User) -> None: ...
    def get(self, user_id: str) -> User | None: ...
    def get_by_username(self, username: str) -> User | None: ...
    def list(self, *, limit: int, cursor: str | None) -> Page[User]: ...
    def set_password(self, user_id: str, password_hash: str) -> None:
        """Replace the hash and bump token_version, which invalidates every older token."""
        ...

    def set_role(self, user_id: str, role: Role) -> None: ...
    def delete(self, user_id: str) -> None: ...


class FileStore(Protocol):
    def create(self, record: FileRecord, *, quota: Quota) -> None:
        """Insert atomically with the quota check; QuotaExceededError leaves nothing behind."""
        ...

    def get(self, file_id: str) -> FileRecord | None: ...
    def list_owned(self, owner_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]: ...
    def delete(self, record: FileRecord) -> None:
        """Remove the record, its shares and its quota usage."""
        ...

    def usage(self, owner_id: str) -> Usage: ...


class ShareStore(Protocol):
    def add(self, share: Share) -> None: ...
    def remove(self, file_id: str, user_id: str) -> None: ...
    def exists(self, file_id: str, user_id: str) -> bool: ...
    def list_for_file(self, file_id: str) -> list[Share]: ...
    def list_for_user(self, user_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]: ...


class BlobStore(Protocol):
    def put(self, key: str, source: BinaryIO, *, size: int, content_type: str) -> None: ...
    def open(self, key: str) -> Iterator[bytes]: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


class RevocationStore(Protocol):
    def revoke(self, token_id: str, *, expires_at: int) -> None: ...
    def is_revoked(self, token_id: str) -> bool: ...


@dataclass(frozen=True)
class Store:
    users: UserStore
    files: FileStore
    shares: ShareStore
    blobs: BlobStore
    revocations: RevocationStore


def blob_key(record: FileRecord) -> str:
    """Server-generated ids only: the client's file name never reaches a path or an object key."""
    return f"{record.owner_id}/{record.id}"
