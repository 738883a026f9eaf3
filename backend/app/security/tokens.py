"""Access tokens: the only module that calls jwt.encode / jwt.decode.

Every claim is required, the algorithm is pinned, and the header may carry nothing but alg, typ and
kid: key-bearing headers (jwk, jku, x5u, x5c) and `crit` extensions are refused before any key is used.

A token that passed every check is remembered by its exact text, so its next request skips parsing it
and recomputing its HMAC (PyJWT's strict parsing was most of an authenticated request's own cost):
the same bytes under the same key verify the same way. Everything that can change between two
requests is still checked on every one: the key provider is asked for the token's key (a rotated-out
key or a key store outage counts as for a new token), and the time claims are checked against the
clock as PyJWT checks them. Revocation and the user's token version are the caller's, per request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from app.exceptions import InvalidTokenError
from app.security.keys import SigningKey, SigningKeys

ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
LEEWAY_SECONDS = 5
# Far above any token we issue (~400 bytes), far below header limits: bounds the work per request.
MAX_TOKEN_LENGTH = 2048
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ", "ver")
_ALLOWED_HEADER_FIELDS = frozenset({"alg", "typ", "kid"})
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
# Verified tokens kept per process: a Lambda environment serves a handful of clients, a server a few
# hundred at a time. Only tokens that passed every check get in, so forged ones cannot crowd it out.
VERIFIED_CACHE_SIZE = 1024


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    token_id: str
    token_version: int
    expires_at: int


@dataclass(frozen=True)
class _Verified:
    key: SigningKey
    claims: AccessClaims
    issued_at: int
    not_before: int


@dataclass(frozen=True)
class TokenService:
    keys: SigningKeys
    issuer: str
    audience: str
    ttl_seconds: int
    clock: Callable[[], float] = time.time
    _verified: dict[str, _Verified] = field(default_factory=dict, init=False, repr=False, compare=False)

    def issue(self, *, user_id: str, token_version: int) -> IssuedToken:
        key = self.keys.current()
        now = int(self.clock())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "typ": TOKEN_TYPE,
            "ver": token_version,
        }
        token = jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})
        return IssuedToken(token=token, expires_in=self.ttl_seconds)

    def verify(self, token: object) -> AccessClaims:
        """Raises InvalidTokenError for anything but a genuine, current access token.

        KeyUnavailableError from the key provider propagates: the caller must refuse with 503.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("token missing or of unacceptable size")
        verified = self._verified.get(token)
        if verified is not None:
            if self._still_valid(verified):
                return verified.claims
            self._verified.pop(token, None)  # and verified from scratch, which says why it fails
        header = _checked_header(token)
        key = self.keys.find(header["kid"])
        if key is None:
            raise InvalidTokenError("unknown key id")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
        except (jwt.PyJWTError, RecursionError) as error:
            raise InvalidTokenError(type(error).__name__) from None
        access = _access_claims(claims, now=self.clock(), max_lifetime=self.ttl_seconds + LEEWAY_SECONDS)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # simpler than LRU and as good: a hit saves ~100 us, a miss costs it
        self._verified[token] = _Verified(key, access, issued_at=claims["iat"], not_before=claims["nbf"])
        return access

    def _still_valid(self, verified: _Verified) -> bool:
        """What can have changed since `verified` passed: the key, and the time. Raises what `find`
        raises (KeyUnavailableError), as a full verification would."""
        key = self.keys.find(verified.key.kid)
        if key is None or not secrets.compare_digest(key.secret, verified.key.secret):
            return False
        # PyJWT's comparisons, against the wall clock as PyJWT reads it, then ours against self.clock.
        now, leeway = time.time(), LEEWAY_SECONDS
        if verified.claims.expires_at <= now - leeway or verified.not_before > now + leeway:
            return False
        return verified.issued_at <= now + leeway and verified.issued_at <= self.clock() + leeway


def _checked_header(token: str) -> dict[str, Any]:
    # Parsed here rather than with jwt.get_unverified_header, which would parse the whole token a
    # second time (PyJWT's strict base64url check is a Python loop per character); jwt.decode still
    # re-parses everything strictly, so both parsers must agree before a token is accepted.
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise InvalidTokenError("malformed token")
    try:
        header = json.loads(base64.urlsafe_b64decode(segments[0] + "=" * (-len(segments[0]) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # "[[[[..." nests past the parser's stack
        raise InvalidTokenError("malformed header") from None
    if not isinstance(header, dict) or set(header) - _ALLOWED_HEADER_FIELDS:
        raise InvalidTokenError("unexpected header fields")
    if header.get("alg") != ALGORITHM:
        raise InvalidTokenError("algorithm not allowed")
    if "typ" in header and header["typ"] != "JWT":
        raise InvalidTokenError("unexpected header typ")
    if not isinstance(header.get("kid"), str):
        raise InvalidTokenError("missing key id")
    return header


def _access_claims(claims: dict[str, Any], *, now: float, max_lifetime: int) -> AccessClaims:
    # PyJWT checks exp/nbf/iat values but not the types of the claims we rely on.
    sub, jti, typ, ver, iat = (claims.get(name) for name in ("sub", "jti", "typ", "ver", "iat"))
    if typ != TOKEN_TYPE:
        raise InvalidTokenError("wrong token type")
    if not isinstance(sub, str) or not 1 <= len(sub) <= 64:
        raise InvalidTokenError("bad subject")
    if not isinstance(jti, str) or not 16 <= len(jti) <= 64:
        raise InvalidTokenError("bad token id")
    if type(ver) is not int or ver < 0:
        raise InvalidTokenError("bad token version")
    if type(iat) is not int or iat > now + LEEWAY_SECONDS:
        raise InvalidTokenError("issued in the future")
    exp, nbf = claims["exp"], claims["nbf"]
    # PyJWT coerces with int(), so "1", true and 1.5 would otherwise pass as times.
    if type(exp) is not int or type(nbf) is not int:
        raise InvalidTokenError("bad expiry or not-before")
    # No token outlives the configured TTL: bounds what a key holder can mint and what the revocation
    # store must keep (an expiry past 2**63 cannot even be stored).
    if exp - iat > max_lifetime:
        raise InvalidTokenError("lifetime longer than the configured TTL")
    return AccessClaims(user_id=sub, token_id=jti, token_version=ver, expires_at=exp)
