"""The algorithm allowlist is enforced on the header, before any key is looked up (T-03).

jwt.decode(algorithms=[...]) would refuse these tokens too, but only after the key provider was asked
for the token's kid: in AWS mode an unknown kid may cost a Secrets Manager call. So each layer is
checked on its own here, with the real TokenService and StaticKeys, and a provider that records what
it was asked.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping

import jwt
import pytest

from app.exceptions import InvalidTokenError
from app.security.keys import SigningKey, StaticKeys
from app.security.tokens import TokenService


class RecordingKeys:
    """StaticKeys, recording every kid it is asked for."""

    def __init__(self) -> None:
        self.keys = StaticKeys(secrets.token_urlsafe(48).encode())
        self.asked: list[str] = []

    def current(self) -> SigningKey:
        return self.keys.current()

    def find(self, kid: str) -> SigningKey | None:
        self.asked.append(kid)
        return self.keys.find(kid)


def _b64(data: Mapping[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture
def keys() -> RecordingKeys:
    return RecordingKeys()


@pytest.fixture
def service(keys: RecordingKeys) -> TokenService:
    return TokenService(keys=keys, issuer="fastapi-lambda", audience="fastapi-lambda-api", ttl_seconds=900)


def _claims(service: TokenService) -> dict[str, object]:
    genuine = service.issue(user_id="u-1", token_version=0).token
    claims: dict[str, object] = jwt.decode(genuine, options={"verify_signature": False})
    return claims


@pytest.mark.threat("T-03")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_refused_before_the_key_lookup(
    service: TokenService, keys: RecordingKeys, algorithm: str
) -> None:
    key = keys.current()
    token = jwt.encode(_claims(service), key.secret, algorithm=algorithm, headers={"kid": key.kid})
    with pytest.raises(InvalidTokenError):
        service.verify(token)
    assert keys.asked == []


@pytest.mark.threat("T-03")
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "", "hs256", "RS256", "ES256"])
def test_alg_none_and_lookalikes_are_refused_before_the_key_lookup(
    service: TokenService, keys: RecordingKeys, alg: str
) -> None:
    header = {"alg": alg, "typ": "JWT", "kid": keys.current().kid}
    token = f"{_b64(header)}.{_b64(_claims(service))}.c2ln"
    with pytest.raises(InvalidTokenError):
        service.verify(token)
    assert keys.asked == []


@pytest.mark.threat("T-03")
def test_a_genuine_token_is_looked_up_once(service: TokenService, keys: RecordingKeys) -> None:
    # The recording provider does see lookups, so the empty lists above mean something.
    service.verify(service.issue(user_id="u-1", token_version=0).token)
    assert keys.asked == [keys.current().kid]
