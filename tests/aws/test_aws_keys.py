"""SecretsManagerKeys against a real Secrets Manager endpoint (moto_server): kid = VersionId, a cache
with a TTL, AWSPREVIOUS accepted, unknown kids looked up at most once, fail closed when unreachable."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.exceptions import KeyUnavailableError
from app.security.keys import SecretsManagerKeys
from devtools.ports import free_port
from tests.support.moto import AwsResources, CallCounter, TcpProxy, new_client, rotate

TTL = 300.0
INTERVAL = 5.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def secret_arn(aws_resources: AwsResources) -> str:
    return aws_resources.new_secret(rotation=True)


@pytest.fixture
def client(aws_resources: AwsResources) -> Any:
    return new_client("secretsmanager", aws_resources.endpoint)


@pytest.fixture
def fetches(client: Any) -> CallCounter:
    counter = CallCounter()
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", counter)
    return counter


def keys_for(client: Any, secret_arn: str, clock: FakeClock) -> SecretsManagerKeys:
    return SecretsManagerKeys(
        client, secret_arn, ttl_seconds=TTL, unknown_kid_interval_seconds=INTERVAL, clock=clock
    )


def current_version(client: Any, secret_arn: str) -> tuple[str, bytes]:
    response = client.get_secret_value(SecretId=secret_arn, VersionStage="AWSCURRENT")
    return response["VersionId"], response["SecretString"].encode()


@pytest.mark.threat("T-05")
def test_kid_is_the_version_id_and_the_key_is_fetched_once_per_ttl(
    client: Any, secret_arn: str, clock: FakeClock, fetches: CallCounter
) -> None:
    keys = keys_for(client, secret_arn, clock)
    version_id, secret = current_version(client, secret_arn)
    fetches.calls = 0

    key = keys.current()
    assert (key.kid, key.secret) == (version_id, secret)
    for _ in range(50):
        clock.now += 5
        assert keys.current() is key
        assert keys.find(version_id) is key
    assert fetches.calls == 1

    clock.now += TTL
    keys.current()
    assert fetches.calls == 2


@pytest.mark.threat("T-05")
def test_previous_version_verifies_after_a_rotation_and_older_ones_do_not(
    client: Any, secret_arn: str, clock: FakeClock
) -> None:
    keys = keys_for(client, secret_arn, clock)
    first = keys.current()

    second_id = rotate(client, secret_arn)
    assert keys.current() is first, "the cache serves until its TTL"
    clock.now += TTL
    assert keys.current().kid == second_id
    previous = keys.find(first.kid)
    assert previous is not None
    assert previous.secret == first.secret

    rotate(client, secret_arn)
    clock.now += TTL
    assert keys.find(first.kid) is None
    still_previous = keys.find(second_id)
    assert still_previous is not None
    assert still_previous.kid == second_id


@pytest.mark.threat("T-04")
def test_unknown_kid_costs_at_most_one_refresh_per_interval(
    client: Any, secret_arn: str, clock: FakeClock, fetches: CallCounter
) -> None:
    keys = keys_for(client, secret_arn, clock)
    keys.current()
    fetches.calls = 0

    assert keys.find(str(uuid.uuid4())) is None
    after_first = fetches.calls
    assert after_first == 2  # AWSCURRENT and AWSPREVIOUS, once
    for _ in range(20):  # ten seconds of forged kids, two a second
        clock.now += INTERVAL / 10
        assert keys.find(str(uuid.uuid4())) is None
    assert fetches.calls == after_first + 2 * 2  # one refresh per elapsed interval, not one per kid


@pytest.mark.threat("T-04")
@pytest.mark.parametrize(
    "kid",
    ["abcdefgh", "0" * 31, "0" * 65, "../../../etc/passwd-0000000000000000", "' OR 1=1 --" * 4, ""],
)
def test_kids_that_cannot_be_version_ids_never_reach_secrets_manager(
    client: Any, secret_arn: str, clock: FakeClock, fetches: CallCounter, kid: str
) -> None:
    keys = keys_for(client, secret_arn, clock)
    keys.current()
    fetches.calls = 0
    assert keys.find(kid) is None
    assert fetches.calls == 0


@pytest.mark.threat("T-22")
def test_unreachable_secrets_manager_fails_closed() -> None:
    dead = new_client("secretsmanager", f"http://127.0.0.1:{free_port()}")
    keys = SecretsManagerKeys(
        dead, "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt", ttl_seconds=TTL
    )
    with pytest.raises(KeyUnavailableError):
        keys.current()
    with pytest.raises(KeyUnavailableError):
        keys.find(str(uuid.uuid4()))


@pytest.mark.threat("T-22")
def test_outage_after_the_ttl_refuses_then_recovers_without_a_restart(
    aws_resources: AwsResources, moto_server: Any, secret_arn: str, clock: FakeClock
) -> None:
    proxy = TcpProxy(moto_server.port)
    proxy.start()
    try:
        keys = keys_for(new_client("secretsmanager", proxy.url), secret_arn, clock)
        key = keys.current()

        proxy.stop()
        clock.now += TTL - 1
        assert keys.find(key.kid) is key, "a cached key still serves within its TTL"
        clock.now += 1
        with pytest.raises(KeyUnavailableError):
            keys.find(key.kid)
        with pytest.raises(KeyUnavailableError):
            keys.current()

        proxy.start()
        clock.now += 1  # past the failure backoff
        assert keys.find(key.kid) == key
    finally:
        proxy.stop()


def test_secret_missing_is_unavailable_not_a_crash(client: Any, clock: FakeClock) -> None:
    keys = keys_for(client, "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf", clock)
    with pytest.raises(KeyUnavailableError):
        keys.current()
