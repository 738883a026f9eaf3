"""Signing-key providers: where the HMAC key for tokens comes from.

Local mode reads JWT_SECRET or a generated key file; AWS mode reads a Secrets Manager secret whose
VersionId is the token's `kid`, so a rotation is visible in every token.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MIN_KEY_BYTES = 32
KEY_FILE_NAME = "jwt-signing.key"
_CURRENT = "AWSCURRENT"
_PREVIOUS = "AWSPREVIOUS"
# Secrets Manager version ids are UUIDs; local kids are short hex digests.
_KID_PATTERN = re.compile(r"[A-Za-z0-9-]{8,64}")


class KeyUnavailableError(Exception):
    """The key store cannot be reached and no cached key may serve: refuse, never let through."""


class WeakKeyError(ValueError):
    """A configured key is too short to resist offline guessing."""


@dataclass(frozen=True, repr=False)
class SigningKey:
    kid: str
    secret: bytes

    def __repr__(self) -> str:  # never print key material, even in a debugger or traceback
        return f"SigningKey(kid={self.kid!r})"


class SigningKeys(Protocol):
    def current(self) -> SigningKey:
        """The key new tokens are signed with."""
        ...

    def find(self, kid: str) -> SigningKey | None:
        """A key that may verify a token carrying this kid, or None."""
        ...


def is_valid_kid(kid: str) -> bool:
    return _KID_PATTERN.fullmatch(kid) is not None


def _checked(secret: bytes, source: str) -> bytes:
    if len(secret) < MIN_KEY_BYTES:
        raise WeakKeyError(f"{source} must be at least {MIN_KEY_BYTES} bytes")
    return secret


class StaticKeys:
    """One fixed key: local mode and tests."""

    def __init__(self, secret: bytes, *, source: str = "JWT signing key") -> None:
        secret = _checked(secret, source)
        self._key = SigningKey(kid=hashlib.sha256(secret).hexdigest()[:16], secret=secret)

    def current(self) -> SigningKey:
        return self._key

    def find(self, kid: str) -> SigningKey | None:
        return self._key if secrets.compare_digest(kid, self._key.kid) else None


def load_or_create_key_file(data_dir: Path) -> bytes:
    """The dev key: generated once, readable by the owner only, never committed (DATA_DIR is ignored)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} must not be readable by group or others (chmod 600)") from None
        return _checked(path.read_bytes().strip(), str(path))
    key = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class SecretsManagerKeys:
    """Keys from one Secrets Manager secret, cached per process for `ttl_seconds`.

    AWSCURRENT signs; AWSCURRENT and AWSPREVIOUS verify. A token whose kid is not cached triggers at most
    one lookup of that version per TTL, and lookups for unknown kids are rate limited, so forged kids
    cannot turn into a flood of Secrets Manager calls.
    """

    def __init__(
        self,
        client: SecretsManagerClient,
        secret_id: str,
        *,
        ttl_seconds: float,
        failure_backoff_seconds: float = 1.0,
        unknown_kid_interval_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._ttl = ttl_seconds
        self._backoff = failure_backoff_seconds
        self._unknown_kid_interval = unknown_kid_interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._current: SigningKey | None = None
        self._current_at = float("-inf")
        self._verifiers: dict[str, tuple[SigningKey | None, float]] = {}
        self._failed_at = float("-inf")
        self._unknown_lookup_at = float("-inf")

    def current(self) -> SigningKey:
        with self._lock:
            now = self._clock()
            if self._current is None or now - self._current_at >= self._ttl:
                self._refresh_current(now)
            assert self._current is not None
            return self._current

    def find(self, kid: str) -> SigningKey | None:
        if not is_valid_kid(kid):
            return None
        current = self.current()
        if secrets.compare_digest(current.kid, kid):
            return current
        with self._lock:
            now = self._clock()
            cached = self._verifiers.get(kid)
            if cached is not None and now - cached[1] < self._ttl:
                return cached[0]
            if now - self._unknown_lookup_at < self._unknown_kid_interval:
                return None
            self._unknown_lookup_at = now
            key = self._fetch_verifier(kid)
            self._verifiers[kid] = (key, now)
            return key

    def _refresh_current(self, now: float) -> None:
        if now - self._failed_at < self._backoff:
            raise KeyUnavailableError("signing key store recently failed")
        response = self._call(VersionStage=_CURRENT)
        self._current = self._key_from(response)
        self._current_at = now
        self._verifiers = {kid: entry for kid, entry in self._verifiers.items() if kid != self._current.kid}

    def _fetch_verifier(self, kid: str) -> SigningKey | None:
        try:
            response = self._call(VersionId=kid)
        except _VersionNotFoundError:
            return None
        stages = set(response.get("VersionStages", []))
        return self._key_from(response) if stages & {_CURRENT, _PREVIOUS} else None

    def _call(self, **selector: str) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return dict(self._client.get_secret_value(SecretId=self._secret_id, **selector))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if "VersionId" in selector and code in {
                "ResourceNotFoundException",
                "ValidationException",
            }:
                raise _VersionNotFoundError from None
            self._failed_at = self._clock()
            raise KeyUnavailableError(f"Secrets Manager refused the request: {code}") from None
        except BotoCoreError as error:
            self._failed_at = self._clock()
            raise KeyUnavailableError(f"Secrets Manager unreachable: {type(error).__name__}") from None

    def _key_from(self, response: dict[str, Any]) -> SigningKey:
        value = response.get("SecretString")
        if not isinstance(value, str):
            raise KeyUnavailableError("the signing secret must be a SecretString")
        return SigningKey(
            kid=str(response["VersionId"]), secret=_checked(value.encode(), "the signing secret")
        )


class _VersionNotFoundError(Exception):
    pass
