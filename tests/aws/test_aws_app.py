"""The app in AWS mode on a real AWS-protocol endpoint (moto_server): fail closed when Secrets Manager is
out of reach and recover without a restart, fetch the secret once per TTL and never per request, and
keep boto3 out of local mode entirely. (The authn/authz suite itself runs on both stores: the tests
marked `both_stores`.)"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import jwt
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from app.config import Settings
from devtools.moto import LOCAL_CREDENTIALS
from tests.support.api import Api
from tests.support.apps import make_app
from tests.support.moto import CallCounter, MotoServer, TcpProxy, default_session_hook
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.inprocess


@pytest.fixture
def proxy(moto_server: MotoServer) -> Iterator[TcpProxy]:
    relay = TcpProxy(moto_server.port)
    relay.start()
    yield relay
    relay.stop()


def client_for(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


@pytest.mark.threat("T-22")
def test_secrets_manager_out_of_reach_is_503_never_200_and_recovers_by_itself(
    make_aws_settings: Callable[..., Settings], proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_aws_settings(secret_cache_ttl_seconds=1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # every AWS call of this app goes through the relay
    with client_for(make_app(settings)) as http:
        api = Api(http)
        user = api.register()
        file_id = api.upload(user)["id"]
        protected = [
            ("GET", "/users/me"),
            ("GET", "/files"),
            ("GET", "/shares"),
            ("GET", f"/files/{file_id}"),
            ("GET", f"/files/{file_id}/content"),
            ("DELETE", f"/files/{file_id}"),
            ("POST", "/auth/logout"),
        ]

        proxy.stop()
        time.sleep(1.1)  # the cached key expires; Secrets Manager cannot give another
        for method, path in protected * 2:
            response = http.request(method, path, headers=user.headers)
            assert response.status_code == 503, (method, path, response.status_code)
            assert response.json() == {"detail": "Service temporarily unavailable"}
            assert response.headers["retry-after"]
        assert http.get("/health").status_code == 200

        proxy.start()
        deadline = time.monotonic() + 15
        seen = []
        while (status := http.get("/users/me", headers=user.headers).status_code) != 200:
            seen.append(status)
            assert time.monotonic() < deadline, f"did not recover: {seen}"
            time.sleep(0.2)
        assert set(seen) <= {503}
        # The refused DELETE changed nothing: the file and the session are as they were.
        assert http.get(f"/files/{file_id}", headers=user.headers).status_code == 200


@pytest.mark.threat("T-22")
def test_store_out_of_reach_with_a_cached_key_is_never_200(
    make_aws_settings: Callable[..., Settings], proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_aws_settings(secret_cache_ttl_seconds=300)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    with client_for(make_app(settings)) as http:
        user = Api(http).register()
        proxy.stop()
        for path in ("/users/me", "/files", "/shares"):
            response = http.get(path, headers=user.headers)
            # The token verifies with the cached key, but the user cannot be loaded: refused with 503
            # and a generic body.
            assert response.status_code == 503, (path, response.status_code)
            assert response.headers["retry-after"] == "5"
            assert LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"] not in response.text
            assert "amazonaws" not in response.text.lower()
            assert "botocore" not in response.text.lower()


@pytest.mark.threat("T-22")
def test_the_secret_is_fetched_once_over_100_authenticated_requests(
    make_aws_settings: Callable[..., Settings],
) -> None:
    fetches = CallCounter()
    with default_session_hook("before-call.secrets-manager.GetSecretValue", fetches):
        app = make_app(make_aws_settings())
    assert fetches.calls == 0, "nothing is fetched at start-up: Mangum may run it on every invocation"
    with client_for(app) as http:
        api = Api(http)
        owner, reader = api.register(), api.register()
        file_id = api.upload(owner)["id"]
        api.share(owner, file_id, reader)
        paths = ["/users/me", "/files", f"/files/{file_id}", f"/files/{file_id}/content", "/shares"]
        for index in range(100):
            session = owner if index % 2 else reader
            assert http.get(paths[index % len(paths)], headers=session.headers).status_code == 200
    assert fetches.calls == 1


@pytest.mark.threat("T-04")
@pytest.mark.parametrize(
    "kid",
    [lambda: str(uuid.uuid4()), lambda: "short", lambda: "a" * 65],
    ids=["unknown-version", "too-short", "too-long"],
)
def test_a_forged_kid_is_401_never_503(
    make_aws_settings: Callable[..., Settings], kid: Callable[[], str]
) -> None:
    settings = make_aws_settings()
    with client_for(make_app(settings)) as http:
        user = Api(http).register()
        now = int(time.time())
        claims = {
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "sub": user.id,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "ver": 0,
        }
        forged = jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256", headers={"kid": kid()})
        for _ in range(3):
            response = http.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"


def _fresh_interpreter(code: str, **env: str) -> dict[str, bool]:
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**clean, "PYTHONPATH": str(REPO_ROOT / "backend"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


_REPORT_AWS_MODULES = (
    "import json, sys; print(json.dumps({m: m in sys.modules for m in ('boto3', 'botocore', 'moto')}))"
)


def test_local_mode_never_imports_boto3(tmp_path: os.PathLike[str]) -> None:
    loaded = _fresh_interpreter(
        "import app.main; " + _REPORT_AWS_MODULES, APP_MODE="local", DATA_DIR=str(tmp_path)
    )
    assert loaded == {"boto3": False, "botocore": False, "moto": False}


def test_rotation_module_imports_without_any_aws_settings() -> None:
    loaded = _fresh_interpreter("import app.rotation; " + _REPORT_AWS_MODULES)
    assert loaded == {"boto3": False, "botocore": False, "moto": False}
