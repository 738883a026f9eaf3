"""The route table: public routes are an explicit allowlist, everything else sits behind authentication
attached at the router. `assert_route_policies` makes an unprotected route a start-up error."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Depends, FastAPI, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from app.api import admin, auth, files, health, shares, users
from app.api.deps import bearer_scheme, current_principal
from app.api.errors import documented
from app.exceptions import NotAuthenticatedError, StoreUnavailableError

PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("POST", "/auth/register"),
        ("POST", "/auth/token"),
    }
)
# FastAPI's schema and the interactive docs (app/api/docs.py): public, and mounted only where docs are
# enabled, never in production. Each docs asset is its own path, so this names every file a browser may get.
DOCS_ROUTES: frozenset[tuple[str, str]] = frozenset(
    (method, path)
    for method in ("GET", "HEAD")
    for path in (
        "/openapi.json",
        "/docs",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon-32x32.png",
    )
)


def include_routes(app: FastAPI, *, docs: bool = False) -> None:
    """Public routers as they are; every other router gets the authentication dependency at include
    time. Each router is included once, directly: nested includes rebuild every route per level,
    which a Lambda cold start pays for. With `docs`, the protected routes also name the bearer scheme,
    for the schema; it authenticates nothing (current_principal does, either way)."""
    app.include_router(health.router)
    app.include_router(auth.public_router)
    documented_scheme = [Security(bearer_scheme)] if docs else []
    for module in (auth, users, files, shares, admin):
        app.include_router(
            module.router,
            dependencies=[Depends(current_principal), *documented_scheme],
            responses=documented(NotAuthenticatedError, StoreUnavailableError),
        )


def _depends_on(dependant: Dependant, target: object) -> bool:
    return any(dep.call is target or _depends_on(dep, target) for dep in dependant.dependencies)


def route_policies(routes: Sequence[BaseRoute]) -> list[tuple[str, str, str]]:
    """(method, path, "public" | "docs" | "authenticated" | "unprotected") for every route, including those of
    included routers (FastAPI keeps them lazily, so `app.routes` alone does not list them). A route that
    is not an API route bypasses FastAPI's dependencies, so it is unprotected unless allowlisted."""
    policies = []
    for context in iter_route_contexts(routes):
        original, path = context.original_route, context.path
        # The effective dependant carries the dependencies added when the router was included.
        dependant = context.dependant if isinstance(original, APIRoute) else None
        protected = dependant is not None and _depends_on(dependant, current_principal)
        for method in sorted(context.methods or {"*"}):
            if (method, path) in PUBLIC_ROUTES:
                policy = "public"
            elif (method, path) in DOCS_ROUTES:
                policy = "docs"
            else:
                policy = "authenticated" if protected else "unprotected"
            policies.append((method, str(path), policy))
    return policies


def assert_route_policies(app: FastAPI) -> None:
    unprotected = [f"{m} {p}" for m, p, policy in route_policies(app.routes) if policy == "unprotected"]
    if unprotected:
        raise RuntimeError(f"routes without an auth policy: {', '.join(unprotected)}")
