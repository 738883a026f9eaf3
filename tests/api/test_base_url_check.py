"""`pytest --base-url URL` checks the URL before any test runs: each mistake a participant makes ends
in one line that says what to do, not in a failure per test. pytest runs in a subprocess, as typed."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devtools.ports import free_port
from tests.support.live_server import clean_env
from tests.support.paths import REPO_ROOT


def run_pytest_against(base_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/api/test_threat_examples.py",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "--base-url",
            base_url,
        ],
        cwd=REPO_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def the_one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    return lines[0]


def test_a_server_that_is_not_running_is_one_line() -> None:
    with socket.socket() as closed:  # a port known to be free: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert the_one_line(run_pytest_against(url)) == (
        f"ERROR: cannot reach {url}: connection refused; is the server running?"
    )


def test_a_url_without_its_scheme_is_one_line() -> None:
    port = free_port()
    assert the_one_line(run_pytest_against(f"127.0.0.1:{port}")) == (
        f"ERROR: --base-url 127.0.0.1:{port}: add http:// (or https://) in front, "
        f"e.g. --base-url http://127.0.0.1:{port}"
    )


class _NotTheApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def something_else() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTheApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_is_not_the_api_is_one_line(something_else: str) -> None:
    assert the_one_line(run_pytest_against(something_else)) == (
        f"ERROR: {something_else}/health answered 404, not 200: is this the fastapi-lambda API, at its root?"
    )
