# Tests for rule jwt-decode-algorithms-not-pinned (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import jwt
from jose import jwt as jose_jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "typ", "ver")


def verify_any_algorithm(token: str, key: bytes) -> dict:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key)


def verify_with_audience(token: str, key: bytes, audience: str) -> dict:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key=key, audience=audience, options={"require": ["exp"]})


def verify_allowing_none(token: str, key: bytes) -> dict:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=["HS256", "none"])


def verify_none_only(token: str) -> dict:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, "", algorithms=("none",))


def verify_with_header_algorithm(token: str, key: bytes) -> dict:
    header = jwt.get_unverified_header(token)
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=[header["alg"]])


def verify_inline_header_algorithm(token: str, key: bytes) -> dict:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=[jwt.get_unverified_header(token)["alg"]])


def verify_with_jose(token: str, key: str) -> dict:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jose_jwt.decode(token, key, audience="fastapi-lambda-api")


def verify_complete(token: str, key: bytes) -> dict:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode_complete(token, key)


# --- what this project really does -------------------------------------------------------------


def verify(token: str, key: bytes, audience: str, issuer: str) -> dict:
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        leeway=5,
        options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
    )


def verify_with_key_lookup(token: str, keys, kid: str) -> dict:
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, keys.find(kid).secret.decode("ascii"), algorithms=[ALGORITHM])


def verify_positional(token: str, key: bytes) -> dict:
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, ["HS256"])


def verify_rs256(token: str, public_key: str) -> dict:
    # ok: jwt-decode-algorithms-not-pinned
    return jose_jwt.decode(token, public_key, algorithms=["RS256"], audience="fastapi-lambda-api")


def verify_with_options(token: str, key: bytes, **options) -> dict:
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, **options)


def header_then_verify(token: str, keys) -> dict:
    header = jwt.get_unverified_header(token)
    key = keys.find(header["kid"])
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key.secret, algorithms=[ALGORITHM])


# The result used straight away: the call on the result is not a decode of its own.


def subject_of(token: str, key: bytes) -> str:
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=["HS256"]).get("sub")


def subject_lowered(token: str, key: bytes) -> str:
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=[ALGORITHM])["sub"].lower()


def claims_copy(token: str, key: bytes) -> dict:
    # ok: jwt-decode-algorithms-not-pinned
    return dict(jwt.decode(token, key, algorithms=[ALGORITHM]))


def claims_model(token: str, key: bytes, model):
    # ok: jwt-decode-algorithms-not-pinned
    return model(**jwt.decode(token, key, algorithms=[ALGORITHM]), strict=True)


def claims_items(token: str, key: bytes) -> list:
    # ok: jwt-decode-algorithms-not-pinned
    return sorted(jwt.decode(token, key, algorithms=[ALGORITHM]).items())


def jose_subject(token: str, key: str) -> str | None:
    # ok: jwt-decode-algorithms-not-pinned
    return jose_jwt.decode(token, key, algorithms=["HS256"], audience="fastapi-lambda-api").get("sub", None)


def complete_subject(token: str, key: bytes) -> str:
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode_complete(token, key, algorithms=[ALGORITHM])["payload"].get("sub")


def unpinned_subject(token: str, key: bytes) -> str:
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key).get("sub")


# The token's header algorithm reaching algorithms= through a variable.


def verify_with_header_alg_variable(token: str, key: bytes) -> dict:
    alg = jwt.get_unverified_header(token)["alg"]
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=[alg])


def verify_with_header_then_alg(token: str, keys) -> dict:
    unverified_header = jwt.get_unverified_header(token)
    key = keys.find(unverified_header["kid"])
    algorithm = unverified_header.get("alg", "HS256")
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key.secret, algorithms=[algorithm], audience="fastapi-lambda-api")


def verify_jose_with_header_alg(token: str, key: str) -> dict:
    header = jose_jwt.get_unverified_header(token)
    # ruleid: jwt-decode-algorithms-not-pinned
    return jose_jwt.decode(token, key, algorithms=header.get("alg"))


def verify_with_own_header_parser(token: str, key: bytes) -> dict:
    header = checked_header(token)
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=[header["alg"]], options={"require": ["exp"]})


def verify_with_parsed_header_get(token: str, key: bytes, parse) -> dict:
    token_header = parse(token.split(".")[0])
    # ruleid: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=token_header.get("alg"))


def verify_after_own_header_check(token: str, keys) -> dict:
    header = checked_header(token)
    key = keys.find(header["kid"])
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key.secret, algorithms=[ALGORITHM])


def verify_checked_header_alg(token: str, key: bytes) -> dict:
    alg = jwt.get_unverified_header(token)["alg"]
    if alg not in {ALGORITHM}:
        raise jwt.InvalidAlgorithmError(alg)
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, key, algorithms=[alg])


def verify_by_header_kid_from_jwks(token: str, jwks: dict) -> dict:
    header = jwt.get_unverified_header(token)
    entry = jwks[header["kid"]]
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, entry["key"], algorithms=[jwks[header["kid"]]["alg"]])


def verify_dual_algorithm(token: str, secret: str, public_key) -> dict:
    # Supabase-style: the header picks a branch, each branch pins its own algorithm.
    alg = jwt.get_unverified_header(token).get("alg")
    if alg == "HS256":
        # ok: jwt-decode-algorithms-not-pinned
        return jwt.decode(token, secret, algorithms=["HS256"], leeway=60)
    # ok: jwt-decode-algorithms-not-pinned
    return jwt.decode(token, public_key, algorithms=["ES256"], leeway=60)
