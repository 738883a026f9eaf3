# Tests for rule jwt-hardcoded-secret (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
# The keys below are deliberately fake: the file only has to look like code a fork might write.
import os
import secrets
import time
import uuid

import jwt
import jwt as pyjwt
from jose import jwt as jose_jwt
from jwt import decode as jwt_decode
from jwt import encode
from pydantic import SecretStr
from pydantic_settings import BaseSettings
from app.config import EnvironmentSettings
from starlette.config import Config

config = Config(".env")

# ruleid: jwt-hardcoded-secret
SECRET_KEY = "changeme-signing-key"  # pragma: allowlist secret (a fake key: the positive case)
FALLBACK_KEY = os.getenv("JWT_SECRET", "dev-only-signing-key")
ALGORITHM = "HS256"

# Module-level secrets with a literal fallback, used in another module (or nowhere yet).
# ruleid: jwt-hardcoded-secret
JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY", "dev-only-signing-key")
# ruleid: jwt-hardcoded-secret
AUTH_SECRET: str = os.getenv("AUTH_SECRET", "insecure-auth-secret")
# ruleid: jwt-hardcoded-secret
SESSION_SECRET = config("SESSION_SECRET", default="dev-session-secret")
# ruleid: jwt-hardcoded-secret
JWT_SIGNING_KEY = os.environ.get("JWT_SIGNING_KEY") or "dev-only-signing-key"
# ruleid: jwt-hardcoded-secret
APP_SECRET = config.get("APP_SECRET", "dev-app-secret")
# ruleid: jwt-hardcoded-secret
TOKEN_SECRET = "please-change-me"

# Names of secrets, secrets loaded without a fallback, and generated ones.
# ok: jwt-hardcoded-secret
SIGNING_KEY_NAME = "fastapi-lambda/dev-jwt-signing-key"
# ok: jwt-hardcoded-secret
JWT_SECRET = os.environ["JWT_SECRET"]
# ok: jwt-hardcoded-secret
REFRESH_SECRET = os.getenv("REFRESH_SECRET")
# ok: jwt-hardcoded-secret
CSRF_SECRET = os.getenv("CSRF_SECRET", "")
# ok: jwt-hardcoded-secret
WEBHOOK_SECRET = config("WEBHOOK_SECRET", default=None)
# ok: jwt-hardcoded-secret
RANDOM_SECRET = secrets.token_urlsafe(48)
# ok: jwt-hardcoded-secret
JWT_SECRET_ARN = os.getenv("JWT_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt")
# ok: jwt-hardcoded-secret
TOKEN_TYPE = "access"


def issue_token_literal(user_id: str) -> str:
    # ruleid: jwt-hardcoded-secret
    return jwt.encode({"sub": user_id}, "changeme-signing-key", algorithm="HS256")


def issue_token_keyword(user_id: str) -> str:
    # ruleid: jwt-hardcoded-secret
    return jwt.encode(payload={"sub": user_id}, key="changeme-signing-key", algorithm="HS256")


def verify_literal(token: str) -> dict:
    # ruleid: jwt-hardcoded-secret
    return jwt.decode(token, "changeme-signing-key", algorithms=["HS256"])


def verify_keyword(token: str) -> dict:
    # ruleid: jwt-hardcoded-secret
    return jwt.decode(jwt=token, key=b"changeme-signing-key", algorithms=["HS256"])


def issue_with_module_constant(user_id: str) -> str:
    # ruleid: jwt-hardcoded-secret
    return jwt.encode({"sub": user_id}, SECRET_KEY, algorithm=ALGORITHM)


def verify_with_module_constant(token: str) -> dict:
    # ruleid: jwt-hardcoded-secret
    return jwt.decode(token, key=SECRET_KEY.encode(), algorithms=[ALGORITHM])


def issue_with_alias(user_id: str) -> str:
    # ruleid: jwt-hardcoded-secret
    return pyjwt.encode({"sub": user_id}, "changeme-signing-key", algorithm="HS256")


def issue_with_from_import(user_id: str) -> str:
    # ruleid: jwt-hardcoded-secret
    return encode({"sub": user_id}, SECRET_KEY, algorithm="HS256")


def verify_with_from_import_alias(token: str) -> dict:
    # ruleid: jwt-hardcoded-secret
    return jwt_decode(token, "changeme-signing-key", algorithms=["HS256"])


def issue_with_getenv_fallback(user_id: str) -> str:
    # ruleid: jwt-hardcoded-secret
    return jwt.encode({"sub": user_id}, os.environ.get("JWT_SECRET", "dev-only-signing-key"))


def verify_with_getenv_fallback_constant(token: str) -> dict:
    # ruleid: jwt-hardcoded-secret
    return jwt.decode(token, FALLBACK_KEY, algorithms=["HS256"])


def issue_with_local_literal(user_id: str) -> str:
    key = "changeme-signing-key"
    # ruleid: jwt-hardcoded-secret
    return jwt.encode({"sub": user_id, "iat": int(time.time())}, key, algorithm="HS256")


def issue_with_python_jose(user_id: str) -> str:
    # ruleid: jwt-hardcoded-secret
    return jose_jwt.encode({"sub": user_id}, "changeme-signing-key", algorithm="HS256")


class LegacyTokens:
    SIGNING_KEY = "changeme-signing-key"

    def issue(self, user_id: str) -> str:
        # ruleid: jwt-hardcoded-secret
        return jwt.encode({"sub": user_id}, self.SIGNING_KEY, algorithm="HS256")


class TemplateSettings(BaseSettings):
    # ruleid: jwt-hardcoded-secret
    secret_key: str = "changethis"
    # ruleid: jwt-hardcoded-secret
    jwt_secret: SecretStr = SecretStr("changethis")
    access_token_expire_minutes: int = 60 * 24 * 8


class ForkSettings(EnvironmentSettings):
    # ruleid: jwt-hardcoded-secret
    jwt_secret: str = "changethis"


# --- what this project really does: the key is loaded at runtime -----------------------------


class ProjectSettings(EnvironmentSettings):
    # ok: jwt-hardcoded-secret
    jwt_secret: SecretStr | None = None


class AppSettings(BaseSettings):
    # ok: jwt-hardcoded-secret
    jwt_secret: SecretStr | None = None
    # ok: jwt-hardcoded-secret
    jwt_secret_arn: str | None = None
    # ok: jwt-hardcoded-secret
    jwt_issuer: str = "fastapi-lambda"
    # ok: jwt-hardcoded-secret
    jwt_audience: str = "fastapi-lambda-api"


class TokenService:
    def __init__(self, keys, issuer: str, audience: str) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience

    def issue(self, *, user_id: str, token_version: int) -> str:
        key = self.keys.current()
        claims = {"sub": user_id, "jti": uuid.uuid4().hex, "ver": token_version}
        # ok: jwt-hardcoded-secret
        return jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})

    def verify(self, token: str, kid: str) -> dict:
        key = self.keys.find(kid)
        # ok: jwt-hardcoded-secret
        return jwt.decode(
            token,
            key.secret,
            algorithms=[ALGORITHM],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub"], "strict_aud": True},
        )


def get_key() -> bytes:
    return os.environ["JWT_SECRET"].encode()


def issue_with_key_argument(payload: dict, key: bytes) -> str:
    # ok: jwt-hardcoded-secret
    return jwt.encode(payload, key, algorithm="HS256")


def issue_with_key_function(payload: dict) -> str:
    # ok: jwt-hardcoded-secret
    return jwt.encode(payload, get_key(), algorithm="HS256")


def issue_with_environment(payload: dict) -> str:
    # ok: jwt-hardcoded-secret
    return jwt.encode(payload, os.environ["JWT_SECRET"], algorithm="HS256")


def issue_with_getenv_without_fallback(payload: dict) -> str:
    # ok: jwt-hardcoded-secret
    return jwt.encode(payload, key=os.getenv("JWT_SECRET"), algorithm="HS256")


def verify_with_settings(token: str, settings: AppSettings) -> dict:
    # ok: jwt-hardcoded-secret
    return jwt.decode(token, settings.jwt_secret.get_secret_value(), algorithms=["HS256"])


def header_only(token: str) -> dict:
    # ok: jwt-hardcoded-secret
    return jwt.get_unverified_header(token)


def local_only_default() -> str:
    # A literal inside a function that never reaches a JWT call is not a module-level setting.
    # ok: jwt-hardcoded-secret
    secret_key = "not-a-setting"
    return secret_key.upper()
