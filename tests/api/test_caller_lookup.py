"""Who is calling is one read per authenticated request: the user and the token's revocation together
(one SQLite query, one DynamoDB BatchGetItem), on both stores, with the same answers as the two
separate reads it replaces."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app.api.deps import app_context
from app.config import Settings
from tests.support.api import PASSWORD
from tests.support.apps import client_for, make_app
from tests.support.moto import default_session_hook

BOTH_STORES = pytest.mark.parametrize("backend", ["local", "aws"])


@BOTH_STORES
def test_the_caller_lookup_answers_as_the_user_and_revocation_reads_do(settings: Settings) -> None:
    app = make_app(settings)
    with client_for(app, "asgi") as client:
        client.post("/auth/register", json={"username": "caller_one", "password": PASSWORD})
    store = app_context(app).store
    user = store.users.get_by_username("caller_one")
    assert user is not None
    token_id = uuid.uuid4().hex
    assert store.callers.caller(user.id, token_id) == (user, False)
    store.revocations.revoke(token_id, expires_at=2_000_000_000)
    assert store.callers.caller(user.id, token_id) == (user, True)
    assert store.callers.caller(str(uuid.uuid4()), token_id)[0] is None
    assert store.callers.caller(str(uuid.uuid4()), uuid.uuid4().hex) == (None, False)


def test_an_authenticated_request_makes_one_dynamodb_call(
    make_aws_settings: Callable[..., Settings],
) -> None:
    calls: list[str] = []

    def record(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    with default_session_hook("before-call.dynamodb", record):
        app = make_app(make_aws_settings())
        with client_for(app, "asgi") as client:
            registered = client.post("/auth/register", json={"username": "caller_two", "password": PASSWORD})
            assert registered.status_code == 201, registered.text
            token = client.post("/auth/token", data={"username": "caller_two", "password": PASSWORD}).json()[
                "access_token"
            ]
            calls.clear()
            me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert calls == ["BatchGetItem"]
