"""Secrets in logs (T-15). The whole-suite audit is tests/support/log_audit.py (`log_audit`): every record
of the session is checked there. These tests show the redaction itself works, that the audit is not
blind, and that the noisiest sources (the request path, the AWS SDK at DEBUG) stay clean."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI

from app.api.deps import app_context
from app.config import Settings
from app.logs import JsonFormatter, RedactingFilter
from tests.support.api import PASSWORD, Api
from tests.support.apps import client_for, make_app
from tests.support.log_audit import LogAudit


def fake_jwt() -> str:
    # Built at runtime so no token-shaped literal sits in the repository.
    return "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJ4In0" + "." + secrets.token_urlsafe(32)


@pytest.fixture
def shipped() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose records leave through a handler configured as production's local one."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"app.test_logs.{secrets.token_hex(4)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.threat("T-15")
def test_the_redacting_filter_removes_bearer_tokens_and_passwords(
    shipped: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = shipped
    token, opaque, password = fake_jwt(), secrets.token_urlsafe(24), secrets.token_urlsafe(16)
    logger.warning("request headers: Authorization: Bearer %s", token)
    logger.warning("upstream said Authorization: Bearer %s", opaque)
    logger.info("login attempt password=%s", password)
    logger.info('payload {"password": "%s", "token": "%s"}', password, opaque)  # pragma: allowlist secret
    logger.debug("token %s in a sentence", token)
    output = stream.getvalue()
    for secret in (token, opaque, password):
        assert secret not in output
    assert output.count("[REDACTED") >= 5
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 5


@pytest.mark.threat("T-15")
def test_credentials_in_extra_fields_and_tracebacks_are_redacted_too(
    shipped: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = shipped
    token = fake_jwt()
    logger.info("forwarded", extra={"authorization": f"Bearer {token}", "upstream": token})
    try:
        raise ValueError(f"could not parse Authorization: Bearer {token}")
    except ValueError:
        logger.exception("failed")
    output = stream.getvalue()
    assert token not in output
    entries = [json.loads(line) for line in output.splitlines()]
    assert entries[0]["upstream"] == "[REDACTED_JWT]"
    assert "ValueError" in entries[1]["error"]


@pytest.mark.threat("T-15")
def test_redaction_also_holds_for_a_plain_formatter(caplog: pytest.LogCaptureFixture) -> None:
    """On Lambda the runtime's formatter ships the record: the filter must leave nothing for it."""
    token = fake_jwt()
    record = logging.makeLogRecord(
        {"msg": "Authorization: Bearer %s", "args": (token,), "name": "app.x", "extra_field": token}
    )
    try:
        raise RuntimeError(token)
    except RuntimeError as error:
        record.exc_info = (type(error), error, error.__traceback__)
    RedactingFilter().filter(record)
    text = logging.Formatter("%(message)s %(extra_field)s").format(record)
    assert token not in text
    assert "RuntimeError" in text


@pytest.mark.threat("T-15")
def test_the_suite_audit_is_running_and_not_blind(log_audit: LogAudit) -> None:
    """The session audit would fail on each of these; ordinary log lines pass."""
    key = secrets.token_urlsafe(48)
    log_audit.register(key)
    leaks = [
        f'{{"message": "signing with {key}"}}',
        f'{{"message": "request", "authorization": "Bearer {secrets.token_urlsafe(16)}"}}',
        f'{{"message": "issued {fake_jwt()}"}}',
        f'{{"message": "login", "password": "{PASSWORD}"}}',
    ]
    for text in leaks:
        assert log_audit.offences_in(text), text
    clean = [
        '{"level": "INFO", "logger": "app.access", "message": "request", "method": "GET", '
        '"path": "/files/{file_id}", "status": 200, "duration_ms": 1.23}',
        '{"message": "Authorization: Bearer [REDACTED]", "token": "[REDACTED_JWT]"}',
        '{"message": "account deleted", "user_id": "0f8fad5b-d9cb-469f-a165-70867728950e"}',
    ]
    for text in clean:
        assert not log_audit.offences_in(text), text
    before = log_audit.records
    logging.getLogger("tests.test_logs").debug("a DEBUG record reaches the audit")
    assert log_audit.records == before + 1


@pytest.mark.inprocess
@pytest.mark.threat("T-15")
def test_a_full_request_flow_logs_no_credential(
    app: FastAPI, log_audit: LogAudit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with client_for(app, "asgi") as client:
        api = Api(client)
        user, other = api.register(), api.register()
        client.post("/auth/token", data={"username": user.username, "password": PASSWORD + "!"})
        client.post("/auth/token", data={"username": "nobody_here", "password": PASSWORD})
        client.get("/users/me", headers={"Authorization": f"Bearer {user.token}x"})
        client.get("/users/me", params={"access_token": user.token})
        client.post("/auth/register", json={"username": "bad name", "password": PASSWORD})
        file_id = api.upload(user, user.token.encode(), name=f"{other.token}.txt")["id"]
        api.share(user, file_id, other)
        client.post(
            "/users/me/password",
            headers=user.headers,
            json={
                "current_password": PASSWORD,
                "new_password": "a brand new passphrase",  # pragma: allowlist secret
            },
        )
        client.post("/auth/logout", headers=other.headers)
    formatter = JsonFormatter()
    access = [r for r in caplog.records if r.name == "app.access"]
    assert len(access) >= 10
    for record in caplog.records:
        text = formatter.format(record)
        assert not log_audit.offences_in(text), text
        assert "a brand new passphrase" not in text
    # The access log names route templates, never concrete paths or query strings.
    assert {getattr(r, "path", "") for r in access} <= {
        "/auth/register",
        "/auth/token",
        "/auth/logout",
        "/users/me",
        "/users/me/password",
        "/files",
        "/files/{file_id}/shares",
    }


@pytest.mark.inprocess
@pytest.mark.threat("T-15")
def test_the_aws_sdk_never_logs_the_signing_key_even_at_debug(
    make_aws_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """botocore logs response bodies at DEBUG; GetSecretValue's body is the signing key."""
    caplog.set_level(logging.DEBUG)
    app = make_app(make_aws_settings(log_level="DEBUG"))
    with client_for(app, "asgi") as client:
        Api(client).register()
    key = app_context(app).tokens.keys.current().secret.decode()
    assert len(key) >= 32
    for record in caplog.records:
        assert key not in record.getMessage(), record.name
        assert key[:12] not in JsonFormatter().format(record), record.name
    assert not [r for r in caplog.records if r.name.startswith("botocore") and r.levelno < logging.WARNING]
