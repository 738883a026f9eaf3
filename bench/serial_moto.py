"""moto_server as `python -m moto.server` serves it, but one request at a time.

moto_server answers each request on its own thread and its DynamoDB model takes no lock, so two
concurrent transactions or `ADD` updates on one item can interleave: a counter loses an increment, a
condition passes twice. DynamoDB itself makes every call atomic and transactions serializable. The
load run (bench/load.py) checks the app's books, not moto's, so it serves moto with no concurrency:
every call then runs alone, as atomic as DynamoDB's own.

python -m bench.serial_moto PORT   (loopback only)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from devtools.moto import moto_answers, moto_environment, stop

_REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    port = int(argv[0])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


def start(port: int, log: IO[bytes], *, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    """The serial moto_server on the loopback interface, answering before this returns."""
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serial_moto", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**moto_environment(os.environ, url), "PYTHONPATH": f"{_REPO / 'backend'}{os.pathsep}{_REPO}"},
    )
    deadline = time.monotonic() + timeout
    while not moto_answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"the serial moto_server did not start on {url}")
        time.sleep(0.05)
    return process


if __name__ == "__main__":
    main(sys.argv[1:])
