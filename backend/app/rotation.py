"""Secrets Manager rotation Lambda for the token signing key (`app.rotation.handler`).

Secrets Manager calls it four times per rotation with the same ClientRequestToken (the new VersionId):
createSecret puts a new random key under AWSPENDING, setSecret has nothing to do (the key lives only in
Secrets Manager), testSecret checks the pending key, finishSecret moves AWSCURRENT to it, which makes
the old version AWSPREVIOUS. Every step may be retried, so each is idempotent. See docs/rotation.md.

The logging setup is the API's (redacting filter), installed at import, which on Lambda is the init
phase. The boto3 client (app/aws_clients.py) is built once per execution environment, on first use
rather than at import, so the module imports anywhere (tests, tools) without AWS settings.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app.aws_clients import aws_client
from app.config import LoggingSettings, load_settings
from app.logs import configure_logging
from app.security.keys import MIN_KEY_BYTES

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

log = logging.getLogger(__name__)
# At import, which on Lambda is the init phase: the runtime's root handler exists by then and gets the
# redacting filter, as the API function's does.
configure_logging(load_settings(LoggingSettings).log_level)

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"


class RotationError(Exception):
    """The secret is not in the state this step expects; Secrets Manager retries, then gives up."""


@functools.cache
def _client() -> SecretsManagerClient:
    client: SecretsManagerClient = aws_client("secretsmanager")
    return client


def handler(event: Mapping[str, Any], context: object) -> None:
    """The Lambda entry point: {"SecretId", "ClientRequestToken", "Step"} from Secrets Manager."""
    # ClientRequestToken is the id of the version being created, not a credential.
    secret_id, version_id, step = (event.get(name) for name in ("SecretId", "ClientRequestToken", "Step"))
    if not (isinstance(secret_id, str) and isinstance(version_id, str) and isinstance(step, str)):
        raise RotationError("not a Secrets Manager rotation event")
    rotate_step(_client(), secret_id=secret_id, version_id=version_id, step=step)


def rotate_step(client: SecretsManagerClient, *, secret_id: str, version_id: str, step: str) -> None:
    action = _STEPS.get(step)
    if action is None:
        raise RotationError(f"unknown rotation step {step!r}")
    metadata = client.describe_secret(SecretId=secret_id)
    if not metadata.get("RotationEnabled"):
        raise RotationError("rotation is not enabled for this secret")
    stages = metadata.get("VersionIdsToStages", {}).get(version_id)
    if stages is not None and CURRENT in stages:
        log.info("rotation already finished", extra={"step": step, "version_id": version_id})
        return
    # Secrets Manager creates the version (labelled AWSPENDING, without a value) before createSecret;
    # createSecret also accepts a version that does not exist yet and creates it.
    if (stages is None and step != "createSecret") or (stages is not None and PENDING not in stages):
        raise RotationError("this version is not pending rotation")
    action(client, secret_id, version_id)
    log.info("rotation step done", extra={"step": step, "version_id": version_id})


def _create(client: SecretsManagerClient, secret_id: str, version_id: str) -> None:
    # The current version must exist: rotating a secret nobody has initialised is a setup mistake.
    client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)
    try:
        client.get_secret_value(SecretId=secret_id, VersionId=version_id, VersionStage=PENDING)
    except client.exceptions.ResourceNotFoundException:
        client.put_secret_value(
            SecretId=secret_id,
            ClientRequestToken=version_id,
            SecretString=secrets.token_urlsafe(48),
            VersionStages=[PENDING],
        )
    # Otherwise a retried createSecret: the pending key stays as it is.


def _set(client: SecretsManagerClient, secret_id: str, version_id: str) -> None:
    """Nothing outside Secrets Manager holds the key: the app reads it from there."""


def _test(client: SecretsManagerClient, secret_id: str, version_id: str) -> None:
    pending = client.get_secret_value(SecretId=secret_id, VersionId=version_id, VersionStage=PENDING)
    value = pending.get("SecretString")
    if not isinstance(value, str) or len(value.encode()) < MIN_KEY_BYTES:
        raise RotationError(f"the pending key must be a SecretString of at least {MIN_KEY_BYTES} bytes")


def _finish(client: SecretsManagerClient, secret_id: str, version_id: str) -> None:
    versions = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    current = next((version for version, stages in versions.items() if CURRENT in stages), None)
    if current == version_id:
        return
    # Moving AWSCURRENT makes Secrets Manager label the version it leaves AWSPREVIOUS.
    if current is None:
        client.update_secret_version_stage(
            SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=version_id
        )
    else:
        client.update_secret_version_stage(
            SecretId=secret_id,
            VersionStage=CURRENT,
            MoveToVersionId=version_id,
            RemoveFromVersionId=current,
        )


_STEPS: dict[str, Callable[[SecretsManagerClient, str, str], None]] = {
    "createSecret": _create,
    "setSecret": _set,
    "testSecret": _test,
    "finishSecret": _finish,
}
