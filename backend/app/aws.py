"""AWS clients for AWS mode, built once at init. boto3 is imported only here, so local mode and its
cold start never pay for it. Endpoints follow AWS_ENDPOINT_URL when set (moto_server in tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.config import Settings
from app.security.keys import SecretsManagerKeys

if TYPE_CHECKING:
    from botocore.config import Config

    from app.store.base import Store


def client_config() -> Config:
    from botocore.config import Config

    # Short timeouts and few retries: a request waiting on a dead endpoint should fail fast (503),
    # not hold the Lambda until its own timeout.
    return Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 2, "mode": "standard"},
    )


def aws_keys(settings: Settings) -> SecretsManagerKeys:
    import boto3

    assert settings.jwt_secret_arn is not None  # enforced by Settings for APP_MODE=aws
    client = boto3.client("secretsmanager", region_name=settings.aws_region, config=client_config())
    return SecretsManagerKeys(client, settings.jwt_secret_arn, ttl_seconds=settings.secret_cache_ttl_seconds)


def aws_store(settings: Settings) -> Store:
    from app.store.aws import dynamodb_s3_store

    return dynamodb_s3_store(settings, config=client_config())
