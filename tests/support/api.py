"""A thin client for the tests: the same calls work in process (ASGI or Lambda events) and over real
HTTP against a running instance (--base-url), where every user is a fresh throw-away account."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx2

PASSWORD = "correct horse battery staple"
# Every password and token this helper handles, append-only: the session's log audit
# (tests/support/log_audit.py) fails the run if any of them reaches a log record.
SENSITIVE_VALUES: list[str] = [PASSWORD]


@dataclass
class Session:
    id: str
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    client: httpx2.Client
    sessions: list[Session] = field(default_factory=list)

    def unique_username(self, prefix: str = "user") -> str:
        return f"{prefix}_{secrets.token_hex(5)}"

    def register(self, username: str | None = None, password: str = PASSWORD) -> Session:
        username = username or self.unique_username()
        SENSITIVE_VALUES.append(password)
        created = self.client.post("/auth/register", json={"username": username, "password": password})
        assert created.status_code == 201, created.text
        session = Session(created.json()["id"], username, password, self.login(username, password))
        self.sessions.append(session)
        return session

    def login(self, username: str, password: str) -> str:
        response = self.client.post("/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        SENSITIVE_VALUES.append(token)
        return token

    def upload(
        self,
        session: Session,
        content: bytes = b"hello, world\n",
        *,
        name: str = "hello.txt",
        content_type: str = "text/plain",
    ) -> dict[str, Any]:
        response = self.client.post(
            "/files", headers=session.headers, files={"file": (name, content, content_type)}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def share(self, owner: Session, file_id: str, recipient: Session) -> None:
        response = self.client.post(
            f"/files/{file_id}/shares", headers=owner.headers, json={"username": recipient.username}
        )
        assert response.status_code == 201, response.text
