"""Request and response schemas. Requests forbid unknown fields, so a client can never set a role, an
owner, a size or an id; responses list exactly what a client may see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
