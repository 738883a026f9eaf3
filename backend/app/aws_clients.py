"""AWS clients for AWS mode, built once at init. boto3 is imported only here, so local mode and its
cold start never pay for it. Endpoints follow AWS_ENDPOINT_URL when set (moto_server in tests)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.config import Settings
from app.security.keys import SecretsManagerKeys

if TYPE_CHECKING:
    from botocore.config import Config

    from app.store.base import Store

# botocore logs request parameters and response bodies at DEBUG, and those carry the signing key
# (GetSecretValue's response, the rotation's PutSecretValue). Whatever level the root logger runs at,
# Lambda's ApplicationLogLevel=DEBUG included, the SDK logs warnings only.
_SDK_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


def client_config() -> Config:
    """Every AWS client of the app is built with this, so the SDK's loggers are quiet before it runs."""
    from botocore.config import Config

    for name in _SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

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
