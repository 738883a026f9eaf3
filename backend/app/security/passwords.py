"""Password hashing with Argon2id; unknown users are verified against a dummy hash so the response time
does not reveal which usernames exist."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("dummy password that no account has")


def verify_password(password: str, password_hash: str | None) -> bool:
    """True only for the right password; always spends one Argon2 verification."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
