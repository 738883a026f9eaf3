"""The app under uvicorn in a subprocess on a free loopback port, as `make run` serves it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from devtools.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT_SECONDS = 30.0


def clean_env() -> dict[str, str]:
    """Nothing of this pytest run (xdist worker ids, addopts) and no app settings leak into a child."""
    prefixes = ("PYTEST_", "APP_", "JWT_", "AWS_", "CORS_", "DATA_DIR", "ENVIRONMENT")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@contextmanager
def serve(settings: Mapping[str, str], log_path: Path) -> Iterator[str]:
    """Serves `app.main:app` with these settings (environment variables) and yields its base URL once
    /health answers; the server's output goes to `log_path`. The server is stopped on exit."""
    with serve_process(settings, log_path) as (_, url):
        yield url


@contextmanager
def serve_process(
    settings: Mapping[str, str], log_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`serve`, yielding the server's process too (a test may kill it); the log is appended to."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--app-dir", "backend"]
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env={**clean_env(), **settings},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + _START_TIMEOUT_SECONDS
            while not _healthy(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield server, url
        finally:
            if server.poll() is None:
                server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False
