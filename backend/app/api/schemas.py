"""Request and response schemas, and the mappers from domain records to responses. Requests forbid
unknown fields, so a client can never set a role, an owner, a size or an id; responses list exactly
what a client may see, and the mappers below are the one place that decides which fields those are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.records import FileRecord, Page, Share, User

Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.-]{3,32}$")]
Password = Annotated[str, Field(min_length=12, max_length=1024)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterRequest(_Request):
    username: Username
    password: Password


class PasswordChangeRequest(_Request):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Password


class ShareRequest(_Request):
    username: Username


class UserCreated(_Response):
    id: str
    username: str


class UserOut(_Response):
    id: str
    username: str
    role: Literal["user", "admin"]


class AdminUserOut(UserOut):
    created_at: datetime


class TokenOut(_Response):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


class FileOut(_Response):
    id: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime


class FilePage(_Response):
    items: list[FileOut]
    next_cursor: str | None


class UserPage(_Response):
    items: list[AdminUserOut]
    next_cursor: str | None


class ShareOut(_Response):
    file_id: str
    username: str
    created_at: datetime


class ShareList(_Response):
    items: list[ShareOut]


class HealthOut(_Response):
    status: Literal["ok"] = "ok"


class ErrorOut(_Response):
    detail: str


# -- records to responses ------------------------------------------------------------------------------


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, role=user.role)


def admin_user_out(user: User) -> AdminUserOut:
    return AdminUserOut(id=user.id, username=user.username, role=user.role, created_at=user.created_at)


def user_page(page: Page[User]) -> UserPage:
    return UserPage(items=[admin_user_out(user) for user in page.items], next_cursor=page.next_cursor)


def file_out(record: FileRecord) -> FileOut:
    return FileOut(
        id=record.id,
        name=record.name,
        size=record.size,
        content_type=record.content_type,
        sha256=record.sha256,
        created_at=record.created_at,
    )


def file_page(page: Page[FileRecord]) -> FilePage:
    return FilePage(items=[file_out(record) for record in page.items], next_cursor=page.next_cursor)


def share_out(share: Share) -> ShareOut:
    return ShareOut(file_id=share.file_id, username=share.username, created_at=share.created_at)
