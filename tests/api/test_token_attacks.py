"""Attacks on the access token. Each forged token must get a 401 (never a 5xx), and the genuine token of
the same user must keep working afterwards: a rejection that breaks the real session is a DoS, and a
500 means some input reached code that did not expect it.

Tokens are forged by hand (raw base64url segments, hmac) wherever PyJWT would refuse to build them.
Attacks that need the real signing key run in process; the rest also run black-box (--base-url).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.deps import app_context
from app.config import Settings
from app.exceptions import InvalidTokenError, KeyUnavailableError
from app.factory import build_context, create_app
from app.security.keys import SigningKey, SigningKeys
from app.security.tokens import REQUIRED_CLAIMS, TokenService
from tests.support.api import Api, Session
from tests.support.apps import VIAS, client_for, fast_passwords

_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def forge(header: object, payload: object, key: bytes | None = None, *, digest: str = "HS256") -> str:
    """A JWS compact token with any header and payload; HMAC-signed with `key`, or unsigned if None."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    if key is None:
        return f"{signing_input}."
    signature = hmac.new(key, signing_input.encode(), _DIGESTS[digest]).digest()
    return f"{signing_input}.{b64url(signature)}"


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The genuine token's header and claims: all an attacker needs to read, no key required."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def real_key(app: FastAPI) -> SigningKey:
    tokens: TokenService = app_context(app).tokens
    return tokens.keys.current()


def me(api: Api, token: str, **kwargs: Any) -> int:
    return api.client.get("/users/me", headers={"Authorization": f"Bearer {token}"}, **kwargs).status_code


def assert_rejected(api: Api, token: str, genuine: Session) -> None:
    response = api.client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, (response.status_code, response.text, token[:200])
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not authenticated"}
    assert me(api, genuine.token) == 200


@pytest.fixture
def user(api: Api) -> Session:
    return api.register()


# -- alg none, other algorithms, signatures ---------------------------------------------------------


@pytest.mark.threat("T-03")
@pytest.mark.parametrize("api", VIAS, indirect=True)
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "NoNe"])
@pytest.mark.parametrize("signature", ["", "keep"])
def test_alg_none_in_any_case_is_401(api: Api, user: Session, alg: str, signature: str) -> None:
    header, claims = parts(user.token)
    unsigned = forge({**header, "alg": alg}, claims)
    token = unsigned + user.token.rsplit(".", 1)[1] if signature == "keep" else unsigned
    assert_rejected(api, token, user)
    assert_rejected(api, unsigned.rstrip("."), user)


@pytest.mark.threat("T-03")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    ("alg", "digest"),
    [
        ("HS384", "HS384"),
        ("HS512", "HS512"),
        ("RS256", "HS256"),
        ("ES256", "HS256"),
        ("PS256", "HS256"),
        ("EdDSA", "HS256"),
        ("hs256", "HS256"),
        ("HS256 ", "HS256"),
        ("", "HS256"),
    ],
)
def test_other_algorithms_signed_with_the_real_key_are_401(
    api: Api, app: FastAPI, user: Session, alg: str, digest: str
) -> None:
    header, claims = parts(user.token)
    key = real_key(app)
    assert_rejected(api, forge({**header, "alg": alg}, claims, key.secret, digest=digest), user)


@pytest.mark.threat("T-03")
@pytest.mark.inprocess
@pytest.mark.parametrize("alg", [None, 256, ["HS256"], {"HS256": True}, True])
def test_alg_of_the_wrong_type_is_401(api: Api, app: FastAPI, user: Session, alg: object) -> None:
    header, claims = parts(user.token)
    assert_rejected(api, forge({**header, "alg": alg}, claims, real_key(app).secret), user)
    del header["alg"]
    assert_rejected(api, forge(header, claims, real_key(app).secret), user)


def _rsa_signed(header: dict[str, Any], claims: dict[str, Any], private: rsa.RSAPrivateKey) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}".encode()
    signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{b64url(signature)}"


@pytest.mark.threat("T-03")
def test_asymmetric_tokens_signed_by_the_attacker_are_401(api: Api, user: Session) -> None:
    header, claims = parts(user.token)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_rejected(api, _rsa_signed({**header, "alg": "RS256"}, claims, private), user)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    assert_rejected(api, jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": header["kid"]}), user)
    # Classic confusion: HMAC with the attacker's public key bytes as the secret.
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert_rejected(api, forge(header, claims, public_pem), user)


@pytest.mark.threat("T-01")
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_stripped_or_altered_signature_is_401(api: Api, user: Session) -> None:
    signing_input, signature = user.token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    flipped = bytes([raw[0] ^ 0x01]) + raw[1:]
    for token in (
        signing_input,
        f"{signing_input}.",
        f"{signing_input}.{b64url(flipped)}",
        f"{signing_input}.{signature[:-4]}",
        f"{signing_input}.{signature}{signature}",
        f"{signing_input}.{b64url(b'')}",
        f"{signing_input}.{b64url(bytes(32))}",
        f"{user.token}.{signature}",
        f"{signing_input}.{signature}==",
    ):
        assert_rejected(api, token, user)


@pytest.mark.threat("T-01")
def test_claims_altered_under_the_genuine_signature_are_401(api: Api, user: Session) -> None:
    victim = api.register()
    header, claims = parts(user.token)
    signature = user.token.rsplit(".", 1)[1]
    for changed in (
        {**claims, "sub": victim.id},
        {**claims, "exp": claims["exp"] + 86_400},
        {**claims, "ver": claims["ver"] + 1},
        {**claims, "role": "admin"},
    ):
        assert_rejected(api, f"{segment(header)}.{segment(changed)}.{signature}", user)
    assert me(api, victim.token) == 200


@pytest.mark.threat("T-01")
def test_token_of_another_user_spliced_is_401(api: Api, user: Session) -> None:
    other = api.register()
    ours, theirs = user.token.split("."), other.token.split(".")
    for token in (
        f"{ours[0]}.{theirs[1]}.{ours[2]}",
        f"{ours[0]}.{ours[1]}.{theirs[2]}",
        f"{theirs[0]}.{ours[1]}.{theirs[2]}",
    ):
        assert_rejected(api, token, user)


@pytest.mark.threat("T-01")
@pytest.mark.parametrize(
    "token",
    [
        "-",
        "null",
        "undefined",
        "a.b.c",
        "a.b",
        "....",
        "eyJhbGciOiJIUzI1NiJ9",
        "e30.e30.e30",
        "e30.e30.e30.e30.e30",  # JWE-shaped
        "%2e%2e%2f",
        "\u00e9\u00e8.\u00e0.x",
        "eyJ.eyJ.",
        "=.=.=",
    ],
)
def test_malformed_tokens_are_401(api: Api, user: Session, token: str) -> None:
    if any(ord(ch) > 0x7E for ch in token):
        # httpx refuses non-ASCII header values; send them as raw latin-1 bytes.
        headers = [(b"Authorization", ("Bearer " + token).encode("latin-1"))]
        response = api.client.get("/users/me", headers=headers)
        assert response.status_code == 401
        assert me(api, user.token) == 200
    else:
        assert_rejected(api, token, user)


@pytest.mark.threat("T-01")
@pytest.mark.parametrize(
    "authorization",
    # Trailing whitespace is left out: it cannot cross a real HTTP connection (--base-url).
    ["Basic {t}", "Token {t}", "Bearer", "{t}", "Bearer: {t}", "Bearer {t} {t}", "Bearer\t{t}x"],
)
def test_wrong_authorization_schemes_are_401(api: Api, user: Session, authorization: str) -> None:
    response = api.client.get("/users/me", headers={"Authorization": authorization.format(t=user.token)})
    assert response.status_code == 401
    assert me(api, user.token) == 200


# -- key-bearing headers: jwk, jku, x5u, x5c, kid ----------------------------------------------------


class _HitCounter(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def key_server() -> Iterator[tuple[str, list[str]]]:
    """A local URL an attacker would put in jku/x5u; it counts every request the server makes to it."""
    hits: list[str] = []
    handler = type("Handler", (_HitCounter,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _rsa_jwk(private: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = private.public_key().public_numbers()

    def encode(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "e": encode(numbers.e), "n": encode(numbers.n), "alg": "RS256", "use": "sig"}


@pytest.mark.threat("T-04")
def test_self_signed_embedded_keys_and_key_urls_are_401_without_any_fetch(
    api: Api, user: Session, key_server: tuple[str, list[str]]
) -> None:
    url, hits = key_server
    header, claims = parts(user.token)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_secret = b"attacker-chosen-secret-0123456789abcdef"
    oct_jwk = {"kty": "oct", "k": b64url(attacker_secret)}
    rsa_header = {"alg": "RS256", "typ": "JWT", "kid": "attacker"}
    for token in (
        _rsa_signed({**rsa_header, "jwk": _rsa_jwk(private)}, claims, private),
        _rsa_signed({**rsa_header, "jku": f"{url}/jwks.json"}, claims, private),
        _rsa_signed({**rsa_header, "x5u": f"{url}/cert.pem"}, claims, private),
        _rsa_signed({**rsa_header, "x5c": [b64url(b"not a certificate")]}, claims, private),
        forge({**header, "jwk": oct_jwk}, claims, attacker_secret),
        forge({**header, "jku": f"{url}/oct.json"}, claims, attacker_secret),
        forge({**header, "x5u": f"{url}/oct.pem"}, claims, attacker_secret),
        forge({**header, "kid": f"{url}/kid"}, claims, attacker_secret),
    ):
        assert_rejected(api, token, user)
    assert hits == []


@pytest.mark.threat("T-04")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    "extra",
    [
        {"jwk": {"kty": "oct", "k": "AAAA"}},
        {"jku": "http://127.0.0.1:9/jwks.json"},
        {"x5u": "http://127.0.0.1:9/cert.pem"},
        {"x5c": ["AAAA"]},
        {"x5t": "AAAA"},
        {"cty": "JWT"},
        {"b64": False},
        {"zip": "DEF"},
    ],
)
def test_key_bearing_headers_are_refused_even_with_a_valid_signature(
    api: Api, app: FastAPI, user: Session, extra: dict[str, Any]
) -> None:
    header, claims = parts(user.token)
    assert_rejected(api, forge({**header, **extra}, claims, real_key(app).secret), user)


@pytest.mark.threat("T-04")
@pytest.mark.inprocess
def test_verifier_opens_no_connection_for_key_urls(
    app: FastAPI, user: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process there is no network at all: any connect or urlopen from verify is the bug."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError("the token verifier tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    tokens: TokenService = app_context(app).tokens
    header, claims = parts(user.token)
    secret = real_key(app).secret
    for extra in ({"jku": "http://198.51.100.1/jwks.json"}, {"x5u": "https://198.51.100.1/c.pem"}):
        with pytest.raises(InvalidTokenError):
            tokens.verify(forge({**header, **extra}, claims, secret))
    assert attempts == []


@pytest.mark.threat("T-04")
@pytest.mark.parametrize(
    "kid",
    [
        "",
        "../../etc/passwd",
        "../../../../../../dev/null",
        "/dev/null",
        "' OR 1=1--",
        "x' UNION SELECT 'secret",
        "1; DROP TABLE users",
        "$(touch /tmp/pwned)",
        "a" * 10_000,
        "kid\x00",
        None,
        0,
        ["kid"],
        {"kid": "kid"},
    ],
)
def test_kid_injection_is_401(api: Api, user: Session, kid: object) -> None:
    header, claims = parts(user.token)
    text = kid if isinstance(kid, str) else json.dumps(kid)
    # Each signed with what a vulnerable lookup would return: empty file, the kid itself, a known key.
    for key in (b"", text.encode(), b"secret", header["kid"].encode()):
        assert_rejected(api, forge({**header, "kid": kid}, claims, key), user)


@pytest.mark.threat("T-04")
@pytest.mark.inprocess
def test_missing_or_unknown_kid_with_the_real_key_is_401(api: Api, app: FastAPI, user: Session) -> None:
    header, claims = parts(user.token)
    secret = real_key(app).secret
    without_kid = {name: value for name, value in header.items() if name != "kid"}
    for changed in (without_kid, {**header, "kid": "0" * 16}, {**header, "kid": header["kid"].upper()}):
        assert_rejected(api, forge(changed, claims, secret), user)


# -- weak, guessable or leaked secrets ----------------------------------------------------------------


WEAK_SECRETS = [
    "",
    "secret",
    "password",
    "changeme",
    "change-me",
    "jwt",
    "jwtsecret",
    "jwt-secret",
    "key",
    "test",
    "dev",
    "123456",
    "admin",
    "your-256-bit-secret",
    "supersecret",
    "fastapi-lambda",
    "fastapi-lambda-api",
    "JWT_SECRET",
]


@pytest.mark.threat("T-05")
@pytest.mark.parametrize("secret", WEAK_SECRETS)
def test_tokens_signed_with_common_weak_secrets_are_401(api: Api, user: Session, secret: str) -> None:
    header, claims = parts(user.token)
    assert_rejected(api, forge(header, claims, secret.encode()), user)
    # The only public "secret" a token carries is its kid.
    assert_rejected(api, forge(header, claims, header["kid"].encode()), user)


@pytest.mark.threat("T-05")
def test_genuine_token_does_not_verify_with_any_weak_secret(user: Session) -> None:
    """The offline version of the attack: the real key is none of the usual guesses."""
    header = jwt.get_unverified_header(user.token)
    signing_input, signature = user.token.rsplit(".", 1)
    for guess in [*WEAK_SECRETS, header["kid"]]:
        candidate = hmac.new(guess.encode(), signing_input.encode(), hashlib.sha256).digest()
        assert b64url(candidate) != signature, guess


# -- time claims ---------------------------------------------------------------------------------------


_DROP = object()  # as a claim value: leave the claim out


def _resigned(app: FastAPI, user: Session, **changes: object) -> str:
    header, claims = parts(user.token)
    claims.update(changes)
    for name in [name for name, value in changes.items() if value is _DROP]:
        del claims[name]
    return forge(header, claims, real_key(app).secret)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": -3600}, id="expired-an-hour-ago"),
        pytest.param({"exp": -30}, id="expired-beyond-leeway"),
        pytest.param({"exp": -(10**9)}, id="expired-long-ago"),
        pytest.param({"nbf": 3600}, id="nbf-future"),
        pytest.param({"iat": 3600}, id="iat-future"),
        pytest.param({"iat": 3600, "nbf": 3600, "exp": 7200}, id="all-future"),
    ],
)
def test_expired_and_not_yet_valid_tokens_are_401(
    api: Api, app: FastAPI, user: Session, changes: dict[str, int]
) -> None:
    now = int(time.time())
    assert_rejected(api, _resigned(app, user, **{k: now + v for k, v in changes.items()}), user)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_token_missing_any_required_claim_is_401(api: Api, app: FastAPI, user: Session, claim: str) -> None:
    assert_rejected(api, _resigned(app, user, **{claim: _DROP}), user)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize("extra_seconds", [60, 86_400, 2**63, 10**30])
def test_token_living_longer_than_the_configured_ttl_is_401(
    api: Api, app: FastAPI, user: Session, extra_seconds: int
) -> None:
    """Only a key holder can mint these; they must still not outlive the TTL nor break the revocation
    store (an expiry past 2**63 cannot be stored: logout used to answer 500)."""
    ttl = app_context(app).settings.access_token_ttl_seconds
    _, claims = parts(user.token)
    token = _resigned(app, user, exp=claims["iat"] + ttl + extra_seconds)
    assert_rejected(api, token, user)
    logout = api.client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert logout.status_code == 401


@pytest.mark.threat("T-02")
@pytest.mark.parametrize("depth", [100, 1_000, 1_500])
def test_deeply_nested_json_header_is_401(api: Api, user: Session, depth: int) -> None:
    """Nesting past the JSON parser's recursion limit must be a bad token, not a 500 (it was one)."""
    token = f"{b64url(b'[' * depth)}.e30.e30"
    assert len(token) <= 2048
    assert_rejected(api, token, user)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize("depth", [100, 1_000, 1_400])
def test_deeply_nested_json_payload_signed_with_the_real_key_is_401(
    api: Api, app: FastAPI, user: Session, depth: int
) -> None:
    header, _ = parts(user.token)
    signing_input = f"{segment(header)}.{b64url(b'[' * depth)}"
    signature = hmac.new(real_key(app).secret, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64url(signature)}"
    assert len(token) <= 2048
    assert_rejected(api, token, user)


# -- iss, aud, typ -------------------------------------------------------------------------------------


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    "iss",
    [
        "fastapi-lambd",
        "fastapi-lambda-evil",
        "evil-fastapi-lambda",
        "FASTAPI-LAMBDA",
        " fastapi-lambda",
        "fastapi-lambda\x00",
        "",
        "f",
        ["fastapi-lambda"],
        ["fastapi-lambda", "evil"],
        _DROP,
    ],
)
def test_wrong_missing_or_partial_issuer_is_401(api: Api, app: FastAPI, user: Session, iss: object) -> None:
    assert app_context(app).settings.jwt_issuer == "fastapi-lambda"
    assert_rejected(api, _resigned(app, user, iss=iss), user)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    "aud",
    [
        "evil",
        "fastapi-lambda",
        "fastapi-lambda-ap",
        "fastapi-lambda-api-evil",
        "",
        ["fastapi-lambda-api"],
        ["fastapi-lambda-api", "evil"],
        [],
        _DROP,
    ],
)
def test_wrong_or_missing_audience_is_401(api: Api, app: FastAPI, user: Session, aud: object) -> None:
    assert app_context(app).settings.jwt_audience == "fastapi-lambda-api"
    assert_rejected(api, _resigned(app, user, aud=aud), user)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize("typ", ["refresh", "id", "ID", "Access", "ACCESS", "access ", "", _DROP])
def test_token_type_confusion_is_401(api: Api, app: FastAPI, user: Session, typ: object) -> None:
    assert_rejected(api, _resigned(app, user, typ=typ), user)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize("typ", ["at+jwt", "JWS", "jwt ", "refresh", None, 1])
def test_header_type_confusion_is_401(api: Api, app: FastAPI, user: Session, typ: object) -> None:
    header, claims = parts(user.token)
    assert_rejected(api, forge({**header, "typ": typ}, claims, real_key(app).secret), user)


# -- claims of the wrong JSON type ---------------------------------------------------------------------


_WRONG_TYPES: dict[str, object] = {
    "null": None,
    "true": True,
    "false": False,
    "zero": 0,
    "number": 12345,
    "float": 1.5,
    "string": "1",
    "list": [],
    "list-of-value": ["x"],
    "object": {},
    "object-with-value": {"value": 1},
}
_CLAIM_TYPES = {
    **dict.fromkeys(("iss", "aud", "sub", "jti", "typ"), str),
    **dict.fromkeys(("iat", "nbf", "exp", "ver"), int),
}


def _wrong_type_cases() -> list[Any]:
    cases = []
    for claim in REQUIRED_CLAIMS:
        for name, value in _WRONG_TYPES.items():
            if type(value) is _CLAIM_TYPES[claim]:
                continue
            cases.append(pytest.param(claim, value, id=f"{claim}-{name}"))
    return cases


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize(("claim", "value"), _wrong_type_cases())
def test_claim_of_the_wrong_json_type_resigned_with_the_real_key_is_401(
    api: Api, app: FastAPI, user: Session, claim: str, value: object
) -> None:
    assert_rejected(api, _resigned(app, user, **{claim: value}), user)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    "payload", [[], ["claims"], "claims", 1, None, True], ids=["list", "list1", "str", "int", "null", "bool"]
)
def test_payload_that_is_not_an_object_is_401(api: Api, app: FastAPI, user: Session, payload: object) -> None:
    header, _ = parts(user.token)
    assert_rejected(api, forge(header, payload, real_key(app).secret), user)
    assert_rejected(api, forge(payload, {}, real_key(app).secret), user)


@pytest.mark.threat("T-01")
@pytest.mark.inprocess
def test_resigned_token_for_an_unknown_or_stale_user_is_401(api: Api, app: FastAPI, user: Session) -> None:
    """A valid signature is not enough: the subject must exist and the token version must be current."""
    assert_rejected(api, _resigned(app, user, sub="00000000-0000-4000-8000-000000000000"), user)
    assert_rejected(api, _resigned(app, user, sub="x" * 65), user)
    assert_rejected(api, _resigned(app, user, ver=1), user)
    assert_rejected(api, _resigned(app, user, ver=-1), user)
    assert_rejected(api, _resigned(app, user, jti="short"), user)


# -- crit, size, transport -----------------------------------------------------------------------------


@pytest.mark.threat("T-04")
@pytest.mark.inprocess
@pytest.mark.parametrize(
    "crit",
    [
        {"crit": ["exp"]},
        {"crit": ["x-unknown"], "x-unknown": True},
        {"crit": ["b64"], "b64": True},
        {"crit": []},
        {"crit": "x-unknown"},
    ],
)
def test_unknown_crit_header_is_401(api: Api, app: FastAPI, user: Session, crit: dict[str, Any]) -> None:
    header, claims = parts(user.token)
    assert_rejected(api, forge({**header, **crit}, claims, real_key(app).secret), user)


@pytest.mark.threat("T-10")
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_oversized_token_is_refused_fast(api: Api, user: Session) -> None:
    header, claims = parts(user.token)
    padded = forge(header, {**claims, "pad": "A" * 75_000}, b"k" * 32)
    assert len(padded) > 100_000
    started = time.perf_counter()
    response = api.client.get("/users/me", headers={"Authorization": f"Bearer {padded}"})
    elapsed = time.perf_counter() - started
    assert response.status_code in (401, 431), response.status_code
    assert elapsed < 2.0
    assert me(api, user.token) == 200


@pytest.mark.threat("T-01")
@pytest.mark.parametrize("api", VIAS, indirect=True)
@pytest.mark.parametrize("parameter", ["access_token", "token", "jwt", "authorization"])
def test_token_in_the_query_string_is_401(api: Api, user: Session, parameter: str) -> None:
    response = api.client.get("/users/me", params={parameter: user.token})
    assert response.status_code == 401
    response = api.client.get("/users/me", params={parameter: f"Bearer {user.token}"})
    assert response.status_code == 401
    assert me(api, user.token) == 200


@pytest.mark.threat("T-01")
def test_token_in_a_cookie_or_body_is_401(api: Api, user: Session) -> None:
    api.client.cookies.set("access_token", user.token)
    try:
        assert api.client.get("/users/me").status_code == 401
    finally:
        api.client.cookies.clear()
    response = api.client.post("/auth/logout", data={"access_token": user.token})
    assert response.status_code == 401
    assert me(api, user.token) == 200


# -- the verifier itself, fuzzed -----------------------------------------------------------------------


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _json_segment(value: object) -> str:
    # Python's json writes NaN/Infinity; a hostile client can send exactly those bytes.
    return b64url(json.dumps(value).encode())


@st.composite
def _structures(draw: st.DrawFn, kid: str, genuine: dict[str, Any]) -> tuple[object, object]:
    """Anything at all, or something close to a genuine token with some parts replaced."""
    header = draw(
        _json
        | st.fixed_dictionaries(
            {},
            optional={
                "alg": st.sampled_from(["HS256", "none", "HS512", "RS256"]) | _json,
                "kid": st.just(kid) | _json,
                "typ": st.just("JWT") | _json,
                "crit": _json,
                "jku": _json,
            },
        )
    )
    if draw(st.booleans()):
        return header, draw(_json)
    payload = draw(
        st.fixed_dictionaries({}, optional={name: st.just(value) | _json for name, value in genuine.items()})
    )
    payload.update(draw(st.dictionaries(st.text(max_size=8), _json, max_size=3)))
    return header, payload


@pytest.fixture
def token_service(app: FastAPI) -> TokenService:
    service: TokenService = app_context(app).tokens
    return service


def _verify_only_raises_invalid_token(service: TokenService, token: object) -> None:
    with contextlib.suppress(InvalidTokenError):
        service.verify(token)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.text(max_size=300) | st.binary(max_size=64) | st.none() | st.integers())
def test_verifier_only_raises_invalid_token_for_arbitrary_input(
    token_service: TokenService, token: object
) -> None:
    _verify_only_raises_invalid_token(token_service, token)


@pytest.mark.threat("T-02")
@pytest.mark.inprocess
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_verifier_only_raises_invalid_token_for_arbitrary_structures(
    token_service: TokenService, data: st.DataObject
) -> None:
    key = token_service.keys.current()
    genuine = jwt.decode(
        token_service.issue(user_id="u" * 36, token_version=0).token,
        options={"verify_signature": False},
    )
    header, payload = data.draw(_structures(key.kid, genuine))
    signing_input = f"{_json_segment(header)}.{_json_segment(payload)}"
    signature = b64url(hmac.new(key.secret, signing_input.encode(), hashlib.sha256).digest())
    for token in (f"{signing_input}.{signature}", f"{signing_input}.", signing_input):
        _verify_only_raises_invalid_token(token_service, token)


# -- the key store is down -------------------------------------------------------------------------------


class _SwitchableKeys:
    """The real keys, behind a switch that makes the key store unreachable."""

    def __init__(self, keys: SigningKeys) -> None:
        self.keys = keys
        self.down = False

    def current(self) -> SigningKey:
        if self.down:
            raise KeyUnavailableError("key store unreachable (test)")
        return self.keys.current()

    def find(self, kid: str) -> SigningKey | None:
        if self.down:
            raise KeyUnavailableError("key store unreachable (test)")
        return self.keys.find(kid)


@pytest.mark.threat("T-22")
@pytest.mark.inprocess
def test_key_store_outage_fails_closed_with_503(settings: Settings) -> None:
    context = build_context(settings, passwords=fast_passwords())
    keys = _SwitchableKeys(context.tokens.keys)
    context = dataclasses.replace(context, tokens=dataclasses.replace(context.tokens, keys=keys))
    with client_for(create_app(settings, context=context), "asgi") as client:
        api = Api(client)
        user = api.register()
        keys.down = True
        for response in (
            client.get("/users/me", headers=user.headers),
            client.get("/files", headers=user.headers),
            client.post("/auth/token", data={"username": user.username, "password": user.password}),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json() == {"detail": "Service temporarily unavailable"}
        # A forged token gets no further during the outage than a genuine one.
        header, claims = parts(user.token)
        forged = client.get(
            "/users/me", headers={"Authorization": f"Bearer {forge(header, claims, b'x' * 32)}"}
        )
        assert forged.status_code in (401, 503)
        keys.down = False
        assert me(api, user.token) == 200
