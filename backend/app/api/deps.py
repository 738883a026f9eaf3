"""Request dependencies. Authentication is attached once, at the protected router; the file
dependencies chain on it, so a handler never sees a file its caller may not touch. The rules
themselves are services (app/services/); these only read the request."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.applications import Starlette

from app.context import AppContext
from app.records import FileRecord
from app.services import accounts, files
from app.services.accounts import Principal

# The API's security scheme as the docs show it (the Authorize button): the route table adds it to the
# protected routes only where docs are served. Production never resolves it: current_principal reads
# the header itself, as this does with auto_error=False (a missing token must be our 401 with
# WWW-Authenticate), which spares every authenticated request two dependency resolutions.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def bearer_token(request: Request) -> str | None:
    """The credentials of an `Authorization: Bearer <token>` header (scheme in any case), else None."""
    authorization = request.headers.get("Authorization")
    scheme, param = get_authorization_scheme_param(authorization)
    if not authorization or scheme.lower() != "bearer":
        return None
    return param


def attach_context(app: Starlette, context: AppContext) -> None:
    app.state.context = context


def app_context(app: Starlette) -> AppContext:
    """The app's context, typed: the only read of `app.state`."""
    context = app.state.context
    assert isinstance(context, AppContext)
    return context


# Why most dependencies and routes are `async def` although the store is blocking: on Lambda an
# execution environment serves one request at a time, and Mangum runs each invocation as a new root
# task, so anyio cannot keep worker threads between invocations: every `def` dependency or route
# would start a fresh thread (measured: ~10x the whole cost of an authenticated GET, see bench/).
# Short store calls therefore run inline; only Argon2 hashing and blob transfers, which take far
# longer than a thread start, stay `def` and run in the thread pool.
async def get_context(request: Request) -> AppContext:
    return app_context(request.app)


ContextDep = Annotated[AppContext, Depends(get_context)]


async def current_principal(request: Request) -> Principal:
    """401 for anything but a genuine, unrevoked token of an existing user; KeyUnavailableError -> 503."""
    return accounts.identify(app_context(request.app), bearer_token(request))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    accounts.require_role(principal.user, "admin")
    return principal


FileId = Annotated[UUID, Path(description="The file's id")]


async def readable_file(file_id: FileId, principal: CurrentPrincipal, context: ContextDep) -> FileRecord:
    return files.readable_file(context, user=principal.user, file_id=str(file_id))


async def owned_file(file_id: FileId, principal: CurrentPrincipal, context: ContextDep) -> FileRecord:
    return files.owned_file(context, user=principal.user, file_id=str(file_id))


ReadableFile = Annotated[FileRecord, Depends(readable_file)]
OwnedFile = Annotated[FileRecord, Depends(owned_file)]


async def page_limit(limit: int = 20) -> int:
    """Clamp rather than reject: a client asking for a million rows gets the maximum page."""
    return max(1, min(limit, 100))


PageLimit = Annotated[int, Depends(page_limit)]
# Opaque: the store decodes it and answers 422 for anything it did not issue.
PageCursor = Annotated[str | None, Query(max_length=512)]
