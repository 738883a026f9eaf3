"""Authentication is one dependency per request: current_principal reads the bearer header itself.
The OAuth2 bearer scheme is only named for the schema, where docs are served; either way the header
is read the same (scheme in any case, anything else is no token: 401 with WWW-Authenticate)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase

from app.api.deps import current_principal
from app.config import Settings
from app.factory import create_app
from tests.support.api import Api


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _dependencies_of(settings: Settings, method: str, path: str) -> list[object]:
    app = create_app(settings)
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path == path and method in (context.methods or ()):
            return list(_calls(context.dependant))
    raise AssertionError(f"no route {method} {path}")


@pytest.mark.inprocess
def test_production_resolves_current_principal_alone_for_an_authenticated_route(
    make_settings: Callable[..., Settings],
) -> None:
    calls = _dependencies_of(make_settings(environment="production"), "GET", "/users/me")
    assert calls == [current_principal, current_principal]  # the router's, and the handler's (cached)
    assert not any(isinstance(call, SecurityBase) for call in calls)


@pytest.mark.inprocess
def test_the_docs_still_show_the_bearer_scheme_on_every_protected_route(
    make_settings: Callable[..., Settings],
) -> None:
    schema = create_app(make_settings(environment="development")).openapi()
    schemes = schema["components"]["securitySchemes"]
    assert [scheme["type"] for scheme in schemes.values()] == ["oauth2"]
    assert schema["paths"]["/users/me"]["get"]["security"] == [{name: []} for name in schemes]
    assert "security" not in schema["paths"]["/health"]["get"]


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        ("Bearer {token}", 200),
        ("bearer {token}", 200),
        ("BEARER   {token}  ", 200),
        ("Basic {token}", 401),
        ("{token}", 401),
        ("Bearer", 401),
        ("", 401),
    ],
)
def test_the_bearer_header_is_read_as_fastapis_oauth2_scheme_reads_it(
    api: Api, authorization: str, status: int
) -> None:
    user = api.register()
    response = api.client.get("/users/me", headers={"Authorization": authorization.format(token=user.token)})
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
