"""A token stops working the moment its user says so: logout revokes that token (by jti), a password
change invalidates every older token, and a deleted user's tokens die with the account."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI

from app.api.deps import app_context
from app.config import Settings
from app.services import accounts
from app.store.base import Store
from tests.support.api import PASSWORD, Api, Session
from tests.support.apps import VIAS, client_for, make_app
from tests.support.paths import REPO_ROOT

# The contract holds on either store: each test runs on SQLite + a folder and on DynamoDB + S3.
pytestmark = pytest.mark.both_stores

NEW_PASSWORD = "a different long passphrase"


def status(api: Api, token: str, path: str = "/users/me") -> int:
    return api.client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


def change_password(api: Api, session: Session, current: str, new: str) -> httpx2.Response:
    return api.client.post(
        "/users/me/password",
        headers=session.headers,
        json={"current_password": current, "new_password": new},
    )


# -- logout ---------------------------------------------------------------------------------------------


@pytest.mark.threat("T-06")
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_logout_revokes_that_token_only(api: Api) -> None:
    user = api.register()
    second = api.login(user.username, user.password)
    file_id = api.upload(user)["id"]

    response = api.client.post("/auth/logout", headers=user.headers)
    assert response.status_code == 204

    for path in ("/users/me", "/files", "/shares", f"/files/{file_id}"):
        assert status(api, user.token, path) == 401, path
    assert api.client.post("/auth/logout", headers=user.headers).status_code == 401
    # The same user's other session (another jti) is untouched, as is a fresh login.
    assert status(api, second) == 200
    assert status(api, api.login(user.username, user.password), f"/files/{file_id}") == 200


@pytest.mark.threat("T-06")
def test_logout_of_one_user_does_not_touch_another(api: Api) -> None:
    alice, bob = api.register(), api.register()
    assert api.client.post("/auth/logout", headers=alice.headers).status_code == 204
    assert status(api, alice.token) == 401
    assert status(api, bob.token) == 200


@pytest.mark.threat("T-06")
def test_logout_without_a_valid_token_is_401(api: Api) -> None:
    user = api.register()
    assert api.client.post("/auth/logout").status_code == 401
    assert api.client.post("/auth/logout", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    assert status(api, user.token) == 200


@pytest.mark.threat("T-06")
@pytest.mark.inprocess
def test_revocation_survives_a_restart(api: Api, settings: Settings) -> None:
    """A new Lambda execution environment (a new app on the same store) still refuses the token."""
    user = api.register()
    assert api.client.post("/auth/logout", headers=user.headers).status_code == 204
    with client_for(make_app(settings), "asgi") as client:
        assert client.get("/users/me", headers=user.headers).status_code == 401
        fresh = api.login(user.username, user.password)
        assert client.get("/users/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


# -- password change ------------------------------------------------------------------------------------


@pytest.mark.threat("T-06")
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_password_change_invalidates_every_older_token(api: Api) -> None:
    user, bystander = api.register(), api.register()
    other_session = api.login(user.username, user.password)

    response = change_password(api, user, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 204

    assert status(api, user.token) == 401
    assert status(api, other_session) == 401
    assert status(api, bystander.token) == 200
    refused = api.client.post("/auth/token", data={"username": user.username, "password": PASSWORD})
    assert refused.status_code == 401
    assert status(api, api.login(user.username, NEW_PASSWORD)) == 200


@pytest.mark.threat("T-06")
def test_password_change_with_the_wrong_current_password_is_403_and_changes_nothing(api: Api) -> None:
    user = api.register()
    response = change_password(api, user, "not the current password", NEW_PASSWORD)
    assert response.status_code == 403
    assert status(api, user.token) == 200
    api.login(user.username, PASSWORD)
    refused = api.client.post("/auth/token", data={"username": user.username, "password": NEW_PASSWORD})
    assert refused.status_code == 401


@pytest.mark.threat("T-06")
@pytest.mark.parametrize(
    "body",
    [
        {"current_password": PASSWORD, "new_password": "short"},
        {"current_password": PASSWORD, "new_password": ""},
        {"current_password": PASSWORD, "new_password": "x" * 1025},
        {"current_password": PASSWORD},
        {"new_password": NEW_PASSWORD},
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "admin"},
    ],
    ids=["short", "empty", "too-long", "no-new", "no-current", "extra-field"],
)
def test_password_change_with_an_invalid_body_is_422_and_changes_nothing(
    api: Api, body: dict[str, str]
) -> None:
    user = api.register()
    response = api.client.post("/users/me/password", headers=user.headers, json=body)
    assert response.status_code == 422
    assert PASSWORD not in response.text
    assert status(api, user.token) == 200
    api.login(user.username, PASSWORD)
    assert api.client.get("/users/me", headers=user.headers).json()["role"] == "user"


@pytest.mark.threat("T-06")
def test_password_change_needs_a_valid_token(api: Api) -> None:
    user = api.register()
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert api.client.post("/users/me/password", json=body).status_code == 401
    assert status(api, user.token) == 200
    api.login(user.username, PASSWORD)


# -- deleted users --------------------------------------------------------------------------------------


def _store(app: FastAPI) -> Store:
    store: Store = app_context(app).store
    return store


@pytest.mark.threat("T-06")
@pytest.mark.inprocess
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_deleted_users_tokens_are_401(api: Api, app: FastAPI) -> None:
    user, recipient = api.register(), api.register()
    file_id = api.upload(user)["id"]
    api.share(user, file_id, recipient)
    other_session = api.login(user.username, user.password)
    store = _store(app)

    record = store.users.get(user.id)
    assert record is not None
    accounts.delete_account(app_context(app), username=record.username)

    for token in (user.token, other_session):
        for path in ("/users/me", "/files", f"/files/{file_id}"):
            assert status(api, token, path) == 401, path
    assert status(api, recipient.token, f"/files/{file_id}") == 404
    assert status(api, recipient.token) == 200


@pytest.mark.threat("T-06")
@pytest.mark.inprocess
def test_reregistered_username_does_not_revive_old_tokens(api: Api, app: FastAPI) -> None:
    user = api.register()
    record = _store(app).users.get(user.id)
    assert record is not None
    accounts.delete_account(app_context(app), username=record.username)
    newcomer = api.register(user.username)
    assert newcomer.id != user.id
    assert status(api, user.token) == 401
    assert status(api, newcomer.token) == 200


# The CLI tests give the command the embedded store's environment: they run on that store only.
LOCAL_STORE_ONLY = pytest.mark.parametrize("backend", ["local"])


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    assert settings.jwt_secret is not None
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}},
        "APP_MODE": "local",
        "DATA_DIR": str(settings.data_dir),
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "PYTHONPATH": str(REPO_ROOT / "backend"),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.threat("T-06")
@pytest.mark.inprocess
@pytest.mark.slow
@LOCAL_STORE_ONLY
def test_cli_delete_user_kills_their_tokens(api: Api, settings: Settings) -> None:
    user, bystander = api.register(), api.register()
    file_id = api.upload(user)["id"]

    result = _cli(settings, "delete-user", user.username)
    assert result.returncode == 0, result.stderr
    assert status(api, user.token) == 401
    assert status(api, bystander.token) == 200
    refused = api.client.post("/auth/token", data={"username": user.username, "password": PASSWORD})
    assert refused.status_code == 401
    # Nothing of theirs is left behind in the store's folder.
    assert not any(file_id in path.name for path in Path(settings.data_dir).rglob("*"))
    assert _cli(settings, "delete-user", user.username).returncode == 1


@pytest.mark.threat("T-08")
@pytest.mark.inprocess
@pytest.mark.slow
@LOCAL_STORE_ONLY
def test_cli_make_admin_grants_the_admin_routes(api: Api, settings: Settings) -> None:
    user = api.register()
    assert status(api, user.token, "/admin/users") == 403

    result = _cli(settings, "make-admin", user.username)
    assert result.returncode == 0, result.stderr
    # The role is read per request, so the existing token carries the new role at once.
    listed = api.client.get("/admin/users", headers=user.headers)
    assert listed.status_code == 200
    assert user.username in {item["username"] for item in listed.json()["items"]}
    assert "password_hash" not in listed.text

    assert _cli(settings, "revoke-admin", user.username).returncode == 0
    assert status(api, user.token, "/admin/users") == 403
    assert _cli(settings, "make-admin", "no_such_user").returncode == 1
