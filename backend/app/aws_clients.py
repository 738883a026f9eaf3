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

# The budget of one AWS call when the endpoint hangs (accepts connections, never answers): every
# attempt waits out its timeouts, and standard mode's first back-off is at most 1 s. A request stops
# at its first failed call (503), so this bounds a request too: 7 s, against the API function's 15 s
# timeout (infra/template.yaml) and API Gateway's 29 s. DynamoDB and Secrets Manager answer in
# milliseconds and S3 sends its first byte well within 2 s; the read timeout is per socket read, so a
# long download is not cut by it.
_CONNECT_TIMEOUT_SECONDS = 1
_READ_TIMEOUT_SECONDS = 2
_MAX_ATTEMPTS = 2
_FIRST_BACKOFF_SECONDS = 1
CALL_BUDGET_SECONDS = (
    _MAX_ATTEMPTS * (_CONNECT_TIMEOUT_SECONDS + _READ_TIMEOUT_SECONDS)
    + (_MAX_ATTEMPTS - 1) * _FIRST_BACKOFF_SECONDS
)

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
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
        retries={"max_attempts": _MAX_ATTEMPTS, "mode": "standard"},
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
