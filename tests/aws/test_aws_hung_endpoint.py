"""A hung AWS endpoint (issue 16): the process is there, the kernel still accepts connections, and
nothing ever answers. That is moto_server stopped with SIGSTOP, not closed. Every request that needs
AWS must then be refused with a 503 within the budget app/aws_clients.py states, and /health, which
needs nothing, must not wait at all. The server is always continued, whatever the test's outcome."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from starlette.testclient import TestClient

from app.aws_clients import CALL_BUDGET_SECONDS
from app.config import Settings
from tests.support.api import Api
from tests.support.apps import make_app
from tests.support.moto import MotoServer

pytestmark = pytest.mark.inprocess

# What the API promises with AWS hung: a 503 within 10 s. A request aborts at its first failed AWS
# call, so one call's budget must fit, with a margin for a loaded test machine. Well under the
# function's 15 s timeout (infra/template.yaml) and API Gateway's 29 s.
_REQUEST_BOUND_SECONDS = 10


@contextlib.contextmanager
def hung(moto_server: MotoServer) -> Iterator[None]:
    assert moto_server.process is not None
    pid = moto_server.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.threat("T-22")
def test_a_hung_aws_endpoint_is_503_within_the_budget_and_health_never_waits(
    make_aws_settings: Callable[..., Settings], moto_server: MotoServer
) -> None:
    assert CALL_BUDGET_SECONDS <= _REQUEST_BOUND_SECONDS - 2
    app = make_app(make_aws_settings())
    with (
        TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as http,
        ThreadPoolExecutor(1) as pool,
    ):
        api = Api(http)
        user = api.register()
        file_id = api.upload(user)["id"]
        requests: dict[str, Callable[[], httpx2.Response]] = {
            "list": lambda: http.get("/files", headers=user.headers),
            "download": lambda: http.get(f"/files/{file_id}/content", headers=user.headers),
            "login": lambda: http.post(
                "/auth/token", data={"username": user.username, "password": user.password}
            ),
        }
        with hung(moto_server):
            assert pool.submit(http.get, "/health").result(timeout=_REQUEST_BOUND_SECONDS).status_code == 200
            for name, request in requests.items():
                response = pool.submit(request).result(timeout=_REQUEST_BOUND_SECONDS)
                assert response.status_code == 503, (name, response.text)
                assert response.headers["Retry-After"]
        # Continued, the same app serves again without a restart.
        assert http.get("/files", headers=user.headers).status_code == 200
