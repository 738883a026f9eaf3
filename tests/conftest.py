"""Fixtures shared by the whole suite.

`api` is the HTTP surface under test: by default the ASGI app in process on a fresh embedded store;
parametrize it indirectly with a Lambda event format to go through the Mangum handler instead; run
pytest with --base-url URL to aim the black-box tests at a live deployment.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from mangum import Mangum
from starlette.testclient import TestClient

from app.config import Settings
from app.factory import create_app
from devtools.lambda_events import EVENT_FORMATS, LambdaTransport
from tests.support.api import Api

REPO_ROOT = Path(__file__).resolve().parents[1]
VIAS = ("asgi", *EVENT_FORMATS)
# Where the app under test keeps its data: the embedded default, or DynamoDB + S3 + Secrets Manager on
# a moto_server subprocess (tests/support/moto.py). The authn/authz integration suite runs on both;
# modules whose subject does not depend on the store (token parsing, upload inspection, route
# policies) stay on the embedded one, which keeps `make test` fast. tests/test_aws_*.py add the rest.
BACKENDS = ("local", "aws")
BOTH_BACKENDS_MODULES = frozenset(
    {"test_core_flow", "test_threat_examples", "test_authorization", "test_revocation", "test_register_login"}
)
# Tests in those modules that drive the embedded store's files or the CLI's local environment.
LOCAL_ONLY_TESTS = frozenset(
    {"test_cli_delete_user_kills_their_tokens", "test_cli_make_admin_grants_the_admin_routes"}
)

pytest_plugins = ("tests.support.moto",)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--base-url",
        default=None,
        help="run the black-box authn/authz tests over HTTP against this running instance",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "inprocess: needs the app in this process; skipped when --base-url is given"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test (or module) may pin the store with @pytest.mark.parametrize("backend", [...]).
    pinned = any(
        "backend" in (names.replace(" ", "").split(",") if isinstance(names, str) else names)
        for names in (marker.args[0] for marker in metafunc.definition.iter_markers("parametrize"))
    )
    both = (
        metafunc.module.__name__.rsplit(".", 1)[-1] in BOTH_BACKENDS_MODULES
        and metafunc.function.__name__ not in LOCAL_ONLY_TESTS
    )
    if both and "backend" in metafunc.fixturenames and not pinned:
        on_base_url = metafunc.config.getoption("--base-url")
        metafunc.parametrize("backend", ("local",) if on_base_url else BACKENDS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--base-url"):
        return
    skip = pytest.mark.skip(reason="needs the app in process; this run targets --base-url")
    for item in items:
        if "inprocess" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 at production cost takes ~90 ms a hash, and the suite registers hundreds of users.
    The hashing code path is unchanged; only its cost parameters are lowered for the test run
    (test_passwords.py checks the production parameters themselves)."""
    from argon2 import PasswordHasher

    from app.security import passwords

    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._dummy_hash.cache_clear()
    yield
    passwords._hasher = production
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def base_url(request: pytest.FixtureRequest) -> str | None:
    value: str | None = request.config.getoption("--base-url")
    return value


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for an isolated local-mode app; keyword overrides win."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "app_mode": "local",
            "environment": "test",
            "data_dir": tmp_path / "data",
            "jwt_secret": secrets.token_urlsafe(48),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def backend() -> str:
    return "local"


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    factory: Callable[..., Settings] = request.getfixturevalue(
        "make_aws_settings" if backend == "aws" else "make_settings"
    )
    return factory()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


def client_for(app: FastAPI, via: str) -> httpx2.Client:
    if via == "asgi":
        return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    handler = Mangum(app, lifespan="off")
    return httpx2.Client(transport=LambdaTransport(handler, via), base_url="https://lambda.test")  # type: ignore[arg-type]


@pytest.fixture
def api(request: pytest.FixtureRequest, base_url: str | None, backend: str) -> Iterator[Api]:
    via: str = getattr(request, "param", "asgi")
    if base_url:
        if via != "asgi":
            # A live instance is one deployment reached over HTTP: the in-process variants would
            # only repeat the same requests.
            pytest.skip("in-process variant; this run targets --base-url")
        with httpx2.Client(base_url=base_url, timeout=30) as client:
            yield Api(client)
        return
    app: FastAPI = request.getfixturevalue("app")
    with client_for(app, via) as client:
        yield Api(client)


# ---- log audit (H5) ------------------------------------------------------------------------------
# Every log record of the session, as production ships it (the app's redacting filter and JSON
# formatter applied to a copy), is checked for a JWT, a bearer header value, or a registered secret:
# the Api helper's passwords and tokens, and every key and token that goes through jwt.encode. Each
# xdist worker audits its own records; an offence fails the worker's last test (session teardown).
import logging  # noqa: E402
import re  # noqa: E402

import jwt  # noqa: E402

from app.logs import JsonFormatter, RedactingFilter  # noqa: E402
from tests.support.api import SENSITIVE_VALUES  # noqa: E402

_CREDENTIAL_SHAPES = re.compile(
    r"ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|(?i:bearer)\s+(?!\[REDACTED)[\w.~+/=-]{8,}"
)
_PROBE = 12  # registered values are found through their first 12 characters


class LogAudit(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter = JsonFormatter()
        self.probes: dict[str, set[str]] = {}
        self.synced = 0
        self.records = 0
        self.offences: list[str] = []

    def register(self, value: str | bytes) -> None:
        text = value.decode("utf-8", "ignore") if isinstance(value, bytes) else value
        # Shorter or repetitive values cannot be told apart from ordinary log text.
        if len(text) >= _PROBE and len(set(text)) >= 5:
            self.probes.setdefault(text[:_PROBE], set()).add(text)

    def offences_in(self, text: str) -> list[str]:
        for value in SENSITIVE_VALUES[self.synced :]:
            self.register(value)
        self.synced = len(SENSITIVE_VALUES)
        found = [f"credential-shaped {m.group(0)[:12]}..." for m in _CREDENTIAL_SHAPES.finditer(text)]
        for start in range(len(text) - _PROBE + 1):
            for value in self.probes.get(text[start : start + _PROBE], ()):
                if text.startswith(value, start):
                    found.append(f"registered secret {value[:4]}...")
        return found

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        shipped = logging.makeLogRecord(vars(record))
        RedactingFilter().filter(shipped)
        text = self.format(shipped)
        found = self.offences_in(text)
        if found and len(self.offences) < 20:
            self.offences.append(f"{found} in {text[:400]}")


@pytest.fixture(autouse=True, scope="session")
def log_audit() -> Iterator[LogAudit]:
    audit, root, encode = LogAudit(), logging.getLogger(), jwt.encode
    level = root.level

    def recording_encode(payload: Any, key: Any, *args: Any, **kwargs: Any) -> str:
        token: str = encode(payload, key, *args, **kwargs)
        for value in (key, token):
            if isinstance(value, str | bytes):
                audit.register(value)
        return token

    root.addHandler(audit)
    root.setLevel(logging.DEBUG)
    jwt.encode = recording_encode
    try:
        yield audit
    finally:
        jwt.encode = encode
        root.removeHandler(audit)
        root.setLevel(level)
    if audit.offences:
        pytest.fail("credentials reached the logs:\n" + "\n".join(audit.offences), pytrace=False)


# ---- end of log audit ----------------------------------------------------------------------------
