"""The domain's records, as the store keeps them and the services pass them around. What a client sees
of them is decided separately, by the response schemas (`app/api/schemas.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

Role = Literal["user", "admin"]
T = TypeVar("T")


@dataclass(frozen=True, repr=False)
class User:
    id: str
    username: str
    password_hash: str
    role: Role
    token_version: int
    created_at: datetime
    # Set first when the account is being deleted: no login, no new file, while the rest goes.
    deleting: bool = False

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
class PendingBlob:
    """A blob that may exist without a file record: an upload between its reservation and its commit,
    or a deletion between its record's removal and its blob's. Its quota stays claimed until it is
    released; one left behind by a crash is found by its age and swept (services/sweeper.py)."""

    id: str
    owner_id: str
    size: int
    since: datetime

    @classmethod
    def of(cls, record: FileRecord, since: datetime) -> PendingBlob:
        return cls(id=record.id, owner_id=record.owner_id, size=record.size, since=since)


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
