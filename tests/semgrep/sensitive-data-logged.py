# Tests for rule sensitive-data-logged (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import logging
import secrets

import jwt
from fastapi import Request

log = logging.getLogger("app.auth")
logger = logging.getLogger(__name__)


def login(username: str, password: str) -> None:
    # ruleid: sensitive-data-logged
    log.info(f"login attempt for {username} with {password}")


def issued(user_id: str, access_token: str) -> None:
    # ruleid: sensitive-data-logged
    logger.debug("issued token %s for %s", access_token, user_id)


def audit_request(request: Request) -> None:
    # ruleid: sensitive-data-logged
    logging.info("auth header: %s", request.headers.get("Authorization"))


def dump_headers(request: Request) -> None:
    # ruleid: sensitive-data-logged
    log.warning("request headers", extra={"headers": dict(request.headers)})


def password_change(body, principal) -> None:
    # ruleid: sensitive-data-logged
    log.info("password change", extra={"user": principal.user.id, "new": body.new_password})


def debug_token(token: str) -> None:
    # ruleid: sensitive-data-logged
    print("verifying", token)


def failed_verification(token: str, error: Exception) -> None:
    # ruleid: sensitive-data-logged
    logger.error("could not verify {}: {}".format(token, error))


# --- what this project really logs ---------------------------------------------------------------


def access_line(scope: dict, status: int, duration_ms: float) -> None:
    # ok: sensitive-data-logged
    log.info(
        "request",
        extra={"method": scope["method"], "path": "/files/{file_id}", "status": status, "duration_ms": duration_ms},
    )


def unhandled(path: str) -> None:
    # ok: sensitive-data-logged
    log.exception("unhandled error", extra={"path": path})


def revoked(claims) -> None:
    # ok: sensitive-data-logged
    log.info("token revoked", extra={"jti": claims.token_id, "user": claims.user_id})


def rejected(reason: str, token: str) -> None:
    # ok: sensitive-data-logged
    log.warning("token rejected: %s (length %d)", reason, len(token))


def cli_done(command: str, username: str) -> None:
    # ok: sensitive-data-logged
    print(f"{command}: {username}: done")


def key_rotated(kid: str, version_stages: list[str]) -> None:
    # ok: sensitive-data-logged
    logger.info("signing key rotated", extra={"kid": kid, "stages": version_stages})


# --- the names real code uses, and what it builds from them ------------------------------------


def create_access_token(data: dict, key: str) -> str:
    encoded_jwt = jwt.encode(data, key, algorithm="HS256")
    # ruleid: sensitive-data-logged
    logger.debug(f"created token {encoded_jwt} for {data['sub']}")
    return encoded_jwt


def send_reset_email(email: str, password_reset_token: str, frontend: str) -> None:
    link = f"{frontend}/reset-password?token={password_reset_token}"
    # ruleid: sensitive-data-logged
    logger.info("password reset link for %s: %s", email, link)


async def send_verification_code(phone: str) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    # ruleid: sensitive-data-logged
    print(f"SMS to {phone}: your code is {code}")


def reset_with_pin(user_id: str, pin: str) -> None:
    # ruleid: sensitive-data-logged
    log.info("reset requested by %s with pin %s", user_id, pin)


def backup_database(db_password: str, host: str) -> None:
    command = "pg_dump -h " + host + " --password=" + db_password
    # ruleid: sensitive-data-logged
    print("running", command)


def refreshed(user, tokens) -> None:
    # ruleid: sensitive-data-logged
    logger.info("refreshed for %s: %s", user.id, tokens.refresh_token)


def next_page(page_token: str, next_token: str | None) -> None:
    # ok: sensitive-data-logged
    logger.debug("listing page %s, next %s", page_token, next_token)


def http_error(response) -> None:
    # ok: sensitive-data-logged
    log.warning("upstream answered %s (code %s)", response.status_code, response.code)


def report_exit(command: str, code: int) -> None:
    # ok: sensitive-data-logged
    print(f"{command} exited with code {code}")


def verification_sent(user_id: str, code: str) -> None:
    # ok: sensitive-data-logged
    log.info("verification code sent", extra={"user": user_id, "digits": len(code)})


def token_issued(claims) -> None:
    url = f"/users/{claims.user_id}/files"
    # ok: sensitive-data-logged
    log.info("token issued", extra={"jti": claims.token_id, "home": url, "token_type": "bearer"})


async def confirm_email_change(user_id: str, code: str) -> None:
    # ruleid: sensitive-data-logged
    logger.info(f"email change for {user_id} confirmed with code {code}")
