"""BOLA and BFLA on every file and share route: as a stranger and as a share recipient, every attempt is
refused and the owner's record (metadata, bytes, shares, listing) is exactly as it was. Black-box
capable: everything but the in-process tests also runs against --base-url."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from app.api.deps import app_context
from app.records import User
from app.services import files
from devtools.lambda_events import EVENT_FORMATS
from tests.support.api import Api, Session

# The contract holds on either store: each test runs on SQLite + a folder and on DynamoDB + S3.
pytestmark = pytest.mark.both_stores

CONTENT = b"quarterly numbers, owner only\n"
ROLES = ("owner", "recipient", "stranger")


@dataclass(frozen=True)
class Route:
    """One file or share route; `reads` routes are open to a share recipient, the rest are owner-only."""

    name: str
    method: str
    path: str
    reads: bool = False
    share_with: str | None = None  # "self" or "other": the body of POST /files/{id}/shares

    def url(self, file_id: str, recipient: Session) -> str:
        return self.path.format(file_id=file_id, recipient=recipient.username)


ROUTES = (
    Route("read metadata", "GET", "/files/{file_id}", reads=True),
    Route("download", "GET", "/files/{file_id}/content", reads=True),
    Route("delete", "DELETE", "/files/{file_id}"),
    Route("share with self", "POST", "/files/{file_id}/shares", share_with="self"),
    Route("share with other", "POST", "/files/{file_id}/shares", share_with="other"),
    Route("list shares", "GET", "/files/{file_id}/shares"),
    Route("revoke share", "DELETE", "/files/{file_id}/shares/{recipient}"),
)
ROUTE_IDS = [route.name.replace(" ", "-") for route in ROUTES]


@dataclass(frozen=True)
class Scenario:
    owner: Session
    recipient: Session
    stranger: Session
    file_id: str

    def attacker(self, role: str) -> Session:
        return self.recipient if role == "recipient" else self.stranger

    def bystander(self, role: str) -> Session:
        return self.stranger if role == "recipient" else self.recipient


# Against a live server the three accounts are made once per run: registration runs Argon2 at full
# cost there. Every test still gets its own file, so tests never see each other's records.
_LIVE_ACCOUNTS: dict[str, tuple[Session, Session, Session]] = {}


@pytest.fixture
def scenario(api: Api, base_url: str | None) -> Scenario:
    accounts = _LIVE_ACCOUNTS.get(base_url) if base_url else None
    if accounts is None:
        owner, recipient, stranger = (api.register(api.unique_username(role)) for role in ROLES)
        accounts = owner, recipient, stranger
        if base_url:
            _LIVE_ACCOUNTS[base_url] = accounts
    owner, recipient, stranger = accounts
    file_id = api.upload(owner, CONTENT, name="numbers.txt")["id"]
    api.share(owner, file_id, recipient)
    return Scenario(owner, recipient, stranger, file_id)


def snapshot(api: Api, owner: Session, file_id: str) -> dict[str, Any]:
    """Everything the owner can observe about the file, read through the API itself."""
    client = api.client
    metadata = client.get(f"/files/{file_id}", headers=owner.headers)
    content = client.get(f"/files/{file_id}/content", headers=owner.headers)
    shares = client.get(f"/files/{file_id}/shares", headers=owner.headers)
    listing = client.get("/files", headers=owner.headers)
    assert {r.status_code for r in (metadata, content, shares, listing)} == {200}
    return {
        "metadata": metadata.json(),
        "content": content.content,
        "shares": shares.json(),
        "listing": [item["id"] for item in listing.json()["items"]],
    }


def send(api: Api, route: Route, scenario: Scenario, caller: Session, role: str) -> Any:
    body = None
    if route.share_with is not None:
        target = caller if route.share_with == "self" else scenario.bystander(role)
        body = {"username": target.username}
    return api.client.request(
        route.method,
        route.url(scenario.file_id, scenario.recipient),
        headers=caller.headers,
        json=body,
    )


@pytest.mark.threat("T-07")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_stranger_is_refused_on_every_route_and_nothing_changes(
    api: Api, scenario: Scenario, route: Route
) -> None:
    before = snapshot(api, scenario.owner, scenario.file_id)
    response = send(api, route, scenario, scenario.stranger, "stranger")
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Forbidden"}
    assert CONTENT not in response.content
    assert snapshot(api, scenario.owner, scenario.file_id) == before


@pytest.mark.threat("T-08")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_recipient_reads_but_owner_only_actions_are_refused(
    api: Api, scenario: Scenario, route: Route
) -> None:
    before = snapshot(api, scenario.owner, scenario.file_id)
    response = send(api, route, scenario, scenario.recipient, "recipient")
    if route.reads:
        assert response.status_code == 200, response.text
        if route.path.endswith("/content"):
            assert response.content == CONTENT
        else:
            assert response.json() == before["metadata"]
    else:
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": "Forbidden"}
    assert snapshot(api, scenario.owner, scenario.file_id) == before


@pytest.mark.threat("T-07")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_unknown_file_id_is_404_on_every_route(api: Api, scenario: Scenario, route: Route) -> None:
    missing = Scenario(scenario.owner, scenario.recipient, scenario.stranger, str(uuid.uuid4()))
    for caller, role in ((scenario.owner, "stranger"), (scenario.stranger, "stranger")):
        response = send(api, route, missing, caller, role)
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Not found"}


@pytest.mark.threat("T-07")
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1", "' OR '1'='1", "%00", "a" * 300])
def test_malformed_file_id_is_422_never_5xx(api: Api, scenario: Scenario, route: Route, bad_id: str) -> None:
    malformed = Scenario(scenario.owner, scenario.recipient, scenario.stranger, bad_id)
    response = send(api, route, malformed, scenario.owner, "stranger")
    assert response.status_code == 422, response.text


@pytest.mark.threat("T-07")
def test_deleted_file_is_404_for_owner_and_former_recipient(api: Api, scenario: Scenario) -> None:
    client = api.client
    assert client.delete(f"/files/{scenario.file_id}", headers=scenario.owner.headers).status_code == 204
    for caller in (scenario.owner, scenario.recipient):
        for route in ROUTES:
            response = send(api, route, scenario, caller, "recipient")
            assert response.status_code == 404, (route.name, response.text)
    assert scenario.file_id not in listed_ids(api, scenario.recipient, "/shares")


@pytest.mark.threat("T-07")
@pytest.mark.inprocess
def test_sharing_a_file_deleted_after_the_owner_check_is_404(
    api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, driven: the owner check passes, then (another request of) the owner deletes the file
    before the share is written. Both stores refuse the write the same way: 404, never a 409 read from
    SQLite's foreign key or DynamoDB's condition failure escaping as a 500."""
    owner, recipient = api.register(), api.register()
    file_id = api.upload(owner)["id"]
    context = app_context(app)
    users = context.store.users
    find_recipient = users.get_by_username

    def delete_the_file_first(username: str) -> User | None:
        record = context.store.files.get(file_id)
        assert record is not None, "the owner check ran before the recipient lookup"
        files.delete_file(context, record)
        return find_recipient(username)

    monkeypatch.setattr(users, "get_by_username", delete_the_file_first)
    response = api.client.post(
        f"/files/{file_id}/shares", headers=owner.headers, json={"username": recipient.username}
    )
    monkeypatch.undo()
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Not found"}
    assert api.client.get(f"/files/{file_id}", headers=recipient.headers).status_code == 404
    assert file_id not in listed_ids(api, recipient, "/shares")


def listed_ids(api: Api, session: Session, listing: str) -> set[str]:
    items = api.client.get(listing, params={"limit": 100}, headers=session.headers).json()["items"]
    return {item["id"] for item in items}


@pytest.mark.threat("T-07")
def test_listings_show_only_the_callers_own_and_shared_files(api: Api, scenario: Scenario) -> None:
    client = api.client
    own = api.upload(scenario.stranger, b"stranger's file\n")["id"]
    stranger_files = listed_ids(api, scenario.stranger, "/files")
    assert own in stranger_files
    assert scenario.file_id not in stranger_files
    assert listed_ids(api, scenario.stranger, "/shares") == set()
    # A recipient sees the shared file under /shares, never under their own /files.
    assert listed_ids(api, scenario.recipient, "/files") == set()
    assert scenario.file_id in listed_ids(api, scenario.recipient, "/shares")
    first = client.get("/files", params={"limit": 1}, headers=scenario.owner.headers).json()
    assert [item["id"] for item in first["items"]] == [scenario.file_id]


@pytest.mark.threat("T-07")
@pytest.mark.parametrize("listing", ["/files", "/shares"])
def test_another_users_cursor_does_not_open_their_listing(api: Api, scenario: Scenario, listing: str) -> None:
    """The cursor carries a position, never an owner: replaying it as someone else pages *their* data."""
    client = api.client
    owner = scenario.recipient if listing == "/shares" else scenario.owner
    for _ in range(2):
        extra = api.upload(scenario.owner, b"more\n")["id"]
        if listing == "/shares":
            api.share(scenario.owner, extra, scenario.recipient)
    first = client.get(listing, params={"limit": 1}, headers=owner.headers).json()
    assert first["next_cursor"], first
    replayed = client.get(
        listing, params={"limit": 100, "cursor": first["next_cursor"]}, headers=scenario.stranger.headers
    )
    assert replayed.status_code == 200
    # Whatever the position, the stranger only ever pages through their own items.
    replayed_ids = {item["id"] for item in replayed.json()["items"]}
    assert replayed_ids <= listed_ids(api, scenario.stranger, listing)
    assert scenario.file_id not in replayed_ids


@pytest.mark.threat("T-08")
def test_admin_route_is_403_for_users_and_recipients(api: Api, scenario: Scenario) -> None:
    for caller in (scenario.owner, scenario.recipient, scenario.stranger):
        for params in ({}, {"limit": 100}, {"cursor": "x"}):
            response = api.client.get("/admin/users", params=params, headers=caller.headers)
            assert response.status_code == 403, response.text
            assert response.json() == {"detail": "Forbidden"}


@pytest.mark.threat("T-08")
def test_role_cannot_be_granted_through_the_api(api: Api, scenario: Scenario) -> None:
    """No route writes a role: the only way to an admin is the operator CLI."""
    client = api.client
    attempts = (
        ("POST", "/users/me", {"role": "admin"}),
        ("PATCH", "/users/me", {"role": "admin"}),
        ("PUT", "/users/me", {"role": "admin"}),
        ("POST", "/admin/users", {"username": scenario.stranger.username, "role": "admin"}),
        ("PATCH", "/admin/users", {"username": scenario.stranger.username, "role": "admin"}),
    )
    for method, path, body in attempts:
        response = client.request(method, path, json=body, headers=scenario.stranger.headers)
        assert response.status_code in {403, 405}, (method, path, response.status_code)
    assert client.get("/users/me", headers=scenario.stranger.headers).json()["role"] == "user"
    assert client.get("/admin/users", headers=scenario.stranger.headers).status_code == 403


@pytest.mark.inprocess
@pytest.mark.threat("T-08")
def test_admin_role_grants_no_access_to_other_users_files(api: Api, scenario: Scenario, app: FastAPI) -> None:
    """Least privilege: the admin role lists accounts; it does not read, share or delete their files."""
    app_context(app).store.users.set_role(scenario.stranger.id, "admin")
    assert api.client.get("/admin/users", headers=scenario.stranger.headers).status_code == 200
    before = snapshot(api, scenario.owner, scenario.file_id)
    for route in ROUTES:
        response = send(api, route, scenario, scenario.stranger, "stranger")
        assert response.status_code == 403, (route.name, response.text)
    assert snapshot(api, scenario.owner, scenario.file_id) == before


@pytest.mark.inprocess
@pytest.mark.threat("T-07")
@pytest.mark.threat("T-08")
@pytest.mark.parametrize("api", EVENT_FORMATS, indirect=True)
def test_every_refusal_holds_through_each_lambda_event_format(api: Api, scenario: Scenario) -> None:
    before = snapshot(api, scenario.owner, scenario.file_id)
    for route in ROUTES:
        for role in ("stranger", "recipient"):
            expected = 200 if route.reads and role == "recipient" else 403
            response = send(api, route, scenario, scenario.attacker(role), role)
            assert response.status_code == expected, (route.name, role, response.text)
    assert api.client.get("/admin/users", headers=scenario.owner.headers).status_code == 403
    assert snapshot(api, scenario.owner, scenario.file_id) == before


@pytest.mark.inprocess
@pytest.mark.threat("T-07")
def test_refused_attempts_leave_the_store_untouched(api: Api, scenario: Scenario, app: FastAPI) -> None:
    """The same invariant seen from the store, below the API: record, blob and shares."""
    store = app_context(app).store
    record = store.files.get(scenario.file_id)
    assert record is not None
    key = f"{record.owner_id}/{record.id}"
    shares_before = store.shares.list_for_file(record.id)
    for route in ROUTES:
        send(api, route, scenario, scenario.stranger, "stranger")
        if not route.reads:
            send(api, route, scenario, scenario.recipient, "recipient")
    assert store.files.get(scenario.file_id) == record
    assert b"".join(store.blobs.open(key)) == CONTENT
    assert store.shares.list_for_file(record.id) == shares_before
    assert not store.shares.exists(record.id, scenario.stranger.id)
