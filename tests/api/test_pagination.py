"""Listings in pages (T-14): the limit is capped, cursors walk every item exactly once and carry no
partition, and anything but a cursor we issued is a 422. Keyset paging is written once
(app/store/paging.py) but queried twice (SQLite, DynamoDB): these tests run on both stores."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from app.api.deps import app_context
from app.records import FileRecord, Share, User
from tests.support.api import Api, Session

PAGE_CAP = 100


@pytest.fixture
def many_files(api: Api, app: FastAPI) -> tuple[Session, Session, list[str]]:
    """Seeded through the store (the API path is covered elsewhere), ten items per timestamp, so
    keyset pagination must also break ties on the id."""
    owner, recipient = api.register(), api.register()
    context = app_context(app)
    base = datetime.now(UTC)
    ids = []
    for index in range(PAGE_CAP + 5):
        created = base + timedelta(seconds=index // 10)
        record = FileRecord(str(uuid.uuid4()), owner.id, f"{index}.txt", 1, "text/plain", "0" * 64, created)
        context.store.files.reserve(record, quota=context.quota)
        context.store.files.commit(record)
        context.store.shares.add(Share(record.id, recipient.id, recipient.username, created))
        ids.append(record.id)
    return owner, recipient, ids


def walk_pages(api: Api, session: Session, listing: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        page = api.client.get(listing, params=params, headers=session.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= limit
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not terminate")


@pytest.mark.inprocess
@pytest.mark.threat("T-14")
@pytest.mark.both_stores
def test_limit_is_capped_and_cursors_walk_every_item_once(
    api: Api, many_files: tuple[Session, Session, list[str]]
) -> None:
    owner, recipient, ids = many_files
    for session, listing in ((owner, "/files"), (recipient, "/shares")):
        for huge in (101, 100_000, 2**62):
            page = api.client.get(listing, params={"limit": huge}, headers=session.headers).json()
            assert len(page["items"]) == PAGE_CAP
            assert page["next_cursor"]
        for limit in (7, 100):
            walked = walk_pages(api, session, listing, limit)
            assert len(walked) == len(set(walked)) == len(ids)
            assert set(walked) == set(ids)
        for tiny in (0, -1, -(2**62)):
            page = api.client.get(listing, params={"limit": tiny}, headers=session.headers).json()
            assert len(page["items"]) == 1


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


GARBAGE_CURSORS = [
    "garbage",
    "!!!!",
    "%00",
    "=",
    "é",
    _b64(b"not json"),
    _b64(b'{"a": 1}'),
    _b64(b'["only-one"]'),
    _b64(b"[1, 2]"),
    _b64(b'["a", "b", "c"]'),
    _b64(json.dumps(["x" * 200, "y"]).encode()),
    _b64(b"[null, null]"),
    _b64(b"\xff\xfe\xfd"),
    "A" * 600,
]


@pytest.mark.threat("T-14")
@pytest.mark.both_stores
@pytest.mark.parametrize("listing", ["/files", "/shares"])
def test_a_garbage_cursor_is_422_never_500(api: Api, listing: str) -> None:
    user = api.register()
    api.upload(user)
    for cursor in GARBAGE_CURSORS:
        response = api.client.get(listing, params={"cursor": cursor}, headers=user.headers)
        assert response.status_code == 422, (cursor, response.status_code, response.text)
    for limit in ("abc", "1.5", "", "1e3"):
        response = api.client.get(listing, params={"limit": limit}, headers=user.headers)
        assert response.status_code == 422, (limit, response.text)


@pytest.mark.inprocess
@pytest.mark.threat("T-14")
@pytest.mark.both_stores
def test_admin_listing_is_capped_and_rejects_garbage_cursors(api: Api, app: FastAPI) -> None:
    store = app_context(app).store
    admin = api.register()
    store.users.set_role(admin.id, "admin")
    now = datetime.now(UTC)
    for index in range(PAGE_CAP + 5):
        store.users.create(User(str(uuid.uuid4()), f"bulk_{index:04d}", "x", "user", 0, now))
    page = api.client.get("/admin/users", params={"limit": 100_000}, headers=admin.headers).json()
    assert len(page["items"]) == PAGE_CAP
    assert page["next_cursor"]
    walked = walk_pages(api, admin, "/admin/users", 30)
    assert len(walked) == len(set(walked)) == PAGE_CAP + 6
    for cursor in GARBAGE_CURSORS:
        response = api.client.get("/admin/users", params={"cursor": cursor}, headers=admin.headers)
        assert response.status_code == 422, (cursor, response.text)


# Valid base64 and valid JSON, but strings no store can hold: a lone surrogate cannot be encoded as
# UTF-8 (SQLite's driver and boto3 both raise), and a NUL or other control character is no sort key
# we ever issue.
ODD_STRING_CURSORS = [
    _b64(b'["\\ud800", "x"]'),
    _b64(b'["2024-01-01T00:00:00.000000+00:00", "\\udfff"]'),
    _b64(b'["\\ud83d", "\\ude00"]'),
    _b64(b'["\\u0000", "x"]'),
    _b64(b'["a", "\\u001f"]'),
]


@pytest.mark.inprocess
@pytest.mark.threat("T-14")
@pytest.mark.both_stores
def test_a_cursor_with_a_lone_surrogate_or_control_character_is_422(api: Api, app: FastAPI) -> None:
    admin = api.register()
    app_context(app).store.users.set_role(admin.id, "admin")
    api.upload(admin)
    for listing in ("/files", "/shares", "/admin/users"):
        for cursor in ODD_STRING_CURSORS:
            response = api.client.get(listing, params={"cursor": cursor}, headers=admin.headers)
            assert response.status_code == 422, (listing, cursor, response.status_code, response.text)
