"""Mass assignment and data over-exposure: a client can set nothing the server owns (role, id, owner,
size, digest, storage key, token version), and no response shape carries more than the contract lists."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from app.api.deps import app_context
from tests.support.api import PASSWORD, Api, Session

# The exact key set of every JSON shape the API returns; anything more is over-exposure.
SHAPES: dict[str, frozenset[str]] = {
    "created": frozenset({"id", "username"}),
    "token": frozenset({"access_token", "token_type", "expires_in"}),
    "me": frozenset({"id", "username", "role"}),
    "file": frozenset({"id", "name", "size", "content_type", "sha256", "created_at"}),
    "page": frozenset({"items", "next_cursor"}),
    "share": frozenset({"file_id", "username", "created_at"}),
    "shares": frozenset({"items"}),
    "admin_user": frozenset({"id", "username", "role", "created_at"}),
    "error": frozenset({"detail"}),
    "health": frozenset({"status"}),
}
# Key fragments no response may contain at any depth.
FORBIDDEN_KEY_PARTS = ("password", "hash", "owner", "token_version", "secret", "storage", "blob", "key")
TOKEN_CLAIMS = {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ", "ver"}


def walk(value: Any, path: str = "$") -> Iterator[tuple[str, str | None, Any]]:
    """(path, key, value) for every node of a JSON document."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield f"{path}.{key}", key, child
            yield from walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield f"{path}[{index}]", None, child
            yield from walk(child, f"{path}[{index}]")


def assert_exposes_nothing(body: Any, *, secrets: tuple[str, ...]) -> None:
    for path, key, value in walk(body):
        if key is not None:
            lowered = key.lower()
            assert not any(part in lowered for part in FORBIDDEN_KEY_PARTS), path
            assert lowered != "input", f"{path}: validation errors must not echo the input"
        if isinstance(value, str):
            assert "$argon2" not in value, path
            assert not any(secret in value for secret in secrets), path


def token_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


@pytest.mark.threat("T-09")
@pytest.mark.parametrize(
    "extra",
    [
        {"role": "admin"},
        {"is_admin": True},
        {"id": "00000000-0000-4000-8000-000000000000"},
        {"owner": "someone"},
        {"token_version": 7},
        {"password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"},
        {"created_at": "2000-01-01T00:00:00Z"},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_register_refuses_unknown_fields_and_creates_nothing(api: Api, extra: dict[str, Any]) -> None:
    username = api.unique_username("mass")
    response = api.client.post("/auth/register", json={"username": username, "password": PASSWORD, **extra})
    assert response.status_code == 422, response.text
    assert_exposes_nothing(response.json(), secrets=(PASSWORD,))
    assert next(iter(extra)) in response.text  # the error names the field, so clients can fix it
    login = api.client.post("/auth/token", data={"username": username, "password": PASSWORD})
    assert login.status_code == 401
    # The name is still free: nothing half-created.
    session = api.register(username)
    assert api.client.get("/users/me", headers=session.headers).json()["role"] == "user"


@pytest.mark.threat("T-09")
def test_register_rejects_a_non_object_body(api: Api) -> None:
    for body in ([{"username": "x", "password": PASSWORD}], "admin", None, 1):
        response = api.client.post("/auth/register", json=body)
        assert response.status_code == 422, response.text
        assert_exposes_nothing(response.json(), secrets=(PASSWORD,))


@pytest.mark.threat("T-09")
@pytest.mark.parametrize(
    "extra",
    [{"role": "admin"}, {"permission": "write"}, {"owner_id": "x"}, {"user_id": "x"}, {"file_id": "x"}],
    ids=lambda extra: next(iter(extra)),
)
def test_share_refuses_unknown_fields(api: Api, extra: dict[str, Any]) -> None:
    owner, recipient = api.register(), api.register()
    file_id = api.upload(owner)["id"]
    response = api.client.post(
        f"/files/{file_id}/shares", headers=owner.headers, json={"username": recipient.username, **extra}
    )
    assert response.status_code == 422, response.text
    shares = api.client.get(f"/files/{file_id}/shares", headers=owner.headers).json()
    assert shares == {"items": []}
    assert api.client.get(f"/files/{file_id}", headers=recipient.headers).status_code == 403


@pytest.mark.threat("T-09")
@pytest.mark.parametrize(
    "extra",
    [{"role": "admin"}, {"username": "root"}, {"token_version": 0}, {"user_id": "x"}],
    ids=lambda extra: next(iter(extra)),
)
def test_password_change_refuses_unknown_fields(api: Api, extra: dict[str, Any]) -> None:
    user = api.register()
    new_password = "an entirely new passphrase"
    response = api.client.post(
        "/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": new_password, **extra},
    )
    assert response.status_code == 422, response.text
    assert_exposes_nothing(response.json(), secrets=(PASSWORD, new_password))
    # Nothing changed: the old password and the old token both still work.
    me = api.client.get("/users/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json() == {"id": user.id, "username": user.username, "role": "user"}
    api.login(user.username, PASSWORD)
    refused = api.client.post("/auth/token", data={"username": user.username, "password": new_password})
    assert refused.status_code == 401


@pytest.mark.threat("T-09")
def test_token_form_cannot_request_a_role_or_scope(api: Api) -> None:
    user = api.register()
    response = api.client.post(
        "/auth/token",
        data={
            "username": user.username,
            "password": PASSWORD,
            "scope": "admin",
            "role": "admin",
            "grant_type": "password",
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert set(token_claims(token)) == TOKEN_CLAIMS
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/admin/users", headers=headers).status_code == 403
    assert api.client.get("/users/me", headers=headers).json()["role"] == "user"


def _upload_with_extras(api: Api, uploader: Session, victim: Session, content: bytes) -> httpx2.Response:
    spoofed = {
        "owner_id": victim.id,
        "owner": victim.username,
        "size": "1",
        "sha256": "0" * 64,
        "id": "00000000-0000-4000-8000-000000000000",
        "content_type": "image/png",
        "storage_key": f"{victim.id}/evil",
        "name": "../../evil",
    }
    return api.client.post(
        "/files",
        headers=uploader.headers,
        data=spoofed,
        files={"file": ("report.txt", content, "text/plain")},
    )


@pytest.mark.threat("T-09")
def test_upload_ignores_client_supplied_owner_size_digest_and_id(api: Api) -> None:
    uploader, victim = api.register(), api.register()
    content = b"the real bytes, 29 of them.\n"
    response = _upload_with_extras(api, uploader, victim, content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == SHAPES["file"]
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["id"] != "00000000-0000-4000-8000-000000000000"
    assert uuid.UUID(body["id"]).version == 4
    assert body["content_type"] == "text/plain"
    assert body["name"] == "report.txt"
    client = api.client
    assert [i["id"] for i in client.get("/files", headers=uploader.headers).json()["items"]] == [body["id"]]
    assert client.get("/files", headers=victim.headers).json()["items"] == []
    assert client.get(f"/files/{body['id']}", headers=victim.headers).status_code == 403


@pytest.mark.inprocess
@pytest.mark.threat("T-09")
def test_upload_storage_key_is_server_generated(api: Api, app: FastAPI) -> None:
    uploader, victim = api.register(), api.register()
    body = _upload_with_extras(api, uploader, victim, b"bytes\n").json()
    record = app_context(app).store.files.get(body["id"])
    assert record is not None
    assert record.owner_id == uploader.id
    blobs = Path(app_context(app).settings.data_dir) / "blobs"
    stored = sorted(p.relative_to(blobs).as_posix() for p in blobs.rglob("*") if p.is_file())
    assert stored == [f"{uploader.id}/{body['id']}"]


@pytest.mark.threat("T-09")
@pytest.mark.threat("T-15")
def test_no_response_of_the_core_flow_exposes_internal_fields(api: Api) -> None:
    client = api.client
    owner, recipient = api.register(), api.register()
    responses: list[tuple[str, httpx2.Response]] = []

    def record(shape: str, response: httpx2.Response) -> httpx2.Response:
        responses.append((shape, response))
        return response

    fresh = api.unique_username()
    record("created", client.post("/auth/register", json={"username": fresh, "password": PASSWORD}))
    record("token", client.post("/auth/token", data={"username": fresh, "password": PASSWORD}))
    record("error", client.post("/auth/token", data={"username": fresh, "password": PASSWORD + "x"}))
    record("error", client.post("/auth/register", json={"username": fresh, "password": PASSWORD}))
    record("error", client.post("/auth/register", json={"username": "x", "password": "short"}))
    record("me", client.get("/users/me", headers=owner.headers))
    file_id = record("file", client.post("/files", headers=owner.headers, files={"file": ("a.txt", b"a")}))
    file_id = file_id.json()["id"]
    record("file", client.get(f"/files/{file_id}", headers=owner.headers))
    record("page", client.get("/files", headers=owner.headers))
    record(
        "share",
        client.post(f"/files/{file_id}/shares", headers=owner.headers, json={"username": recipient.username}),
    )
    record("shares", client.get(f"/files/{file_id}/shares", headers=owner.headers))
    record("page", client.get("/shares", headers=recipient.headers))
    record("file", client.get(f"/files/{file_id}", headers=recipient.headers))
    record("error", client.get(f"/files/{file_id}/shares", headers=recipient.headers))
    record("error", client.get("/admin/users", headers=owner.headers))
    record("error", client.get(f"/files/{uuid.uuid4()}", headers=owner.headers))
    record("error", client.get("/files"))
    record("health", client.get("/health"))

    secrets = (PASSWORD, f"{owner.id}/{file_id}", owner.token, recipient.token)
    for shape, response in responses:
        body = response.json()
        assert_exposes_nothing(body, secrets=secrets)
        if shape == "error" and response.status_code == 422:
            assert set(body) == SHAPES["error"]
            assert all(set(error) <= {"loc", "msg", "type"} for error in body["detail"])
            continue
        assert set(body) == SHAPES[shape], (shape, response.request.url, body)
        for item in body.get("items", []):
            assert set(item) == SHAPES["share" if shape == "shares" else "file"]
        # A file or share as seen by anyone never names its owner's account id.
        if shape in {"file", "page", "share", "shares"}:
            assert owner.id not in json.dumps(body)


@pytest.mark.inprocess
@pytest.mark.threat("T-09")
def test_admin_listing_exposes_only_public_account_fields(api: Api, app: FastAPI) -> None:
    admin, other = api.register(), api.register()
    app_context(app).store.users.set_role(admin.id, "admin")
    body = api.client.get("/admin/users", params={"limit": 100}, headers=admin.headers).json()
    assert set(body) == SHAPES["page"]
    assert {item["username"] for item in body["items"]} >= {admin.username, other.username}
    for item in body["items"]:
        assert set(item) == SHAPES["admin_user"]
    assert_exposes_nothing(body, secrets=(PASSWORD, admin.token))


@pytest.mark.threat("T-09")
def test_documented_response_schemas_list_no_internal_fields(api: Api) -> None:
    response = api.client.get("/openapi.json")
    if response.status_code == 404:
        pytest.skip("the schema is not served here (ENVIRONMENT=production)")
    document = response.json()
    components = document["components"]["schemas"]
    pending = [
        value
        for operation in document["paths"].values()
        for spec in operation.values()
        for _, key, value in walk(spec.get("responses", {}))
        if key == "$ref"
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop().rsplit("/", 1)[-1]
        if name in seen:
            continue
        seen.add(name)
        schema = components[name]
        for prop in schema.get("properties", {}):
            lowered = prop.lower()
            assert not any(part in lowered for part in FORBIDDEN_KEY_PARTS), (name, prop)
        pending.extend(value for _, key, value in walk(schema) if key == "$ref")
    assert {"FileOut", "UserOut", "AdminUserOut", "ShareOut", "TokenOut"} <= seen
