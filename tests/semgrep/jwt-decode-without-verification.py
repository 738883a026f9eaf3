# Tests for rule jwt-decode-without-verification (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import jwt
from jose import jwt as jose_jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ", "ver")
UNVERIFIED = {"verify_signature": False, "verify_exp": True}


def user_id_from(token: str) -> str:
    # ruleid: jwt-decode-without-verification
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims["sub"]


def claims_for_logging(token: str) -> dict:
    # ruleid: jwt-decode-without-verification
    return jwt.decode(token, algorithms=["HS256"], options=dict(verify_signature=False))


def legacy_claims(token: str, key: str) -> dict:
    # ruleid: jwt-decode-without-verification
    return jwt.decode(token, key, verify=False)


def peek(token: str) -> dict:
    # ruleid: jwt-decode-without-verification
    return jwt.decode(token, options=UNVERIFIED, algorithms=[ALGORITHM])


def complete(token: str) -> dict:
    # ruleid: jwt-decode-without-verification
    return jwt.decode_complete(token, options={"verify_signature": False, "verify_aud": False})


def with_jose(token: str, key: str) -> dict:
    # ruleid: jwt-decode-without-verification
    return jose_jwt.decode(token, key, algorithms=["HS256"], options={"verify_signature": False})


# --- what this project really does -------------------------------------------------------------


def verify(token: str, key: bytes, audience: str, issuer: str) -> dict:
    # ok: jwt-decode-without-verification
    return jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        leeway=5,
        options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
    )


def checked_header(token: str) -> dict:
    # ok: jwt-decode-without-verification
    header = jwt.get_unverified_header(token)
    if header.get("alg") != ALGORITHM:
        raise ValueError("algorithm not allowed")
    return header


def verify_explicitly(token: str, key: bytes) -> dict:
    # ok: jwt-decode-without-verification
    return jwt.decode(token, key, algorithms=["HS256"], options={"verify_signature": True})


def verify_with_lookup(token: str, keys, kid: str) -> dict:
    # ok: jwt-decode-without-verification
    return jwt.decode(token, keys.find(kid, verify=False).secret, algorithms=[ALGORITHM])


def issue(claims: dict, key: bytes) -> str:
    # ok: jwt-decode-without-verification
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": "k1"})


def subject_unverified(token: str) -> str:
    # ruleid: jwt-decode-without-verification
    return jwt.decode(token, options={"verify_signature": False}).get("sub")


def subject_verified(token: str, key: bytes) -> str:
    # ok: jwt-decode-without-verification
    return jwt.decode(token, key, algorithms=[ALGORITHM]).get("sub", "")
