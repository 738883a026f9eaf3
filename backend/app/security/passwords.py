"""Password hashing with Argon2id; unknown users are verified against a dummy hash so the response time
does not reveal which usernames exist.

The hasher is injected (`Passwords(hasher)`): production uses argon2-cffi's default, the RFC 9106
low-memory profile; the test suite passes a cheaper one instead of patching anything.

argon2-cffi (and its compiled bindings) is imported at the first password hashed or checked: only
registration, login and password changes use it, so the Lambda cold start does not pay for it.
"""

from __future__ import annotations

from typing import Protocol


class Hasher(Protocol):
    """What Passwords needs of argon2.PasswordHasher."""

    def hash(self, password: str) -> str: ...
    def verify(self, hash: str, password: str) -> bool: ...


class Passwords:
    def __init__(self, hasher: Hasher | None = None) -> None:
        self._given: Hasher | None = hasher
        self._dummy: str | None = None

    def _hasher(self) -> Hasher:
        if self._given is None:
            from argon2 import PasswordHasher

            self._given = PasswordHasher()
        return self._given

    def hash(self, password: str) -> str:
        return self._hasher().hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        """True only for the right password; always spends one Argon2 verification."""
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            verified = self._hasher().verify(password_hash or self._dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return False
        return verified and password_hash is not None

    def _dummy_hash(self) -> str:
        # Made with this hasher, so it costs what a real account's hash costs.
        if self._dummy is None:
            self._dummy = self._hasher().hash("dummy password that no account has")
        return self._dummy
