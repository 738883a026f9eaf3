"""Request dependencies. Authentication is attached once, at the protected router; the file
dependencies chain on it, so a handler never sees a file its caller may not touch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer

from app.context import Services
from app.security.tokens import AccessClaims, InvalidTokenError
from app.store.base import FileRecord, User

# auto_error=False: a missing token must be our 401 with WWW-Authenticate, not FastAPI's default.
_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


# Why most dependencies and routes are `async def` although the store is blocking: on Lambda an
# execution environment serves one request at a time, and Mangum runs each invocation as a new root
# task, so anyio cannot keep worker threads between invocations: every `def` dependency or route
# would start a fresh thread (measured: ~10x the whole cost of an authenticated GET, see bench/).
# Short store calls therefore run inline; only Argon2 hashing and blob transfers, which take far
# longer than a thread start, stay `def` and run in the thread pool.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Principal:
    user: User
    claims: AccessClaims


def unauthorized() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Not authenticated",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden() -> HTTPException:
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Forbidden")


def not_found() -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Not found")


async def current_principal(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    """401 for anything but a genuine, unrevoked token of an existing user; KeyUnavailableError -> 503."""
    if token is None:
        raise unauthorized()
    services: Services = request.app.state.services
    try:
        claims = services.tokens.verify(token)
    except InvalidTokenError:
        raise unauthorized() from None
    user = services.store.users.get(claims.user_id)
    if user is None or user.token_version != claims.token_version:
        raise unauthorized()
    if services.store.revocations.is_revoked(claims.token_id):
        raise unauthorized()
    return Principal(user=user, claims=claims)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    if principal.user.role != "admin":
        raise forbidden()
    return principal


FileId = Annotated[UUID, Path(description="The file's id")]


def _existing_file(services: Services, file_id: UUID) -> FileRecord:
    record = services.store.files.get(str(file_id))
    if record is None:
        raise not_found()
    return record


async def readable_file(file_id: FileId, principal: CurrentPrincipal, services: ServicesDep) -> FileRecord:
    record = _existing_file(services, file_id)
    if record.owner_id != principal.user.id and not services.store.shares.exists(
        record.id, principal.user.id
    ):
        raise forbidden()
    return record


async def owned_file(file_id: FileId, principal: CurrentPrincipal, services: ServicesDep) -> FileRecord:
    record = _existing_file(services, file_id)
    if record.owner_id != principal.user.id:
        raise forbidden()
    return record


ReadableFile = Annotated[FileRecord, Depends(readable_file)]
OwnedFile = Annotated[FileRecord, Depends(owned_file)]


async def page_limit(limit: int = 20) -> int:
    """Clamp rather than reject: a client asking for a million rows gets the maximum page."""
    return max(1, min(limit, 100))


PageLimit = Annotated[int, Depends(page_limit)]
# Opaque: the store decodes it and answers 422 for anything it did not issue.
PageCursor = Annotated[str | None, Query(max_length=512)]
