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

from app.config import ConfigurationError
from app.exceptions import KeyUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MIN_KEY_BYTES = 32
KEY_FILE_NAME = "jwt-signing.key"
_CURRENT = "AWSCURRENT"
_PREVIOUS = "AWSPREVIOUS"
# Secrets Manager version ids are UUIDs; local kids are short hex digests.
_KID_PATTERN = re.compile(r"[A-Za-z0-9-]{8,64}")
# What Secrets Manager accepts as a VersionId (32-64 characters): anything else cannot be one of ours.
_VERSION_ID_PATTERN = re.compile(r"[A-Za-z0-9-]{32,64}")


class WeakKeyError(ConfigurationError, ValueError):
    """A configured key is too short to resist offline guessing."""


class KeyFileModeError(ConfigurationError, PermissionError):
    """The dev key file is readable by others than its owner."""


# How to fix a short key, by where it came from; the message never shows the key.
_HOW_TO_FIX = {
    "JWT_SECRET": (
        "Set a longer one (python -c 'import secrets; print(secrets.token_urlsafe(48))' prints one), "
        "or unset it to use a generated dev key."
    ),
}
_KEY_FILE_FIX = "Delete the file: a new key is generated at the next start."


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


def _checked(secret: bytes, source: str, *, fix: str = "") -> bytes:
    if len(secret) < MIN_KEY_BYTES:
        fix = fix or _HOW_TO_FIX.get(source, "")
        raise WeakKeyError(f"{source} must be at least {MIN_KEY_BYTES} bytes. {fix}".strip())
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


class NoSigningKeys:
    """AWS mode without JWT_SECRET_ARN: only the operator CLI runs so (OperatorSettings), and its
    commands sign and verify nothing. Should one ever try, it fails closed: no key signs, none verifies."""

    def current(self) -> SigningKey:
        raise ConfigurationError(
            "this command needs the signing key: set JWT_SECRET_ARN to the secret that holds it."
        )

    def find(self, kid: str) -> SigningKey | None:
        return None


def load_or_create_key_file(data_dir: Path) -> bytes:
    """The dev key: generated once, readable by the owner only, never committed (DATA_DIR is ignored)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise KeyFileModeError(
                f"{path} must not be readable by group or others. Run: chmod 600 {path}"
            ) from None
        return _checked(path.read_bytes().strip(), str(path), fix=_KEY_FILE_FIX)
    key = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class SecretsManagerKeys:
    """Keys from one Secrets Manager secret, cached per process for `ttl_seconds`.

    AWSCURRENT signs; AWSCURRENT and AWSPREVIOUS verify. A token signed with the cached current key costs
    no call at all, so the secret is fetched once per TTL, never per request. A kid matching neither
    cached key (a token from before a rotation, or from a process that saw the rotation first) triggers
    one refresh of both stages, at most once per `unknown_kid_interval_seconds` whatever the kid: kids
    are compared with what Secrets Manager returns and never sent to it, so a forged kid can neither
    shape a request nor multiply the calls. The previous key is then refreshed with the current one for
    as long as tokens signed with it keep arriving (at most a token lifetime after a rotation).
    When Secrets Manager fails and the cache has expired, KeyUnavailableError (503) follows, retried at
    most once per `failure_backoff_seconds`.
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
        self._previous: SigningKey | None = None
        self._previous_used = False
        self._failed_at = float("-inf")
        self._unknown_lookup_at = float("-inf")

    def current(self) -> SigningKey:
        with self._lock:
            return self._current_key(self._clock())

    def find(self, kid: str) -> SigningKey | None:
        if not _VERSION_ID_PATTERN.fullmatch(kid):
            return None
        with self._lock:
            now = self._clock()
            key = self._match(kid, now)
            if key is not None or now - self._unknown_lookup_at < self._unknown_kid_interval:
                return key
            self._unknown_lookup_at = now
            self._refresh(now, with_previous=True)
            return self._match(kid, now)

    def _current_key(self, now: float) -> SigningKey:
        if self._current is None or now - self._current_at >= self._ttl:
            self._refresh(now, with_previous=False)
        assert self._current is not None
        return self._current

    def _match(self, kid: str, now: float) -> SigningKey | None:
        current = self._current_key(now)
        if secrets.compare_digest(current.kid, kid):
            return current
        previous = self._previous
        if previous is None or not secrets.compare_digest(previous.kid, kid):
            return None
        self._previous_used = True
        return previous

    def _refresh(self, now: float, *, with_previous: bool) -> None:
        if now - self._failed_at < self._backoff:
            raise KeyUnavailableError("signing key store recently failed")
        response = self._get(_CURRENT)
        assert response is not None
        self._current = self._key_from(response)
        self._current_at = now
        # Refreshed together, so the previous key is never older than the current one; dropped when no
        # token needed it for a whole TTL.
        previous = self._get(_PREVIOUS) if with_previous or self._previous_used else None
        self._previous = self._previous_key(previous) if previous is not None else None
        self._previous_used = False

    def _get(self, stage: str) -> dict[str, Any] | None:
        """The version holding `stage`; None only for an AWSPREVIOUS that does not exist yet."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return dict(self._client.get_secret_value(SecretId=self._secret_id, VersionStage=stage))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if stage == _PREVIOUS and code == "ResourceNotFoundException":
                return None  # never rotated
            self._failed_at = self._clock()
            raise KeyUnavailableError(f"Secrets Manager refused the request: {code}") from None
        except BotoCoreError as error:
            self._failed_at = self._clock()
            raise KeyUnavailableError(f"Secrets Manager unreachable: {type(error).__name__}") from None

    def _previous_key(self, response: dict[str, Any]) -> SigningKey | None:
        try:
            return self._key_from(response)
        except (KeyUnavailableError, WeakKeyError):
            return None  # a key that would not be accepted as current does not verify either

    def _key_from(self, response: dict[str, Any]) -> SigningKey:
        value = response.get("SecretString")
        if not isinstance(value, str):
            raise KeyUnavailableError("the signing secret must be a SecretString")
        return SigningKey(
            kid=str(response["VersionId"]), secret=_checked(value.encode(), "the signing secret")
        )
