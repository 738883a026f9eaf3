# Tests for rule boto3-hardcoded-credentials (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
# The values are deliberately fake and not shaped like real AWS keys.
import os

import boto3
from boto3.session import Session
from botocore.config import Config

ACCESS_KEY_ID = "example-access-key-id"
SECRET_ACCESS_KEY = "example-secret-access-key"


def s3_client():
    # ruleid: boto3-hardcoded-credentials
    return boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="example-access-key-id",
        aws_secret_access_key="example-secret-access-key",
    )


def dynamodb_table(table_name: str):
    # ruleid: boto3-hardcoded-credentials
    resource = boto3.resource("dynamodb", aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)
    return resource.Table(table_name)


def session_for_ci():
    # ruleid: boto3-hardcoded-credentials
    return Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name="eu-west-1")


def secrets_client(session: boto3.Session):
    # ruleid: boto3-hardcoded-credentials
    return session.client("secretsmanager", aws_session_token="example-session-token")


def configure_environment() -> None:
    # ruleid: boto3-hardcoded-credentials
    os.environ["AWS_SECRET_ACCESS_KEY"] = "example-secret-access-key"


# --- what this project really does: credentials come from the role or the environment -----------


def client_config() -> Config:
    return Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})


def aws_secrets_client(settings):
    # ok: boto3-hardcoded-credentials
    return boto3.client("secretsmanager", region_name=settings.aws_region, config=client_config())


def aws_store_clients(settings, config: Config):
    # ok: boto3-hardcoded-credentials
    dynamodb = boto3.resource("dynamodb", region_name=settings.aws_region, config=config)
    # ok: boto3-hardcoded-credentials
    s3 = boto3.client("s3", region_name=settings.aws_region, config=config)
    return dynamodb.Table(settings.table_name), s3


def explicit_from_environment():
    # ok: boto3-hardcoded-credentials
    return boto3.Session(
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
    )


def moto_server_client(endpoint_url: str):
    # ok: boto3-hardcoded-credentials
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # pragma: allowlist secret (the dummy moto expects)
    )


def moto_environment() -> None:
    # ok: boto3-hardcoded-credentials
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    # ok: boto3-hardcoded-credentials
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"


def documentation_client(session, service_name: str):
    # botocore's doc generator: a client that never sends a request.
    # ok: boto3-hardcoded-credentials
    return session.create_client(service_name, region_name="us-east-1", aws_access_key_id="foo", aws_secret_access_key="bar")
