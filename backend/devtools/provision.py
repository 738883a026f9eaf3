"""Creates the AWS resources AWS mode needs, the way infra/ defines them: one DynamoDB table with the
`gsi1` index and TTL on `expires_at`, one private encrypted S3 bucket, one Secrets Manager secret holding
a random signing key. Idempotent: running it twice changes nothing.

Used by `make run-aws` (against moto_server), the test suite and the benchmarks; production resources
come from infra/, never from here.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.aws_clients import aws_client
from app.store.aws import INDEX_NAME

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

TTL_ATTRIBUTE = "expires_at"


@dataclass(frozen=True)
class Resources:
    table_name: str
    bucket_name: str
    secret_arn: str


def provision(
    *,
    table_name: str,
    bucket_name: str,
    secret_name: str,
    region: str,
    endpoint_url: str | None = None,
) -> Resources:
    """Creates whatever is missing; endpoint_url None means boto3's default (AWS_ENDPOINT_URL or AWS)."""
    import boto3

    # A session of its own: nothing it resolves (credentials, region) is cached for the app's clients.
    session = boto3.session.Session(region_name=region)
    ensure_table(aws_client("dynamodb", endpoint_url=endpoint_url, session=session), table_name)
    ensure_bucket(aws_client("s3", endpoint_url=endpoint_url, session=session), bucket_name, region)
    arn = ensure_secret(aws_client("secretsmanager", endpoint_url=endpoint_url, session=session), secret_name)
    return Resources(table_name=table_name, bucket_name=bucket_name, secret_arn=arn)


def ensure_table(client: DynamoDBClient, name: str) -> None:
    with contextlib.suppress(client.exceptions.ResourceInUseException):
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": attribute, "AttributeType": "S"}
                for attribute in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": INDEX_NAME,
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            SSESpecification={"Enabled": True},
        )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    # Enabling TTL twice is an error on AWS, so look first.
    if ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )


def ensure_bucket(client: S3Client, name: str, region: str) -> None:
    try:
        if region == "us-east-1":
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    client.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    client.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def ensure_secret(client: SecretsManagerClient, name: str) -> str:
    """The secret's ARN; a new secret gets a random key, an existing one is left as it is."""
    try:
        return client.describe_secret(SecretId=name)["ARN"]
    except client.exceptions.ResourceNotFoundException:
        pass
    created = client.create_secret(
        Name=name,
        Description="HMAC key for fastapi-lambda access tokens (kid = VersionId)",
        SecretString=secrets.token_urlsafe(48),
    )
    return created["ARN"]
