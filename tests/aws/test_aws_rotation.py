"""Rotating the signing key: the rotation Lambda's four steps against Secrets Manager (moto_server), and
what tokens do across rotations in a running app."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from app import rotation
from app.config import Settings
from app.security.keys import MIN_KEY_BYTES
from tests.support.api import Api
from tests.support.apps import make_app
from tests.support.moto import AwsResources, new_client, rotate

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def client(aws_resources: AwsResources) -> Any:
    return new_client("secretsmanager", aws_resources.endpoint)


@pytest.fixture
def secret_arn(aws_resources: AwsResources) -> str:
    return aws_resources.new_secret(rotation=True)


@pytest.fixture
def lambda_client(aws_env: str) -> Iterator[None]:
    """The handler's own lazily built client, pointed at moto by the environment, rebuilt per test."""
    rotation._client.cache_clear()
    yield
    rotation._client.cache_clear()


def stages(client: Any, secret_arn: str) -> dict[str, list[str]]:
    versions: dict[str, list[str]] = client.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
    return versions


def value(client: Any, secret_arn: str, **selector: str) -> str:
    # An explicit stage, as the app asks: moto answers a bare GetSecretValue from a version it does not
    # update when the AWSCURRENT label moves.
    secret: str = client.get_secret_value(
        SecretId=secret_arn, **(selector or {"VersionStage": "AWSCURRENT"})
    )["SecretString"]
    return secret


@pytest.mark.threat("T-05")
@pytest.mark.usefixtures("lambda_client")
def test_the_lambda_entry_point_rotates_to_a_new_random_key(client: Any, secret_arn: str) -> None:
    before = stages(client, secret_arn)
    old_current = next(v for v, s in before.items() if "AWSCURRENT" in s)
    old_value = value(client, secret_arn)
    token = str(uuid.uuid4())

    for step in STEPS:
        rotation.handler({"SecretId": secret_arn, "ClientRequestToken": token, "Step": step}, None)

    after = stages(client, secret_arn)
    assert "AWSCURRENT" in after[token]
    assert after[old_current] == ["AWSPREVIOUS"]
    new_value = value(client, secret_arn)
    assert new_value != old_value
    assert len(new_value.encode()) >= MIN_KEY_BYTES


def test_steps_are_idempotent_when_secrets_manager_retries_them(client: Any, secret_arn: str) -> None:
    token = str(uuid.uuid4())
    rotation.rotate_step(client, secret_id=secret_arn, version_id=token, step="createSecret")
    pending = value(client, secret_arn, VersionId=token)
    rotation.rotate_step(client, secret_id=secret_arn, version_id=token, step="createSecret")
    assert value(client, secret_arn, VersionId=token) == pending, "a retry must not change the new key"

    for step in STEPS[1:]:
        rotation.rotate_step(client, secret_id=secret_arn, version_id=token, step=step)
    current_after_finish = stages(client, secret_arn)
    for step in STEPS:  # a late retry of any step after the rotation finished changes nothing
        rotation.rotate_step(client, secret_id=secret_arn, version_id=token, step=step)
    assert stages(client, secret_arn) == current_after_finish
    assert value(client, secret_arn) == pending


def test_rotation_refuses_what_secrets_manager_would_never_send(
    client: Any, secret_arn: str, aws_resources: AwsResources
) -> None:
    with pytest.raises(rotation.RotationError):
        rotation.handler({"SecretId": secret_arn, "Step": "createSecret"}, None)
    with pytest.raises(rotation.RotationError):
        rotation.rotate_step(client, secret_id=secret_arn, version_id=str(uuid.uuid4()), step="deleteSecret")
    # A later step for a version that no createSecret ever made.
    with pytest.raises(rotation.RotationError):
        rotation.rotate_step(client, secret_id=secret_arn, version_id=str(uuid.uuid4()), step="finishSecret")
    # A secret nobody configured for rotation.
    plain = aws_resources.new_secret()
    with pytest.raises(rotation.RotationError):
        rotation.rotate_step(client, secret_id=plain, version_id=str(uuid.uuid4()), step="createSecret")


def test_test_step_refuses_a_weak_pending_key(client: Any, secret_arn: str) -> None:
    token = str(uuid.uuid4())
    weak = "k" * (MIN_KEY_BYTES - 1)
    client.put_secret_value(
        SecretId=secret_arn, ClientRequestToken=token, SecretString=weak, VersionStages=["AWSPENDING"]
    )
    with pytest.raises(rotation.RotationError):
        rotation.rotate_step(client, secret_id=secret_arn, version_id=token, step="testSecret")
    assert "AWSCURRENT" not in stages(client, secret_arn)[token]


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


@pytest.mark.threat("T-05")
@pytest.mark.inprocess
def test_tokens_survive_one_rotation_and_not_two(
    make_aws_settings: Callable[..., Settings], aws_resources: AwsResources, client: Any
) -> None:
    secret_arn = aws_resources.new_secret(rotation=True)
    # A short cache TTL stands in for time passing in a long-lived Lambda environment.
    settings = make_aws_settings(jwt_secret_arn=secret_arn, secret_cache_ttl_seconds=1)
    with TestClient(make_app(settings), base_url="https://testserver") as http:
        api = Api(http)
        user = api.register()
        first_kid = kid_of(user.token)
        assert first_kid == next(v for v, s in stages(client, secret_arn).items() if "AWSCURRENT" in s)

        second_kid = rotate(client, secret_arn)
        time.sleep(1.1)
        assert http.get("/users/me", headers=user.headers).status_code == 200
        second_token = api.login(user.username, user.password)
        assert kid_of(second_token) == second_kid

        third_kid = rotate(client, secret_arn)
        time.sleep(1.1)
        refused = http.get("/users/me", headers=user.headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert http.get("/users/me", headers={"Authorization": f"Bearer {second_token}"}).status_code == 200
        assert kid_of(api.login(user.username, user.password)) == third_kid
