"""Pure ASGI middleware, cheap on every request: body limit, security headers, access log, and a last
resort that turns any unexpected error into a generic 500."""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import (
    ErrorResponse,
    InvalidContentLengthError,
    RequestBodyTooLargeError,
    body_too_large,
    response_for,
)

log = logging.getLogger("app.access")

_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
)
# Every response is data and may run nothing, unless its route sends a policy of its own (the docs page,
# file downloads). That is decided by the response, never by a path prefix, so a 404 under /docs, or /docs
# itself in production, still gets this one.
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# What an unexpected error is answered (and logged) as.
_INTERNAL = response_for(Exception)


class BodyLimitMiddleware:
    """Refuses a body over the limit while it is being received, without buffering it: by the declared
    Content-Length up front, and by counting for chunked or lying clients."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            refused = RequestBodyTooLargeError if declared.isdigit() else InvalidContentLengthError
            await _send_error(send, response_for(refused))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise body_too_large()
            return message

        await self.app(scope, limited_receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in (*_SECURITY_HEADERS, _API_CSP) if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLogMiddleware:
    """One structured line per request, and a generic 500 for anything unexpected. Never logs headers,
    query strings or bodies: that is where tokens and passwords travel."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = _INTERNAL.status
        response_started = False

        async def recording_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except Exception:
            log.exception("unhandled error", extra={"path": _route_path(scope)})
            if not response_started:
                await _send_error(send, _INTERNAL)
            status = _INTERNAL.status
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": _route_path(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def _route_path(scope: Scope) -> str:
    # The route template, not the concrete path: ids are not worth a log line, names never reach paths.
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send_error(send: Send, response: ErrorResponse) -> None:
    payload = json.dumps(response.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
