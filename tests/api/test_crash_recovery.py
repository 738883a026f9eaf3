"""A server killed (SIGKILL) in the middle of uploads, again and again, and the sweep afterwards (issue 16).

A real uvicorn process is killed once an upload has reserved its quota: on the embedded store as soon
as the blob's partial file appears (mid-write), in AWS mode while a relay in front of moto_server holds
its S3 PutObject (no object) or, every other round, its commit (an object without a record), so on
that store every kill lands where it is aimed. Whatever a kill left
(a partial file, a whole blob, an S3 object, a claimed quota) must be counted by the quota until the
operator's sweep (`python -m app.cli sweep`), and be gone after it: no blob or object without a
record, no temporary file, and usage equal to the sum of the records."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from app.config import Settings
from app.context import AppContext
from app.factory import build_context
from app.records import FileRecord, Usage
from devtools.moto import moto_environment
from tests.support.api import Api, Session
from tests.support.live_server import REPO_ROOT, clean_env, serve_process
from tests.support.moto import AwsResources, MotoServer, TcpProxy

pytestmark = [pytest.mark.both_stores, pytest.mark.inprocess, pytest.mark.slow]

KILLS = 5
MAX_ROUNDS = 12
# Large enough that writing it takes a while, within the default upload limit (5 MiB).
CONTENT = secrets.token_bytes(4 * 1024 * 1024)
_WAIT_SECONDS = 30


class HeldRelay(TcpProxy):
    """A relay to moto_server that, once armed, swallows one request instead of forwarding it, so the
    server waits on it (until its read timeout, or its death): the S3 PutObject (`"put"`: the object
    is not stored), or the DynamoDB transaction after a forwarded PutObject, which is the upload's
    commit (`"commit"`: the object is stored, its record is not)."""

    def __init__(self, target_port: int) -> None:
        super().__init__(target_port)
        self.mode: str | None = None
        self.put_forwarded = False
        self.held = threading.Event()

    def arm(self, mode: str) -> None:
        self.held.clear()
        self.put_forwarded = False
        self.mode = mode

    def _holds(self, chunk: bytes) -> bool:
        if self.mode == "put":
            return chunk.startswith(b"PUT ")
        if self.mode == "commit":
            if chunk.startswith(b"PUT "):
                self.put_forwarded = True
            return self.put_forwarded and b"TransactWriteItems" in chunk
        return False

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        if sink.getpeername()[1] != self._target[1]:  # moto's answers go back unchanged
            super()._pump(source, sink)
            return
        try:
            while chunk := source.recv(65536):
                if self._holds(chunk):
                    self.mode = None
                    self.held.set()
                    while source.recv(65536):  # never forwarded; ends when the server dies
                        pass
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


def records_of(context: AppContext, owner_id: str) -> list[FileRecord]:
    records: list[FileRecord] = []
    cursor: str | None = None
    while True:
        page = context.store.files.list_owned(owner_id, limit=100, cursor=cursor)
        records.extend(page.items)
        if page.next_cursor is None:
            return records
        cursor = page.next_cursor


def sum_of(records: list[FileRecord]) -> Usage:
    return Usage(bytes=sum(record.size for record in records), files=len(records))


def upload(url: str, session: Session, name: str) -> None:
    """Sent from another thread; the server dies under it, so no answer is expected."""
    try:
        with httpx2.Client(base_url=url, timeout=_WAIT_SECONDS) as client:
            client.post(
                "/files", headers=session.headers, files={"file": (name, CONTENT, "application/octet-stream")}
            )
    except httpx2.HTTPError:
        pass


def kill_when(reached: Callable[[], bool], server: subprocess.Popen[bytes], sent: Future[None]) -> None:
    """SIGKILLs the server the moment `reached()` holds, unless the upload ends first."""
    deadline = time.monotonic() + _WAIT_SECONDS
    while not sent.done() and time.monotonic() < deadline:
        if reached():
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            return


def sweep(env: dict[str, str]) -> str:
    """The operator's command, as its own process, with no server running."""
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "sweep", "--grace-seconds", "0"],
        cwd=REPO_ROOT,
        env={**clean_env(), **env, "PYTHONPATH": str(REPO_ROOT / "backend")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


class Scenario:
    """One store's server settings, how to tell that a kill lands mid-upload, and what it stores."""

    env: dict[str, str]
    context: AppContext

    def armed(self, owner_id: str, round_: int) -> Callable[[], bool]:
        raise NotImplementedError

    def stored_keys(self) -> set[str]:
        """Every blob or object, and every leftover of one (the local store's partial files)."""
        raise NotImplementedError


class LocalScenario(Scenario):
    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "data"
        self.env = {
            "APP_MODE": "local",
            "ENVIRONMENT": "production",
            "DATA_DIR": str(self.data_dir),
            "JWT_SECRET": secrets.token_urlsafe(48),
        }
        self.settings = Settings(
            app_mode="local", environment="test", data_dir=self.data_dir, jwt_secret=self.env["JWT_SECRET"]
        )

    def armed(self, owner_id: str, round_: int) -> Callable[[], bool]:
        folder = self.data_dir / "blobs" / owner_id
        known = set(os.listdir(folder)) if folder.is_dir() else set()

        def partial_file_appeared() -> bool:
            try:
                return any(name.endswith(".upload") and name not in known for name in os.listdir(folder))
            except FileNotFoundError:
                return False

        return partial_file_appeared

    def stored_keys(self) -> set[str]:
        root = self.data_dir / "blobs"
        return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


class AwsScenario(Scenario):
    def __init__(self, settings: Settings, proxy: HeldRelay, aws_resources: AwsResources) -> None:
        self.settings = settings
        self.proxy = proxy
        self.aws_resources = aws_resources
        assert settings.jwt_secret_arn is not None
        self.env = {
            **moto_environment({}, proxy.url),
            "APP_MODE": "aws",
            "ENVIRONMENT": "production",
            "JWT_SECRET_ARN": settings.jwt_secret_arn,
            "TABLE_NAME": settings.table_name,
            "BUCKET_NAME": settings.bucket_name,
        }

    def armed(self, owner_id: str, round_: int) -> Callable[[], bool]:
        self.proxy.arm("put" if round_ % 2 == 0 else "commit")
        return self.proxy.held.is_set

    def stored_keys(self) -> set[str]:
        s3 = self.aws_resources.client("s3")
        listing = s3.list_objects_v2(Bucket=self.settings.bucket_name)
        return {item["Key"] for item in listing.get("Contents", [])}


@pytest.fixture
def scenario(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scenario]:
    if backend == "local":
        local = LocalScenario(tmp_path)
        local.context = build_context(local.settings)
        yield local
        return
    moto_server: MotoServer = request.getfixturevalue("moto_server")
    aws_resources: AwsResources = request.getfixturevalue("aws_resources")
    settings: Settings = request.getfixturevalue("make_aws_settings")()
    proxy = HeldRelay(moto_server.port)
    proxy.start()
    try:
        aws = AwsScenario(settings, proxy, aws_resources)
        aws.context = build_context(settings)
        yield aws
    finally:
        proxy.stop()


@pytest.mark.threat("T-25")
def test_uploads_killed_mid_write_leave_nothing_after_the_sweep_and_the_quota_counts_what_is_stored(
    scenario: Scenario, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    with serve_process(scenario.env, log_path) as (_, url), httpx2.Client(base_url=url) as client:
        api = Api(client)
        owner = api.register()
        kept = api.upload(owner, b"kept\n", name="kept.txt")
    context = scenario.context

    # Five kills that land mid-upload; on the embedded store a kill can come too late (the upload was
    # committed meanwhile), and the round is run again, a bounded number of times.
    crashed = 0
    for round_ in range(MAX_ROUNDS):
        with serve_process(scenario.env, log_path) as (server, url), ThreadPoolExecutor(1) as pool:
            reached = scenario.armed(owner.id, round_)
            sent = pool.submit(upload, url, owner, f"crash-{round_}.bin")
            kill_when(reached, server, sent)
            sent.result(timeout=_WAIT_SECONDS)
        crashed = len(context.store.files.pending_of(owner.id))
        if crashed == KILLS:
            break

    records = records_of(context, owner.id)
    pending = context.store.files.pending_of(owner.id)
    # Every round ended in a record (the kill came after the commit) or a pending entry.
    assert len(records) + len(pending) == 1 + round_ + 1
    assert len(pending) == KILLS, f"{len(pending)} of {round_ + 1} kills landed mid-upload"
    if isinstance(scenario, AwsScenario):
        assert round_ + 1 == KILLS
        # The rounds whose commit was held stored their object: an orphan until the sweep.
        assert len(scenario.stored_keys()) == len(records) + KILLS // 2
    else:
        assert len(scenario.stored_keys()) > len(records)  # partial files, or blobs without a record
    # The quota counts what may be stored: the records, and every pending entry.
    assert context.store.files.usage(owner.id) == Usage(
        bytes=sum_of(records).bytes + sum(p.size for p in pending), files=len(records) + len(pending)
    )

    assert sweep(scenario.env) == f"sweep: done ({len(pending)} pending blobs removed)\n"

    records = records_of(context, owner.id)
    assert context.store.files.pending_of(owner.id) == []
    assert scenario.stored_keys() == {f"{owner.id}/{record.id}" for record in records}
    assert context.store.files.usage(owner.id) == sum_of(records)
    # And the account works as before: the kept file reads back, a new upload fits.
    with serve_process(scenario.env, log_path) as (_, url), httpx2.Client(base_url=url) as client:
        assert client.get(f"/files/{kept['id']}/content", headers=owner.headers).content == b"kept\n"
        Api(client).upload(owner, b"after\n", name="after.txt")
