"""The operator CLI's settings: AWS mode without JWT_SECRET_ARN is allowed there only, and whatever is
built without the ARN can neither sign nor verify a token (fail closed)."""

from __future__ import annotations

import secrets

import jwt
import pytest
from pydantic import ValidationError

from app.config import ConfigurationError, OperatorSettings, Settings
from app.exceptions import InvalidTokenError
from app.factory import build_context
from app.security.keys import NoSigningKeys


def test_only_the_operator_settings_do_without_the_signing_key_arn() -> None:
    with pytest.raises(ValidationError, match="APP_MODE=aws requires JWT_SECRET_ARN"):
        Settings(app_mode="aws")
    assert OperatorSettings(app_mode="aws").jwt_secret_arn is None
    # Everything else is checked as for the server.
    with pytest.raises(ValidationError, match="JWT_SECRET is for local mode only"):
        OperatorSettings(app_mode="aws", jwt_secret="x" * 48)


def test_a_context_without_the_arn_signs_and_verifies_nothing() -> None:
    # The AWS clients are built, never called: building them needs no endpoint.
    context = build_context(OperatorSettings(app_mode="aws"))
    with pytest.raises(ConfigurationError, match="set JWT_SECRET_ARN"):
        context.tokens.issue(user_id="u", token_version=0)
    forged = jwt.encode({"sub": "u"}, secrets.token_bytes(32), algorithm="HS256", headers={"kid": "v1"})
    with pytest.raises(InvalidTokenError):
        context.tokens.verify(forged)
    assert NoSigningKeys().find("v1") is None
