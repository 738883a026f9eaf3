"""The one place AWS clients are created (the API's store and key provider, the rotation Lambda, and
the dev tools), all alike: short timeouts, few retries, quiet SDK loggers. The endpoint is boto3's own
choice (AWS, or AWS_ENDPOINT_URL: moto_server in development and tests) unless a caller names one.

boto3 is imported only when a client is made, so local mode and its cold start never pay for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from boto3.session import Session
    from botocore.config import Config

Service = Literal["dynamodb", "s3", "secretsmanager"]

# botocore logs request parameters and response bodies at DEBUG, and those carry the signing key
# (GetSecretValue's response, the rotation's PutSecretValue). Whatever level the root logger runs at,
# Lambda's ApplicationLogLevel=DEBUG included, the SDK logs warnings only.
_SDK_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


def client_config() -> Config:
    """Every AWS client is built with this, so the SDK's loggers are quiet before it runs."""
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


def aws_client(
    service: Service,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    session: Session | None = None,
) -> Any:
    """A client of boto3's default session, or of `session` (tests give their own fake credentials).
    Typed by the caller: `dynamodb: DynamoDBClient = aws_client("dynamodb", ...)`."""
    import boto3

    config = client_config()
    if session is None:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config)
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)
