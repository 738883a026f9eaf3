"""moto_server for development, tests and benchmarks: starting and stopping it, and the one place that
points boto3 at it (only its endpoint, only throw-away credentials).

moto_server speaks the AWS protocols over HTTP, so the app's real clients talk to it as they would to
AWS. It keeps everything in memory: a restart starts from nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

REGION = "us-east-1"
# moto accepts any credentials; these only keep boto3 from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-moto", "AWS_SECRET_ACCESS_KEY": "local-moto"}
# The CA bundle cannot send a request anywhere, and a corporate proxy may need it.
_KEPT = frozenset({"AWS_CA_BUNDLE"})
# moto_server itself, with DynamoDB's conditional writes made atomic as the real service's are;
# run with -P: its folder holds devtools/moto.py, which would shadow the moto package.
_ATOMIC_SERVER = Path(__file__).with_name("moto_atomic_server.py")


def moto_environment(environ: Mapping[str, str], endpoint: str) -> dict[str, str]:
    """`environ` with no AWS setting of the developer's left (profiles, session tokens, per-service
    endpoints, ~/.aws files), and boto3 pointed at `endpoint` with throw-away credentials: nothing can
    send a request, or a real key, anywhere else."""
    scrubbed = {
        name: value for name, value in environ.items() if not name.startswith("AWS_") or name in _KEPT
    }
    scrubbed.update(
        LOCAL_CREDENTIALS,
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return scrubbed


def moto_answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def start_moto_server(port: int, log: IO[bytes], *, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """moto_server on the loopback interface only, answering before this returns."""
    url = f"http://127.0.0.1:{port}"
    if moto_answers(url):
        raise RuntimeError(f"something already answers on {url}")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-P", str(_ATOMIC_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # It runs botocore itself: the same scrubbed environment as the clients that call it.
        env=moto_environment(os.environ, url),
    )
    deadline = time.monotonic() + timeout
    # Answering is not enough: another process may have taken the port first; ours must still run.
    while not moto_answers(url) or process.poll() is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"moto_server did not start on {url}")
        time.sleep(0.05)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
