"""Misconfiguration: generic errors without traces, docs off in production, CORS off unless explicitly
listed, TRACE refused, security headers on every response, and settings that refuse to start weak."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from app.config import Settings
from app.factory import build_context, create_app
from app.security.keys import KEY_FILE_NAME, MIN_KEY_BYTES, WeakKeyError
from tests.support.api import Api
from tests.support.apps import VIAS, client_for, fast_passwords
from tests.support.paths import REPO_ROOT

INTERNAL_DETAIL = "sqlite3.OperationalError at /srv/data/app.sqlite3 line 42"
ALLOWED_ORIGIN = "https://app.example.com"
EVIL_ORIGIN = "https://evil.example"
API_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


class ExplodingFiles:
    """A file store that fails the way a broken dependency does, with internals in its message."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def explode(*args: object, **kwargs: object) -> Any:
            raise RuntimeError(INTERNAL_DETAIL)

        return explode


@pytest.fixture
def broken_app(settings: Settings) -> FastAPI:
    context = build_context(settings, passwords=fast_passwords())
    store = dataclasses.replace(context.store, files=ExplodingFiles())
    return create_app(settings, context=dataclasses.replace(context, store=store))


def assert_generic_500(response: Any) -> None:
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert response.headers["content-type"] == "application/json"
    for leak in ("Traceback", "RuntimeError", "sqlite", "/srv/data", 'File "'):
        assert leak not in response.text


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
@pytest.mark.parametrize("via", VIAS)
def test_an_unexpected_error_is_a_generic_500_without_a_trace(
    broken_app: FastAPI, via: str, caplog: pytest.LogCaptureFixture
) -> None:
    with client_for(broken_app, via) as client:
        api = Api(client)
        user = api.register()
        caplog.clear()
        for method, path in (("GET", "/files"), ("GET", "/files/00000000-0000-4000-8000-000000000000")):
            assert_generic_500(client.request(method, path, headers=user.headers))
    # The detail goes to the log, attributed to the route template, never to the client.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "app.access"]
    assert errors
    assert {getattr(r, "path", None) for r in errors} <= {"/files", "/files/{file_id}"}


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_a_failing_route_added_later_is_also_a_generic_500(app: FastAPI) -> None:
    def boom() -> None:
        raise ValueError(INTERNAL_DETAIL)

    app.add_api_route("/boom", boom, methods=["GET"])
    with client_for(app, "asgi") as client:
        response = client.get("/boom")
    assert_generic_500(response)


@pytest.mark.threat("T-18")
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[" * 100_000 + b"]" * 100_000),
        ("application/json", b'{"username": "\\ud800", "password": "x"}'),
        ("application/json", b"\xff\xfe\x00"),
        ("text/plain", b"username=x"),
        ("application/xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"),
    ],
    ids=["broken", "deeply-nested", "lone-surrogate", "not-utf8", "wrong-type", "xxe"],
)
def test_malformed_bodies_are_client_errors_never_5xx(api: Api, content_type: str, body: bytes) -> None:
    response = api.client.post("/auth/register", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert "/etc/passwd" not in response.text


# --- docs -----------------------------------------------------------------------------------------

DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_docs_and_schema_are_not_served_in_production(make_settings: Callable[..., Settings]) -> None:
    production = create_app(make_settings(environment="production"))
    assert production.debug is False
    with client_for(production, "asgi") as client:
        for path in DOC_PATHS:
            assert client.get(path).status_code == 404, path
        assert client.get("/health").status_code == 200


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_production_is_the_default_when_environment_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # A deployment that forgets ENVIRONMENT must not publish its docs and schema.
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    settings = Settings(jwt_secret="x" * 48)
    assert settings.environment == "production"
    assert settings.docs_enabled is False


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_production_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("APP_MODE", "local")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JWT_SECRET", secrets.token_urlsafe(48))
    with client_for(create_app(Settings()), "asgi") as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
    # A typo must not fall back to a development profile with docs on.
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_docs_are_served_outside_production_with_their_own_csp(app: FastAPI) -> None:
    with client_for(app, "asgi") as client:
        docs = client.get("/docs")
        schema = client.get("/openapi.json")
    assert docs.status_code == 200
    assert schema.status_code == 200
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert docs.headers["x-frame-options"] == "DENY"


# --- CORS -----------------------------------------------------------------------------------------


def preflight(client: Any, origin: str, method: str = "GET") -> Any:
    return client.options(
        "/files",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )


@pytest.mark.threat("T-18")
def test_cors_is_off_by_default(api: Api) -> None:
    user = api.register()
    for origin in (EVIL_ORIGIN, ALLOWED_ORIGIN, "null"):
        refused = preflight(api.client, origin)
        assert refused.status_code in {404, 405}, refused.text
        simple = api.client.get("/users/me", headers={**user.headers, "Origin": origin})
        for response in (refused, simple):
            assert not any(name.startswith("access-control-") for name in response.headers), origin


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
@pytest.mark.parametrize("via", VIAS)
def test_cors_allows_exactly_the_listed_origins(make_settings: Callable[..., Settings], via: str) -> None:
    app = create_app(make_settings(cors_allow_origins=f"{ALLOWED_ORIGIN}, https://admin.example.com"))
    with client_for(app, via) as client:
        allowed = preflight(client, ALLOWED_ORIGIN)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "access-control-allow-credentials" not in allowed.headers
        methods = {m.strip() for m in allowed.headers["access-control-allow-methods"].split(",")}
        assert methods <= {"GET", "POST", "DELETE", "OPTIONS", "HEAD"}
        assert "TRACE" not in methods
        assert "PUT" not in methods
        simple = client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
        assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        for origin in (EVIL_ORIGIN, "null", "https://app.example.com.evil.example", "http://app.example.com"):
            refused = preflight(client, origin)
            assert refused.status_code == 400, origin
            assert "access-control-allow-origin" not in refused.headers
            simple = client.get("/health", headers={"Origin": origin})
            assert "access-control-allow-origin" not in simple.headers, origin
        refused_method = preflight(client, ALLOWED_ORIGIN, method="PUT")
        assert refused_method.status_code == 400


@pytest.mark.threat("T-18")
@pytest.mark.parametrize("value", ["*", f"{ALLOWED_ORIGIN},*", f" * , {ALLOWED_ORIGIN}"])
def test_settings_refuse_a_wildcard_cors_origin(
    value: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="explicitly"):
        make_settings(cors_allow_origins=value)
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", value)
    with pytest.raises(ValidationError, match="explicitly"):
        Settings(jwt_secret=secrets.token_urlsafe(48))


# --- methods and headers --------------------------------------------------------------------------


@pytest.mark.threat("T-18")
@pytest.mark.parametrize("path", ["/health", "/files", "/auth/token", "/users/me", "/admin/users"])
def test_trace_is_refused_and_never_echoes_the_request(api: Api, path: str) -> None:
    user = api.register()
    for method in ("TRACE", "TRACK"):
        response = api.client.request(method, path, headers={**user.headers, "X-Probe": "h5-trace-probe"})
        assert response.status_code == 405, (method, path, response.status_code)
        assert "h5-trace-probe" not in response.text
        assert user.token not in response.text


def assert_security_headers(response: Any, *, api: bool = True) -> None:
    expected = (
        API_HEADERS if api else {k: v for k, v in API_HEADERS.items() if k != "content-security-policy"}
    )
    for name, value in expected.items():
        assert response.headers.get(name) == value, (response.request.url, response.status_code, name)
    assert response.headers.get("strict-transport-security", "").startswith("max-age=")


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_security_headers_on_every_kind_of_response(api: Api, request: pytest.FixtureRequest) -> None:
    client = api.client
    user = api.register()
    file_id = api.upload(user)["id"]
    responses = [
        client.get("/health"),
        client.get("/users/me", headers=user.headers),
        client.get("/files", headers=user.headers),
        client.get(f"/files/{file_id}", headers=user.headers),
        client.get("/files"),
        client.get("/files", headers={"Authorization": "Bearer not-a-token"}),
        client.get("/admin/users", headers=user.headers),
        client.get("/no-such-route"),
        client.request("TRACE", "/health"),
        client.post("/auth/register", json={"username": "x"}),
        client.post(
            "/auth/token",
            data={"username": "nobody", "password": "wrong password!"},  # pragma: allowlist secret
        ),
    ]
    if request.node.callspec.params["api"] == "asgi":
        # Lambda events carry their real length, so the early 413 is reachable over ASGI only.
        too_big = client.post("/files", headers={**user.headers, "content-length": "999999999"}, content=b"")
        assert too_big.status_code == 413
        responses.append(too_big)
    assert {response.status_code for response in responses} >= {200, 401, 403, 404, 405, 422}
    for response in responses:
        assert_security_headers(response)
    download = client.get(f"/files/{file_id}/content", headers=user.headers)
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["cache-control"] == "no-store"
    assert "sandbox" in download.headers["content-security-policy"]


@pytest.mark.inprocess
@pytest.mark.threat("T-18")
def test_security_headers_on_a_generic_500(broken_app: FastAPI) -> None:
    with client_for(broken_app, "asgi") as client:
        user = Api(client).register()
        response = client.get("/files", headers=user.headers)
    assert_generic_500(response)
    assert_security_headers(response)


@pytest.mark.threat("T-18")
def test_authenticated_responses_are_never_cached(api: Api) -> None:
    user = api.register()
    file_id = api.upload(user)["id"]
    for path in ("/users/me", "/files", f"/files/{file_id}", f"/files/{file_id}/content", "/shares"):
        response = api.client.get(path, headers=user.headers)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store", path
        assert "set-cookie" not in response.headers


# --- settings that refuse to start ------------------------------------------------------------------


@pytest.mark.inprocess
@pytest.mark.threat("T-05")
@pytest.mark.parametrize("length", [0, 1, 16, MIN_KEY_BYTES - 1])
def test_a_short_jwt_secret_stops_the_app(make_settings: Callable[..., Settings], length: int) -> None:
    # A character no message uses: a one-letter secret would be found in any sentence.
    secret = "#" * length
    with pytest.raises((WeakKeyError, ValidationError)) as refused:
        create_app(make_settings(jwt_secret=secret))
    if length:
        assert secret not in str(refused.value)
    create_app(make_settings(jwt_secret="#" * MIN_KEY_BYTES))


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the real entry point in a fresh interpreter, as Lambda's init phase does."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_", "AWS_", "CORS_"))}
    return subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=REPO_ROOT,
        env={**base, "PYTHONPATH": str(REPO_ROOT / "backend"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.inprocess
@pytest.mark.threat("T-05")
@pytest.mark.threat("T-15")
def test_the_entry_point_refuses_a_weak_secret_without_printing_it(tmp_path: Path) -> None:
    weak = "weak-but-distinctive-31-bytes!!"
    assert len(weak) == MIN_KEY_BYTES - 1
    started = _start({"APP_MODE": "local", "DATA_DIR": str(tmp_path), "JWT_SECRET": weak})
    assert started.returncode != 0
    # One line, naming the variable and the fix (was: a WeakKeyError traceback); see
    # tests/api/test_configuration_errors.py for every entry point and mistake.
    assert started.stderr.startswith("configuration error: JWT_SECRET must be at least 32 bytes. ")
    assert started.stderr.count("\n") == 1
    assert weak not in started.stderr + started.stdout
    fine = _start({"APP_MODE": "local", "DATA_DIR": str(tmp_path), "JWT_SECRET": secrets.token_urlsafe(32)})
    assert fine.returncode == 0, fine.stderr


@pytest.mark.inprocess
@pytest.mark.threat("T-05")
@pytest.mark.threat("T-15")
def test_aws_mode_misconfigurations_stop_the_app_without_printing_the_secret(tmp_path: Path) -> None:
    leaked = secrets.token_urlsafe(48)
    for env in (
        {"APP_MODE": "aws"},
        {"APP_MODE": "aws", "JWT_SECRET": leaked},
        {
            "APP_MODE": "aws",
            "JWT_SECRET": leaked,
            "JWT_SECRET_ARN": "arn:aws:secretsmanager:x",  # pragma: allowlist secret
        },
    ):
        started = _start({"DATA_DIR": str(tmp_path), **env})
        assert started.returncode != 0, env
        assert "JWT_SECRET" in started.stderr
        output = started.stderr + started.stdout
        # Not the secret, and not a recognisable piece of it either.
        assert not any(leaked[i : i + 8] in output for i in range(len(leaked) - 7)), env


@pytest.mark.threat("T-05")
@pytest.mark.threat("T-15")
def test_settings_errors_never_echo_a_secret(make_settings: Callable[..., Settings]) -> None:
    leaked = secrets.token_urlsafe(48)
    for overrides in (
        {"app_mode": "aws", "jwt_secret": leaked},
        {
            "app_mode": "aws",
            "jwt_secret": leaked,
            "jwt_secret_arn": "arn:aws:secretsmanager:x",  # pragma: allowlist secret
        },
        {"jwt_secret": leaked, "max_upload_bytes": -1},
        {"jwt_secret": leaked, "environment": "prod"},
    ):
        with pytest.raises(ValidationError) as refused:
            make_settings(**overrides)
        message = str(refused.value)
        assert not any(leaked[i : i + 8] in message for i in range(len(leaked) - 7)), overrides
    settings = make_settings(jwt_secret=leaked)
    assert leaked not in repr(settings)
    assert leaked not in str(settings.model_dump())


@pytest.fixture
def key_file_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(jwt_secret=None)


@pytest.mark.inprocess
@pytest.mark.threat("T-05")
def test_the_generated_dev_key_is_private_and_strong(key_file_settings: Settings) -> None:
    create_app(key_file_settings)
    key_file = Path(key_file_settings.data_dir) / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes().strip()) >= MIN_KEY_BYTES
    # Reused on restart (tokens survive), not regenerated.
    before = key_file.read_bytes()
    create_app(key_file_settings)
    assert key_file.read_bytes() == before


@pytest.mark.inprocess
@pytest.mark.threat("T-05")
@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604, 0o666])
def test_a_key_file_readable_by_others_stops_the_app(key_file_settings: Settings, mode: int) -> None:
    create_app(key_file_settings)
    key_file = Path(key_file_settings.data_dir) / KEY_FILE_NAME
    key_file.chmod(mode)
    with pytest.raises(PermissionError, match="chmod 600"):
        create_app(key_file_settings)


@pytest.mark.inprocess
@pytest.mark.threat("T-05")
def test_a_weak_key_file_stops_the_app(key_file_settings: Settings) -> None:
    data_dir = Path(key_file_settings.data_dir)
    data_dir.mkdir(parents=True)
    key_file = data_dir / KEY_FILE_NAME
    key_file.write_bytes(b"changeme")
    key_file.chmod(0o600)
    with pytest.raises(WeakKeyError):
        create_app(key_file_settings)
