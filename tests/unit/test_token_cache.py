"""The verifier remembers tokens that passed (app/security/tokens.py): a token seen before is not parsed
and HMAC'd again, but whatever can change between two requests is checked on each: the key (rotated
out, or a key store outage) and the time claims."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
import pytest

from app.exceptions import InvalidTokenError, KeyUnavailableError
from app.security import tokens as tokens_module
from app.security.keys import SigningKey, StaticKeys
from app.security.tokens import TokenService

TTL = 900


class _Keys:
    """A key provider whose key can be rotated out, or become unreachable, between two requests."""

    def __init__(self) -> None:
        self.keys: StaticKeys | None = StaticKeys(secrets.token_bytes(32))
        self.down = False
        self.finds = 0

    def current(self) -> SigningKey:
        assert self.keys is not None
        return self.keys.current()

    def find(self, kid: str) -> SigningKey | None:
        self.finds += 1
        if self.down:
            raise KeyUnavailableError("key store unreachable (test)")
        return self.keys.find(kid) if self.keys else None


@pytest.fixture
def keys() -> _Keys:
    return _Keys()


@pytest.fixture
def service(keys: _Keys) -> TokenService:
    return TokenService(keys=keys, issuer="issuer", audience="audience", ttl_seconds=TTL)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token PyJWT is asked to decode."""
    calls: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    return calls


def _token(service: TokenService) -> str:
    return service.issue(user_id="user-1", token_version=0).token


@pytest.mark.threat("T-02")
def test_a_token_seen_before_is_not_decoded_again_but_its_key_is_asked_for_each_time(
    service: TokenService, keys: _Keys, decodes: list[str]
) -> None:
    token = _token(service)
    first = service.verify(token)
    assert service.verify(token) == first
    assert decodes == [token]
    assert keys.finds == 2


@pytest.mark.threat("T-02")
def test_a_remembered_token_whose_text_differs_by_one_character_is_verified_from_scratch(
    service: TokenService, decodes: list[str]
) -> None:
    token = _token(service)
    service.verify(token)
    head, payload, signature = token.split(".")
    altered = f"{head}.{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    with pytest.raises(InvalidTokenError):
        service.verify(altered)
    assert decodes == [token, altered]


@pytest.mark.threat("T-02")
def test_a_remembered_token_is_refused_once_its_key_is_rotated_out(
    service: TokenService, keys: _Keys
) -> None:
    token = _token(service)
    service.verify(token)
    keys.keys = None  # the provider no longer knows the token's kid
    with pytest.raises(InvalidTokenError):
        service.verify(token)


@pytest.mark.threat("T-02")
def test_a_remembered_token_is_refused_when_its_kid_now_names_another_secret(
    service: TokenService, keys: _Keys
) -> None:
    token = _token(service)
    service.verify(token)
    kid = keys.current().kid

    class _SameKidOtherSecret(StaticKeys):
        def find(self, wanted: str) -> SigningKey | None:
            return SigningKey(kid=kid, secret=b"another secret of enough bytes!!") if wanted == kid else None

    keys.keys = _SameKidOtherSecret(secrets.token_bytes(32))
    with pytest.raises(InvalidTokenError):
        service.verify(token)


@pytest.mark.threat("T-02")
def test_a_remembered_token_past_its_expiry_is_not_answered_from_memory(
    service: TokenService, decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token(service)
    service.verify(token)
    later = time.time() + TTL + tokens_module.LEEWAY_SECONDS + 1

    class _Later:
        @staticmethod
        def time() -> float:
            return later

    # Only the memory's clock moves (PyJWT reads its own): the token must go back to PyJWT, whose
    # exp check is then the one that decides, as for a token never seen before.
    monkeypatch.setattr(tokens_module, "time", _Later)
    service.verify(token)
    assert decodes == [token, token]


@pytest.mark.threat("T-22")
def test_a_remembered_token_during_a_key_store_outage_is_a_key_error_not_a_pass(
    service: TokenService, keys: _Keys
) -> None:
    token = _token(service)
    service.verify(token)
    keys.down = True
    with pytest.raises(KeyUnavailableError):
        service.verify(token)


@pytest.mark.threat("T-02")
def test_the_memory_is_bounded(service: TokenService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens_module, "VERIFIED_CACHE_SIZE", 3)
    for user in range(10):
        service.verify(service.issue(user_id=f"user-{user}", token_version=0).token)
        assert len(service._verified) <= 3
