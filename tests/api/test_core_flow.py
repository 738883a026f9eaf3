"""The whole contract, end to end, through the ASGI app and through the Mangum handler with every
Lambda event format (API Gateway REST v1, HTTP API v2, Function URL)."""

from __future__ import annotations

import hashlib

import pytest
from fastapi import FastAPI

from app.api.deps import app_context
from tests.support.api import Api
from tests.support.apps import VIAS

# The contract holds on either store: each test runs on SQLite + a folder and on DynamoDB + S3.
pytestmark = pytest.mark.both_stores

# Every byte value, behind a real PNG signature: survives base64 in both directions or fails loudly.
BINARY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


@pytest.mark.inprocess
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_register_upload_share_revoke_delete(api: Api, app: FastAPI) -> None:
    client = api.client
    assert client.get("/health").json() == {"status": "ok"}
    owner, recipient = api.register(), api.register()

    me = client.get("/users/me", headers=owner.headers)
    assert me.status_code == 200
    assert me.json() == {"id": owner.id, "username": owner.username, "role": "user"}

    uploaded = api.upload(owner, BINARY, name="photo.png", content_type="image/png")
    assert uploaded["size"] == len(BINARY)
    assert uploaded["sha256"] == hashlib.sha256(BINARY).hexdigest()
    assert uploaded["content_type"] == "image/png"
    file_id = uploaded["id"]

    listed = client.get("/files", headers=owner.headers).json()
    assert [item["id"] for item in listed["items"]] == [file_id]

    download = client.get(f"/files/{file_id}/content", headers=owner.headers)
    assert download.status_code == 200
    assert download.content == BINARY
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")

    assert client.get(f"/files/{file_id}", headers=recipient.headers).status_code == 403
    api.share(owner, file_id, recipient)
    shared = client.get("/shares", headers=recipient.headers).json()
    assert [item["id"] for item in shared["items"]] == [file_id]
    as_recipient = client.get(f"/files/{file_id}/content", headers=recipient.headers)
    assert as_recipient.status_code == 200
    assert as_recipient.content == BINARY
    shares = client.get(f"/files/{file_id}/shares", headers=owner.headers).json()
    assert [item["username"] for item in shares["items"]] == [recipient.username]

    revoked = client.delete(f"/files/{file_id}/shares/{recipient.username}", headers=owner.headers)
    assert revoked.status_code == 204
    assert client.get(f"/files/{file_id}", headers=recipient.headers).status_code == 403
    assert client.get("/shares", headers=recipient.headers).json()["items"] == []

    assert client.delete(f"/files/{file_id}", headers=owner.headers).status_code == 204
    assert client.get(f"/files/{file_id}", headers=owner.headers).status_code == 404
    assert client.get("/files", headers=owner.headers).json()["items"] == []

    assert client.get("/admin/users", headers=owner.headers).status_code == 403
    app_context(app).store.users.set_role(owner.id, "admin")
    admin_view = client.get("/admin/users", headers=owner.headers)
    assert admin_view.status_code == 200
    usernames = {item["username"] for item in admin_view.json()["items"]}
    assert {owner.username, recipient.username} <= usernames
    assert all("password" not in key for item in admin_view.json()["items"] for key in item)


@pytest.mark.inprocess
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_non_ascii_name_survives_the_round_trip(api: Api) -> None:
    owner = api.register()
    uploaded = api.upload(owner, "données\n".encode(), name="résumé 2026.txt")
    assert uploaded["name"] == "résumé 2026.txt"
    download = api.client.get(f"/files/{uploaded['id']}/content", headers=owner.headers)
    assert download.content == "données\n".encode()
    disposition = download.headers["content-disposition"]
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202026.txt" in disposition
    assert disposition.isascii()
