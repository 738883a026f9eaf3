"""Expected failures mapped to short, generic bodies with the right status code."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.security.keys import KeyUnavailableError
from app.services.upload_checks import UploadRejectedError
from app.store.base import InvalidCursorError, StoreUnavailableError

log = logging.getLogger(__name__)


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
    return JSONResponse({"detail": errors}, status_code=422)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Fail closed: a key or a record we cannot read refuses the request, and the client may retry.
    log.error("dependency unavailable: %s: %s", type(exc).__name__, exc)
    return JSONResponse(
        {"detail": "Service temporarily unavailable"}, status_code=503, headers={"Retry-After": "5"}
    )


async def _upload_rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UploadRejectedError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _invalid_cursor(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "Invalid cursor"}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(KeyUnavailableError, _unavailable)
    app.add_exception_handler(StoreUnavailableError, _unavailable)
    app.add_exception_handler(UploadRejectedError, _upload_rejected)
    app.add_exception_handler(InvalidCursorError, _invalid_cursor)
