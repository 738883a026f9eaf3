"""`make run-aws` end to end: one process starts moto_server, provisions it and serves the API in AWS
mode over real HTTP; SIGTERM stops both."""

from __future__ import annotations

import os
import re
import signal
import socket
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


def _shell_of_a_developer() -> dict[str, str]:
    """A terminal in this checkout: its PATH (make), no settings of this run; make must find .venv built,
    or it would rebuild the environment every test here shares."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    stale = subprocess.run(
        ["make", "-q", ".venv/.installed"], cwd=REPO_ROOT, env=env, capture_output=True, check=False
    )
    if stale.returncode != 0:
        pytest.fail("run `make venv` first: .venv is missing or older than its locks")
    return env


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

    # The make-admin line printed at start-up, pasted as is (for another user's name) into a shell in
    # this directory, makes that user admin on this run's moto_server.
    assert process.stdout is not None
    printed = [process.stdout.readline() for _ in range(5)]
    assert (
        printed[3]
        == "To make a user admin, in another terminal from this directory (NAME=the user's name):\n"
    )
    admin_line = printed[4].strip()
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{moto_port} " in admin_line
    assert admin_line.endswith(" make make-admin NAME=alice")
    secret_arn = re.search(r"JWT_SECRET_ARN=(\S+)", admin_line)
    assert secret_arn is not None
    assert f"secret {secret_arn[1]}" in printed[1]  # the real ARN, as provisioned

    with httpx2.Client(base_url=url, timeout=10) as client:
        api = Api(client)
        owner, stranger = api.register(), api.register()
        assert client.get("/admin/users", headers=owner.headers).status_code == 403
        made = subprocess.run(
            ["bash", "-c", admin_line.replace("NAME=alice", f"NAME={owner.username}")],
            cwd=REPO_ROOT,
            env=_shell_of_a_developer(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        assert f"make-admin: {owner.username}: done" in made.stdout
        assert client.get("/admin/users", headers=owner.headers).status_code == 200
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
    assert "moto_server stopped" in output
    assert not moto_answers(f"http://127.0.0.1:{moto_port}")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A free port, then taken by a socket that is bound and listening, as another server's would be."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def run_aws(tmp_path: Path, *, port: int, moto_port: int) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-m", "devtools.run_aws", "--port", str(port), "--moto-port", str(moto_port)],
        cwd=REPO_ROOT,
        env={**clean, "PYTHONPATH": str(REPO_ROOT / "backend"), "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_taken_moto_port_is_one_line_and_starts_nothing(taken_port: int, tmp_path: Path) -> None:
    done = run_aws(tmp_path, port=free_port(), moto_port=taken_port)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"MOTO_PORT {taken_port} is taken: 127.0.0.1:{taken_port} is in use by another process; "
        f"choose another: make run-aws MOTO_PORT={taken_port + 1}\n"
    )
    assert not (tmp_path / "moto_server.log").exists()


def test_a_taken_api_port_is_one_line_and_starts_nothing(taken_port: int, tmp_path: Path) -> None:
    done = run_aws(tmp_path, port=taken_port, moto_port=free_port())
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"PORT {taken_port} is taken: 127.0.0.1:{taken_port} is in use by another process; "
        f"choose another: make run-aws PORT={taken_port + 1}\n"
    )
    assert not (tmp_path / "moto_server.log").exists()
