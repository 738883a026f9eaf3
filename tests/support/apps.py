"""Apps under test, and the clients that reach them in process.

Apps are built like production's (`create_app`), with one injected difference: a cheap Argon2 cost.
Production's cost takes ~90 ms a hash and the suite registers hundreds of users; the hashing code path
is the same (tests/unit/test_passwords.py checks the production parameters themselves).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx2
from argon2 import PasswordHasher
from fastapi import FastAPI
from mangum import Mangum
from starlette.testclient import TestClient

from app.config import Settings
from app.factory import build_context, create_app
from app.security.passwords import Passwords
from devtools.lambda_events import EVENT_FORMATS, LambdaTransport

# Through the ASGI app, and through the Mangum handler with each Lambda event format.
VIAS = ("asgi", *EVENT_FORMATS)


def fast_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def fast_passwords() -> Passwords:
    return Passwords(fast_hasher())


def make_app(settings: Settings, **parts: Any) -> FastAPI:
    """`create_app(settings)` with the test suite's password cost; `parts` replace parts of the
    context (a store wrapped to fail, a key provider that goes away)."""
    context = build_context(settings, passwords=fast_passwords())
    return create_app(settings, context=dataclasses.replace(context, **parts))


def client_for(app: FastAPI, via: str) -> httpx2.Client:
    if via == "asgi":
        return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    handler = Mangum(app, lifespan="off")
    return httpx2.Client(transport=LambdaTransport(handler, via), base_url="https://lambda.test")  # type: ignore[arg-type]
