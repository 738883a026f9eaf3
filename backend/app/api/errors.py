"""The one place a status code is chosen for an error: every expected outcome (app/exceptions.py) and
the HTTP layer's own refusals map to a status, a generic body and headers here. FastAPI's exception
handlers, the pure ASGI middleware and the routes' documented responses all read this table, so a
client sees the same answer for the same outcome wherever it is detected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.api.schemas import ErrorOut
from app.exceptions import (
    AlreadySharedError,
    ConcurrentChangeError,
    ContentMismatchError,
    CurrentPasswordIncorrectError,
    FileTooLargeError,
    InvalidCredentialsError,
    InvalidCursorError,
    KeyUnavailableError,
    NotAuthenticatedError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    SelfShareError,
    StoreUnavailableError,
    TooManyAttemptsError,
    UnsupportedContentTypeError,
    UsernameTakenError,
)

log = logging.getLogger(__name__)


class RequestBodyTooLargeError(Exception):
    """The body limit middleware refuses a body over the limit."""


class InvalidContentLengthError(Exception):
    """A Content-Length header that is not a number."""


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    detail: str
    headers: Mapping[str, str] = field(default_factory=dict)
    # Logged as an error: the client did nothing wrong, a dependency did.
    logged: bool = False

    def body(self) -> dict[str, str]:
        return {"detail": self.detail}


_BEARER = {"WWW-Authenticate": "Bearer"}
# Fail closed: a key or a record we cannot read refuses the request, and the client may retry.
_UNAVAILABLE = ErrorResponse(503, "Service temporarily unavailable", {"Retry-After": "5"}, logged=True)

ERRORS: Mapping[type[Exception], ErrorResponse] = {
    NotAuthenticatedError: ErrorResponse(401, "Not authenticated", _BEARER),
    InvalidCredentialsError: ErrorResponse(401, "Incorrect username or password", _BEARER),
    PermissionDeniedError: ErrorResponse(403, "Forbidden"),
    CurrentPasswordIncorrectError: ErrorResponse(403, "Current password is incorrect"),
    NotFoundError: ErrorResponse(404, "Not found"),
    UsernameTakenError: ErrorResponse(409, "Username already taken"),
    AlreadySharedError: ErrorResponse(409, "Already shared with this user"),
    ConcurrentChangeError: ErrorResponse(409, "Changed by another request; retry"),
    SelfShareError: ErrorResponse(422, "Cannot share a file with yourself"),
    InvalidCursorError: ErrorResponse(422, "Invalid cursor"),
    # At most the length of the window (services/shares.py), whenever in it the budget ran out.
    TooManyAttemptsError: ErrorResponse(429, "Too many attempts; retry later", {"Retry-After": "900"}),
    # Its body is the list of what failed validation, without the input (see _validation_error).
    RequestValidationError: ErrorResponse(422, "Invalid request"),
    FileTooLargeError: ErrorResponse(413, "File too large"),
    QuotaExceededError: ErrorResponse(413, "Storage quota exceeded"),
    UnsupportedContentTypeError: ErrorResponse(415, "Unsupported content type"),
    ContentMismatchError: ErrorResponse(415, "Content does not match its type"),
    RequestBodyTooLargeError: ErrorResponse(413, "Request body too large"),
    InvalidContentLengthError: ErrorResponse(400, "Invalid Content-Length"),
    KeyUnavailableError: _UNAVAILABLE,
    StoreUnavailableError: _UNAVAILABLE,
    # Anything unexpected: a generic body, never a stack trace.
    Exception: ErrorResponse(500, "Internal server error"),
}


def response_for(error: type[Exception]) -> ErrorResponse:
    """The entry of the error's class or of its nearest base class in the table."""
    return next(ERRORS[cls] for cls in error.__mro__ if cls in ERRORS)


def documented(*errors: type[Exception]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that may answer with these errors, for the OpenAPI schema."""
    return {response_for(error).status: {"model": ErrorOut} for error in errors}


def body_too_large() -> HTTPException:
    """Raised while the body is being received: FastAPI re-raises an HTTPException from body parsing as
    it is, where any other exception would become a 400."""
    response = response_for(RequestBodyTooLargeError)
    return HTTPException(status_code=response.status, detail=response.detail)


async def _expected_error(request: Request, exc: Exception) -> JSONResponse:
    response = response_for(type(exc))
    if response.logged:
        log.error("dependency unavailable: %s: %s", type(exc).__name__, exc)
    return JSONResponse(response.body(), status_code=response.status, headers=dict(response.headers))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI echoes the offending input by default; that input may be a password.
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=response_for(RequestValidationError).status)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    for error in ERRORS:
        # Exception stays with the access log middleware, which also sees errors outside FastAPI.
        if error not in {RequestValidationError, Exception}:
            app.add_exception_handler(error, _expected_error)
