"""The route table: public routes are an explicit allowlist, everything else sits behind authentication
attached at the router. `assert_route_policies` makes an unprotected route a start-up error."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.api import admin, auth, files, health, shares, users
from app.api.deps import current_principal
from app.models import ErrorOut

PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("POST", "/auth/register"),
        ("POST", "/auth/token"),
    }
)


def include_routes(app: FastAPI) -> None:
    """Public routers as they are; every other router gets the authentication dependency at include
    time. Each router is included once, directly: nested includes rebuild every route per level,
    which a Lambda cold start pays for."""
    app.include_router(health.router)
    app.include_router(auth.public_router)
    for module in (auth, users, files, shares, admin):
        app.include_router(
            module.router,
            dependencies=[Depends(current_principal)],
            responses={401: {"model": ErrorOut}, 503: {"model": ErrorOut}},
        )


def _depends_on(dependant: Dependant, target: object) -> bool:
    return any(dep.call is target or _depends_on(dep, target) for dep in dependant.dependencies)


def route_policies(routes: Iterable[object]) -> list[tuple[str, str, str]]:
    """(method, path, "public" | "authenticated" | "unprotected") for every API route."""
    policies = []
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        protected = _depends_on(route.dependant, current_principal)
        for method in sorted(route.methods or ()):
            if (method, route.path) in PUBLIC_ROUTES:
                policy = "public"
            else:
                policy = "authenticated" if protected else "unprotected"
            policies.append((method, route.path, policy))
    return policies


def assert_route_policies(app: FastAPI) -> None:
    unprotected = [f"{m} {p}" for m, p, policy in route_policies(app.routes) if policy == "unprotected"]
    if unprotected:
        raise RuntimeError(f"routes without an auth policy: {', '.join(unprotected)}")
