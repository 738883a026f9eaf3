"""Registration rules and the login endpoint's behaviour for right, wrong and unknown credentials."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.security.passwords import Passwords
from tests.support.api import PASSWORD, Api
from tests.support.apps import client_for, fast_hasher, make_app

# The contract holds on either store: each test runs on SQLite + a folder and on DynamoDB + S3.
pytestmark = pytest.mark.both_stores


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 33, "Alice", "alice smith", "alice/../x", "al!ce", "ålice", "", "alice\n"],
)
def test_register_rejects_invalid_usernames(api: Api, username: str) -> None:
    response = api.client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 422


@pytest.mark.parametrize("username", ["abc", "a" * 32, "alice.smith-2_x"])
def test_register_accepts_valid_usernames(api: Api, username: str) -> None:
    username = f"{username[:21]}{api.unique_username('')}"[:32] if len(username) > 3 else username
    response = api.client.post("/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "username": username}


@pytest.mark.parametrize("password", ["", "Zq9", "Kx7#mPq2Lw9"])
def test_register_rejects_short_passwords(api: Api, password: str) -> None:
    response = api.client.post(
        "/auth/register", json={"username": api.unique_username(), "password": password}
    )
    assert response.status_code == 422
    # The offending input is never echoed back (it may be someone's real password).
    assert not password or password not in response.text


def test_register_twice_is_409(api: Api) -> None:
    session = api.register()
    again = api.client.post("/auth/register", json={"username": session.username, "password": PASSWORD})
    assert again.status_code == 409


def test_token_response_shape(api: Api) -> None:
    session = api.register()
    response = api.client.post(
        "/auth/token", data={"username": session.username, "password": session.password}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900


@pytest.mark.threat("T-19")
def test_wrong_password_and_unknown_user_get_the_same_401(api: Api) -> None:
    session = api.register()
    wrong = api.client.post("/auth/token", data={"username": session.username, "password": "x" * 20})
    unknown = api.client.post("/auth/token", data={"username": api.unique_username(), "password": "x" * 20})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Incorrect username or password"}
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"


@pytest.mark.inprocess
@pytest.mark.threat("T-19")
def test_unknown_user_costs_one_argon2_verification_like_a_wrong_password(settings: Settings) -> None:
    """Comparable time, shown without timing: both paths run exactly one Argon2 verification against a
    hash with the same parameters, so they cost the same work."""
    verified: list[str] = []
    real = fast_hasher()

    class CountingHasher:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, hash: str, password: str) -> bool:
            verified.append(hash)
            return real.verify(hash, password)

    with client_for(make_app(settings, passwords=Passwords(CountingHasher())), "asgi") as client:
        api = Api(client)
        session = api.register()
        verified.clear()  # registering logs in once
        api.client.post("/auth/token", data={"username": session.username, "password": "x" * 20})
        api.client.post("/auth/token", data={"username": api.unique_username(), "password": "x" * 20})
    assert len(verified) == 2
    known_params, dummy_params = (hash.split("$")[3] for hash in verified)
    assert known_params == dummy_params
    assert verified[0] != verified[1]
