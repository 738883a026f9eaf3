"""`make run-aws` end to end: one process starts moto_server, provisions it and serves the API in AWS
mode over real HTTP; SIGTERM stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from devtools.moto import moto_answers
from devtools.ports import free_port
from tests.support.api import Api
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.inprocess]


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    port, moto_port = free_port(), free_port()
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.run_aws", "--port", str(port), "--moto-port", str(moto_port)],
        cwd=REPO_ROOT,
        env={
            **clean,
            "PYTHONPATH": str(REPO_ROOT / "backend"),
            "DATA_DIR": str(tmp_path),
            # Whatever AWS settings a developer's shell has must not leak into the local run.
            "AWS_PROFILE": "someone-elses-production",
            "AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, port, moto_port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def wait_for_health(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not come up"
        time.sleep(0.2)


def test_run_aws_serves_the_contract_and_stops_cleanly(
    dev_server: tuple[subprocess.Popen[str], int, int],
) -> None:
    process, port, moto_port = dev_server
    url = f"http://127.0.0.1:{port}"
    wait_for_health(url, process)

    with httpx2.Client(base_url=url, timeout=10) as client:
        api = Api(client)
        owner, stranger = api.register(), api.register()
        content = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
        file_id = api.upload(owner, content, name="photo.png", content_type="image/png")["id"]
        assert client.get(f"/files/{file_id}", headers=stranger.headers).status_code == 403
        download = client.get(f"/files/{file_id}/content", headers=owner.headers)
        assert download.status_code == 200
        assert download.content == content
        assert client.get("/docs").status_code == 200

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"API docs: http://127.0.0.1:{port}/docs" in output
    assert "moto_server stopped" in output
    assert not moto_answers(f"http://127.0.0.1:{moto_port}")
