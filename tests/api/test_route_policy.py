"""Every route declares its policy (T-23). A route is either in the public allowlist or protected by
the authentication dependency; `assert_route_policies` refuses to start an app with any other route, and
this module fails the suite for one.

`ROUTES` below is the status policy of every protected route. A route added to the app without an entry
here fails `test_every_protected_route_has_a_status_policy`, and every entry drives a matrix of callers:
no token, a malformed token, an expired token, another user's token, a share recipient's token and, for
admin routes, a plain user's token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.api.deps import ReadableFile, app_context, require_admin
from app.api.route_table import DOCS_ROUTES, PUBLIC_ROUTES, assert_route_policies, route_policies
from app.config import Settings
from app.factory import create_app
from app.security.tokens import TokenService
from app.store.base import Store
from tests.support.api import PASSWORD, Api, Session

Scope = Literal["self", "readable", "owned", "admin"]


@dataclass(frozen=True)
class Policy:
    """`self`: acts on the caller's own account, so any valid token succeeds (on its own data).
    `readable`: the file's owner or a recipient. `owned`: the owner only. `admin`: the admin role."""

    scope: Scope
    ok: int


ROUTES: dict[tuple[str, str], Policy] = {
    ("POST", "/auth/logout"): Policy("self", 204),
    ("GET", "/users/me"): Policy("self", 200),
    ("POST", "/users/me/password"): Policy("self", 204),
    ("POST", "/files"): Policy("self", 201),
    ("GET", "/files"): Policy("self", 200),
    ("GET", "/shares"): Policy("self", 200),
    ("GET", "/files/{file_id}"): Policy("readable", 200),
    ("GET", "/files/{file_id}/content"): Policy("readable", 200),
    ("DELETE", "/files/{file_id}"): Policy("owned", 204),
    ("POST", "/files/{file_id}/shares"): Policy("owned", 201),
    ("GET", "/files/{file_id}/shares"): Policy("owned", 200),
    ("DELETE", "/files/{file_id}/shares/{username}"): Policy("owned", 204),
    ("GET", "/admin/users"): Policy("admin", 200),
}


def _params(keep: Callable[[tuple[str, str], Policy], bool] = lambda route, policy: True) -> list[Any]:
    return [
        pytest.param(route, id=f"{route[0]} {route[1]}")
        for route, policy in ROUTES.items()
        if keep(route, policy)
    ]


MATRIX = _params()
ADMIN_MATRIX = _params(lambda route, policy: policy.scope == "admin")
FILE_MATRIX = _params(lambda route, policy: "{file_id}" in route[1])

FILE_CONTENT = b"the owner's file\n"
Caller = Literal["owner", "stranger", "recipient"]


def expected_for(policy: Policy, caller: Caller) -> int:
    if caller == "owner" or policy.scope == "self":
        return policy.ok
    if policy.scope == "readable" and caller == "recipient":
        return policy.ok
    return 403


# -- the allowlist and the start-up check -------------------------------------------------------------


@pytest.mark.threat("T-23")
@pytest.mark.inprocess
@pytest.mark.parametrize("environment", ["development", "production"])
def test_every_route_is_public_by_allowlist_or_protected(
    make_settings: Callable[..., Settings], environment: str
) -> None:
    app = create_app(make_settings(environment=environment))
    policies = route_policies(app.routes)
    assert [f"{m} {p}" for m, p, policy in policies if policy == "unprotected"] == []
    assert {(m, p) for m, p, policy in policies if policy == "public"} == PUBLIC_ROUTES
    # The docs are public exactly where they are enabled, and the allowlist names no route that is not there.
    docs = {(m, p) for m, p, policy in policies if policy == "docs"}
    assert docs == (set() if environment == "production" else DOCS_ROUTES)
    # Included routers are lazy in FastAPI: app.routes alone does not list their routes.
    contexts = list(iter_route_contexts(app.routes))
    api_routes = {
        (m, c.path) for c in contexts if isinstance(c.original_route, APIRoute) for m in c.methods or ()
    }
    assert api_routes == {(m, p) for m, p, policy in policies if policy != "docs"}
    assert api_routes >= set(ROUTES) | PUBLIC_ROUTES
    # Anything that is not an API route bypasses FastAPI's dependencies: only the docs may.
    others = [c.original_route for c in contexts if not isinstance(c.original_route, APIRoute)]
    assert all(type(route) is Route for route in others), others
    served = {(m, route.path) for route in others if isinstance(route, Route) for m in route.methods or ()}
    assert served == docs


@pytest.mark.threat("T-23")
@pytest.mark.inprocess
def test_a_docs_path_allows_only_its_methods(app: FastAPI) -> None:
    """The docs allowlist is by (method, path) too: another method on a docs path is unprotected."""

    async def upload(request: object) -> PlainTextResponse:
        return PlainTextResponse("no auth here")

    assert_route_policies(app)
    app.add_route("/docs", upload, methods=["POST"])
    with pytest.raises(RuntimeError, match="POST /docs"):
        assert_route_policies(app)


@pytest.mark.threat("T-23")
@pytest.mark.inprocess
def test_every_protected_route_has_a_status_policy(app: FastAPI) -> None:
    protected = {(m, p) for m, p, policy in route_policies(app.routes) if policy == "authenticated"}
    assert protected == set(ROUTES), "declare the new route's policy in ROUTES (test_route_policy.py)"


def _leak() -> dict[str, str]:
    return {"secret": "everyone can read this"}


def _guarded(record: ReadableFile) -> dict[str, str]:
    return {"id": record.id}


@pytest.mark.threat("T-23")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    "add_route",
    [
        pytest.param(lambda app: app.add_api_route("/leak", _leak), id="add_api_route"),
        pytest.param(
            lambda app: app.add_api_route("/health", _leak, methods=["PUT"]), id="public-path-other-method"
        ),
        pytest.param(
            lambda app: app.add_api_route("/auth/token", _leak, methods=["GET"]), id="public-path-get"
        ),
        pytest.param(
            lambda app: app.include_router(_router_with_leak(), prefix="/files"),
            id="include_router-under-files",
        ),
    ],
)
def test_adding_an_unprotected_route_fails_the_start_up_check(
    app: FastAPI, add_route: Callable[[FastAPI], None]
) -> None:
    assert_route_policies(app)
    add_route(app)
    with pytest.raises(RuntimeError, match="routes without an auth policy"):
        assert_route_policies(app)


def _router_with_leak() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/export", _leak)
    return router


@pytest.mark.threat("T-23")
@pytest.mark.inprocess
def test_adding_a_plain_starlette_route_fails_the_suite(app: FastAPI) -> None:
    """A Starlette route bypasses FastAPI's dependencies entirely, so no auth policy can apply to it."""

    async def raw(request: object) -> PlainTextResponse:
        return PlainTextResponse("no auth here")

    app.add_route("/raw", raw)
    with pytest.raises(RuntimeError, match="/raw"):
        assert_route_policies(app)


@pytest.mark.threat("T-23")
@pytest.mark.inprocess
def test_routes_protected_through_chained_dependencies_pass_the_start_up_check(app: FastAPI) -> None:
    """require_admin and the file dependencies depend on the authentication dependency themselves."""
    app.add_api_route("/extra/admin", _leak, dependencies=[Depends(require_admin)])
    app.add_api_route("/extra/{file_id}", _guarded)
    assert_route_policies(app)
    policies = {(m, p): policy for m, p, policy in route_policies(app.routes)}
    assert policies[("GET", "/extra/admin")] == policies[("GET", "/extra/{file_id}")] == "authenticated"


# -- the matrix -------------------------------------------------------------------------------------


@dataclass
class World:
    owner: Session
    stranger: Session
    recipient: Session
    third: Session
    file_id: str


@pytest.fixture
def world(api: Api) -> World:
    owner, stranger, recipient, third = (api.register() for _ in range(4))
    file_id = api.upload(owner, FILE_CONTENT)["id"]
    api.share(owner, file_id, recipient)
    return World(owner, stranger, recipient, third, file_id)


def send(api: Api, world: World, route: tuple[str, str], token: str | None, **path: str) -> httpx2.Response:
    """The route with real path parameters and a valid body, so the status reflects auth only."""
    method, template = route
    url = template.format(**{"file_id": world.file_id, "username": world.recipient.username, **path})
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"} if token is not None else {}}
    if route == ("POST", "/files"):
        kwargs["files"] = {"file": ("matrix.txt", b"matrix upload\n", "text/plain")}
    elif route == ("POST", "/files/{file_id}/shares"):
        kwargs["json"] = {"username": world.third.username}
    elif route == ("POST", "/users/me/password"):
        kwargs["json"] = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    return api.client.request(method, url, **kwargs)


def assert_401(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not authenticated"}


def assert_untouched(api: Api, world: World) -> None:
    """The owner's file and its share survived whatever the refused caller tried."""
    owner = world.owner.headers
    assert api.client.get(f"/files/{world.file_id}/content", headers=owner).content == FILE_CONTENT
    shares = api.client.get(f"/files/{world.file_id}/shares", headers=owner)
    assert shares.status_code == 200
    assert [item["username"] for item in shares.json()["items"]] == [world.recipient.username]


@pytest.mark.threat("T-01")
@pytest.mark.parametrize("route", MATRIX)
def test_protected_route_without_a_token_is_401(api: Api, world: World, route: tuple[str, str]) -> None:
    assert_401(send(api, world, route, None))
    assert_untouched(api, world)


@pytest.mark.threat("T-01")
@pytest.mark.parametrize("route", MATRIX)
def test_protected_route_with_a_malformed_token_is_401(
    api: Api, world: World, route: tuple[str, str]
) -> None:
    truncated = world.owner.token[:-3]
    for token in ("not-a-jwt", truncated, f"{world.owner.token}x", "null"):
        assert_401(send(api, world, route, token))
    assert_untouched(api, world)


def expired_token(app: FastAPI, session: Session) -> str:
    tokens: TokenService = app_context(app).tokens
    key = tokens.keys.current()
    claims = jwt.decode(session.token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    return jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid})


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize("route", MATRIX)
def test_protected_route_with_an_expired_token_is_401(
    api: Api, app: FastAPI, world: World, route: tuple[str, str]
) -> None:
    assert_401(send(api, world, route, expired_token(app, world.owner)))
    assert_untouched(api, world)


@pytest.mark.threat("T-07")
@pytest.mark.parametrize("route", MATRIX)
def test_protected_route_with_another_users_token(api: Api, world: World, route: tuple[str, str]) -> None:
    policy = ROUTES[route]
    response = send(api, world, route, world.stranger.token)
    assert response.status_code == expected_for(policy, "stranger"), response.text
    if policy.scope == "self" and route[0] == "GET":
        # Their own data, and nothing of the owner's.
        assert world.owner.username not in response.text
        assert world.file_id not in response.text
    assert_untouched(api, world)


@pytest.mark.threat("T-08")
@pytest.mark.parametrize("route", MATRIX)
def test_protected_route_with_a_share_recipients_token(
    api: Api, world: World, route: tuple[str, str]
) -> None:
    policy = ROUTES[route]
    response = send(api, world, route, world.recipient.token)
    assert response.status_code == expected_for(policy, "recipient"), response.text
    assert_untouched(api, world)


@pytest.mark.threat("T-08")
@pytest.mark.parametrize("route", ADMIN_MATRIX)
def test_admin_route_with_a_user_token_is_403(api: Api, world: World, route: tuple[str, str]) -> None:
    for session in (world.owner, world.stranger, world.recipient):
        response = send(api, world, route, session.token)
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": "Forbidden"}


@pytest.mark.threat("T-07")
@pytest.mark.parametrize("route", FILE_MATRIX)
def test_file_route_with_an_unknown_id_is_404(api: Api, world: World, route: tuple[str, str]) -> None:
    response = send(api, world, route, world.owner.token, file_id=str(uuid.uuid4()))
    assert response.status_code == 404, response.text
    assert_untouched(api, world)


def _make_admin(app: FastAPI, session: Session) -> None:
    store: Store = app_context(app).store
    store.users.set_role(session.id, "admin")


@pytest.mark.threat("T-23")
@pytest.mark.inprocess
@pytest.mark.parametrize("route", MATRIX)
def test_protected_route_succeeds_for_the_right_caller(
    api: Api, app: FastAPI, world: World, route: tuple[str, str]
) -> None:
    """The positive control: with a valid token of the right caller the same request succeeds, so the
    refusals above come from the policy, not from a broken request."""
    _make_admin(app, world.owner)
    response = send(api, world, route, world.owner.token)
    assert response.status_code == ROUTES[route].ok, response.text
