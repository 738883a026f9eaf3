# Tests for rule sensitive-data-logged (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import logging

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
