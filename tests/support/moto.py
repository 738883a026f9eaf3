"""A real AWS-protocol endpoint for the tests: `moto_server` in a subprocess on a free loopback port.

boto3 talks HTTP to it exactly as it talks to AWS, so the AWS store and the Secrets Manager key provider
are tested through their real clients, never through patches of our own code. One server per pytest
worker (session scope); each test gets its own table and bucket, so tests never see each other's data.
The signing secret is shared by the worker's tests unless a test provisions its own (rotation does).

Registered as a plugin by tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.aws_clients import Service, aws_client
from app.config import Settings
from devtools.moto import LOCAL_CREDENTIALS, REGION, moto_environment, start_moto_server, stop
from devtools.ports import free_port

_START_TIMEOUT_SECONDS = 30.0


@dataclass
class MotoServer:
    """One moto_server process; `stop` and `start` again give the same URL (state is lost, though)."""

    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # The same start-up `make run-aws` uses: loopback only, answering before this returns.
        with self.log_path.open("ab") as log:
            self.process = start_moto_server(self.port, log, timeout=_START_TIMEOUT_SECONDS)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


class TcpProxy:
    """A loopback TCP relay in front of moto_server that can be cut and restored, so a test can take
    the AWS endpoint away (connection refused, live connections reset) without losing moto's state."""

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._connections.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Either direction ending ends the relay; the other pump then fails fast and returns.
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            with self._lock:
                self._connections.difference_update((source, sink))


@functools.cache
def _session() -> Any:
    # One session for the tests' own clients: it caches the service models a new session reloads.
    import boto3

    return boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )


def new_client(service: Service, endpoint: str) -> Any:
    """A client of its own, configured like the app's, with explicit fake credentials: safe to hook
    events onto."""
    return aws_client(service, endpoint_url=endpoint, session=_session())


class CallCounter:
    """Counts one API operation on the clients it is registered with (a botocore event hook)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1


@contextlib.contextmanager
def default_session_hook(event_name: str, handler: Callable[..., Any]) -> Iterator[None]:
    """Hooks `handler` onto every client the app builds inside the block: the app's clients come from
    boto3's default session, and a client copies the session's event handlers when it is created."""
    import boto3

    events = boto3._get_default_session().events
    events.register(event_name, handler)
    try:
        yield
    finally:
        events.unregister(event_name, handler)


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


class DynamoDBFault:
    """A botocore before-send hook: while armed, DynamoDB's answer to the hooked operation is this
    error, as DynamoDB would send it (status, JSON error body); the request never leaves the client."""

    def __init__(self, status: int, error_type: str, **fields: Any) -> None:
        self.armed = False
        self.fired = 0
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": "injected", **fields}
        self._status, self._body = status, json.dumps(body).encode()

    def __call__(self, request: Any, **_: Any) -> Any:
        if not self.armed:
            return None
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders

        self.fired += 1
        headers = HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.0"})
        return AWSResponse(request.url, self._status, headers, _Body(self._body))


def enable_rotation(client: Any, secret_arn: str) -> None:
    """Turns rotation on, as infra/ does. moto has no rotation Lambda to call, so with
    RotateImmediately=False it only records the schedule (and labels a copy of the value AWSCURRENT);
    the steps themselves are then driven through app.rotation, as Secrets Manager would."""
    client.rotate_secret(
        SecretId=secret_arn, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False
    )


def rotate(client: Any, secret_arn: str) -> str:
    """One full rotation through the real rotation handler's steps; returns the new VersionId."""
    import uuid

    from app.rotation import rotate_step

    token = str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        rotate_step(client, secret_id=secret_arn, version_id=token, step=step)
    return token


@dataclass
class AwsResources:
    """Session-wide clients for provisioning; a fresh table and bucket per test, one shared secret."""

    endpoint: str
    clients: dict[str, Any] = field(default_factory=dict)
    secret_arn: str = ""

    def client(self, service: Service) -> Any:
        """A client shared by the session's fixtures: never hook events onto it, use new_client."""
        if service not in self.clients:
            self.clients[service] = new_client(service, self.endpoint)
        return self.clients[service]

    def new_table_and_bucket(self) -> tuple[str, str]:
        from devtools.provision import ensure_bucket, ensure_table

        suffix = secrets.token_hex(6)
        table, bucket = f"files-{suffix}", f"files-{suffix}"
        ensure_table(self.client("dynamodb"), table)
        ensure_bucket(self.client("s3"), bucket, REGION)
        return table, bucket

    def new_secret(self, *, rotation: bool = False) -> str:
        from devtools.provision import ensure_secret

        client = self.client("secretsmanager")
        arn = ensure_secret(client, f"jwt-{secrets.token_hex(6)}")
        if rotation:
            enable_rotation(client, arn)
        return arn


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    # A free port can be taken by another process before moto binds it: try a few.
    for attempt in range(3):
        server = MotoServer(port=free_port(), log_path=log_path)
        try:
            server.start()
            break
        except RuntimeError:
            if attempt == 2:
                raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aws_resources(moto_server: MotoServer) -> AwsResources:
    resources = AwsResources(endpoint=moto_server.url)
    resources.secret_arn = resources.new_secret()
    return resources


def set_aws_env(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """What boto3 reads when the app builds its clients: the local endpoint and fake credentials only,
    whatever AWS settings the developer's shell or ~/.aws holds (the scrub `make run-aws` uses)."""
    environment = moto_environment(os.environ, endpoint)
    for name in set(os.environ) - set(environment):
        monkeypatch.delenv(name)
    for name, value in environment.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    set_aws_env(monkeypatch, moto_server.url)
    return moto_server.url


@pytest.fixture
def make_aws_settings(aws_env: str, aws_resources: AwsResources, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for an AWS-mode app on its own table and bucket; keyword overrides win."""

    def make(**overrides: Any) -> Settings:
        table, bucket = aws_resources.new_table_and_bucket()
        values: dict[str, Any] = {
            "app_mode": "aws",
            "environment": "test",
            "data_dir": tmp_path / "data",
            "jwt_secret_arn": aws_resources.secret_arn,
            "table_name": table,
            "bucket_name": bucket,
            "aws_region": REGION,
        }
        values.update(overrides)
        return Settings(**values)

    return make
