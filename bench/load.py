"""`make load`: a bounded load run against a real uvicorn, then the books are checked (issue 16).

Many connections upload, download and delete at once on one account, for a fixed time; the run then
checks what must hold whatever the interleaving: no 5xx and no transport error, every download that
answered 200 was the bytes uploaded, every surviving file reads back intact, no blob or S3 object
(nor a temporary file) without a record, no pending entry left, and the quota equal to the sum of the
records. It prints the counts and exits 1 if any check fails.

python -m bench.load [--store local|aws|both] [--seconds 30] [--connections 64]

The embedded store is served from a temporary DATA_DIR; AWS mode from a moto_server of its own, with
DynamoDB's atomic conditional writes (devtools/moto_atomic_server.py says why).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from devtools.moto import REGION, moto_environment, start_moto_server, stop
from devtools.ports import free_port

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "load run throw-away password"  # noqa: S105 - a local account  # pragma: allowlist secret
# Of every request: upload, download, delete (of a file this run uploaded and has not seen deleted).
MIX = (("upload", 0.4), ("download", 0.35), ("delete", 0.25))
MAX_SIZE = 64 * 1024


@dataclass
class Books:
    """What the clients did and saw, kept in one event loop (no locks needed)."""

    statuses: Counter[str] = field(default_factory=Counter)
    live: dict[str, bytes] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    corrupt: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def count(self, operation: str, outcome: str | int) -> None:
        self.statuses[f"{operation} {outcome}"] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for key, n in self.statuses.items() if key.split()[1][0] in "5x")


async def _upload(client: httpx2.AsyncClient, headers: dict[str, str], books: Books) -> None:
    content = secrets.token_bytes(random.randint(1, MAX_SIZE))
    response = await client.post(
        "/files", headers=headers, files={"file": ("load.bin", content, "application/octet-stream")}
    )
    books.count("upload", response.status_code)
    if response.status_code == 201:
        books.live[response.json()["id"]] = content


async def _download(client: httpx2.AsyncClient, headers: dict[str, str], books: Books) -> None:
    if not books.live:
        return
    file_id, content = random.choice(list(books.live.items()))
    response = await client.get(f"/files/{file_id}/content", headers=headers)
    books.count("download", response.status_code)
    if response.status_code == 200 and response.content != content:
        books.corrupt.append(file_id)
    elif response.status_code == 404 and file_id in books.live:
        # Only a deletion that won the race may answer 404: checked once every deletion is known.
        books.lost.append(file_id)


async def _delete(client: httpx2.AsyncClient, headers: dict[str, str], books: Books) -> None:
    if not books.live:
        return
    file_id = random.choice(list(books.live))
    response = await client.delete(f"/files/{file_id}", headers=headers)
    books.count("delete", response.status_code)
    if response.status_code in (204, 404):
        books.live.pop(file_id, None)
        books.deleted.add(file_id)


_OPERATIONS = {"upload": _upload, "download": _download, "delete": _delete}


async def _load(url: str, headers: dict[str, str], *, seconds: float, connections: int) -> Books:
    books = Books()
    deadline = time.monotonic() + seconds
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]

    async def worker(client: httpx2.AsyncClient) -> None:
        while time.monotonic() < deadline:
            operation = random.choices(names, weights)[0]
            try:
                await _OPERATIONS[operation](client, headers, books)
            except httpx2.HTTPError as error:
                books.count(operation, f"x-{type(error).__name__}")

    limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    # A download that saw 404 for a file nobody deleted afterwards is a lost file.
    books.lost = [file_id for file_id in books.lost if file_id not in books.deleted]
    return books


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={**env, "PYTHONPATH": f"{REPO / 'backend'}{os.pathsep}{REPO}"},
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start; see {log}")


@contextlib.contextmanager
def _server(env: dict[str, str], log: Path) -> Iterator[str]:
    process, url = _serve(env, log)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _login(url: str) -> tuple[str, dict[str, str]]:
    username = f"load_{secrets.token_hex(4)}"
    with httpx2.Client(base_url=url, timeout=30) as client:
        created = client.post("/auth/register", json={"username": username, "password": PASSWORD})
        created.raise_for_status()
        token = client.post("/auth/token", data={"username": username, "password": PASSWORD})
        token.raise_for_status()
    return created.json()["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}


def _surviving(url: str, headers: dict[str, str], books: Books) -> tuple[list[str], list[str]]:
    """The files the API lists, and those among them whose bytes differ from what was uploaded."""
    listed: list[str] = []
    damaged: list[str] = []
    with httpx2.Client(base_url=url, timeout=60) as client:
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = client.get("/files", headers=headers, params=params).json()
            listed.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        for file_id in listed:
            response = client.get(f"/files/{file_id}/content", headers=headers)
            if response.status_code != 200 or response.content != books.live.get(file_id):
                damaged.append(file_id)
    return listed, damaged


def run(store: str, *, seconds: float, connections: int, work: Path) -> bool:
    """One load run on `store` ("local" or "aws"); prints its counts and returns whether every check held."""
    from app.config import Settings
    from app.factory import build_context
    from app.records import FileRecord

    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ENVIRONMENT": "production", "LOG_LEVEL": "WARNING"}
    with contextlib.ExitStack() as stack:
        if store == "local":
            data_dir = work / "data"
            env.update(APP_MODE="local", DATA_DIR=str(data_dir), JWT_SECRET=secrets.token_urlsafe(48))
            settings = Settings(app_mode="local", data_dir=data_dir, jwt_secret=env["JWT_SECRET"])

            def stored_keys() -> set[str]:
                root = data_dir / "blobs"
                return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
        else:
            endpoint = _moto(stack, work)
            env.update(_aws_env(endpoint))
            os.environ.update(moto_environment(os.environ, endpoint))
            settings = Settings(
                app_mode="aws",
                jwt_secret_arn=env["JWT_SECRET_ARN"],
                table_name=env["TABLE_NAME"],
                bucket_name=env["BUCKET_NAME"],
                aws_region=REGION,
            )

            def stored_keys() -> set[str]:
                from app.aws_clients import aws_client

                s3 = aws_client("s3", endpoint_url=endpoint)
                keys: set[str] = set()
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket_name):
                    keys.update(item["Key"] for item in page.get("Contents", []))
                return keys

        with _server(env, work / "server.log") as url:
            owner_id, headers = _login(url)
            started = time.monotonic()
            books = asyncio.run(_load(url, headers, seconds=seconds, connections=connections))
            elapsed = time.monotonic() - started
            listed, damaged = _surviving(url, headers, books)

        # The server has stopped; its data is read directly.
        context = build_context(settings)
        records: list[FileRecord] = []
        cursor: str | None = None
        while True:
            page = context.store.files.list_owned(owner_id, limit=100, cursor=cursor)
            records.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        usage = context.store.files.usage(owner_id)
        pending = context.store.files.pending_of(owner_id)
        keys = stored_keys()

    expected_keys = {f"{owner_id}/{record.id}" for record in records}
    record_bytes = sum(record.size for record in records)

    checks = {
        "no 5xx or transport error": books.server_errors == 0,
        "every 200 download was the uploaded bytes": not books.corrupt,
        "no live file answered 404": not books.lost,
        "the listing is exactly the files not deleted": set(listed) == set(books.live),
        "every surviving file reads back intact": not damaged,
        "no orphan blob, object or temporary file": keys == expected_keys,
        "no pending entry left": not pending,
        "quota equals the records": (usage.bytes, usage.files) == (record_bytes, len(records)),
    }
    total = sum(books.statuses.values())
    print(f"\n== load run: {store} store, {connections} connections, {seconds:g} s ==")
    print(f"requests: {total} in {elapsed:.1f} s ({total / elapsed:.0f}/s)")
    for key in sorted(books.statuses):
        print(f"  {key}: {books.statuses[key]}")
    print(f"surviving files: {len(listed)} ({record_bytes} bytes); deleted: {len(books.deleted)}")
    print(f"stored blobs/objects: {len(keys)}; without a record: {len(keys - expected_keys)}")
    print(f"quota usage: {usage.bytes} bytes, {usage.files} files", end="; ")
    print(f"records: {record_bytes} bytes, {len(records)} files; pending entries: {len(pending)}")
    print(f"corrupt downloads: {len(books.corrupt)}; damaged survivors: {len(damaged)}")
    for check, held in checks.items():
        print(f"  [{'ok' if held else 'FAILED'}] {check}")
    return all(checks.values())


def _moto(stack: contextlib.ExitStack, work: Path) -> str:
    port = free_port()
    log = stack.enter_context((work / "moto.log").open("wb"))
    server = start_moto_server(port, log)
    stack.callback(stop, server)
    return f"http://127.0.0.1:{port}"


def _aws_env(endpoint: str) -> dict[str, str]:
    from devtools.provision import provision

    saved = dict(os.environ)
    os.environ.update(moto_environment(os.environ, endpoint))
    try:
        resources = provision(
            table_name="load-table",
            bucket_name="load-bucket",
            secret_name="load/jwt",  # noqa: S106 - a name, not a secret  # pragma: allowlist secret
            region=REGION,
            endpoint_url=endpoint,
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {
        **moto_environment(os.environ, endpoint),
        "APP_MODE": "aws",
        "JWT_SECRET_ARN": resources.secret_arn,
        "TABLE_NAME": resources.table_name,
        "BUCKET_NAME": resources.bucket_name,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("local", "aws", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    stores = ("local", "aws") if args.store == "both" else (args.store,)
    with tempfile.TemporaryDirectory(prefix="load-") as work:
        results = [
            run(store, seconds=args.seconds, connections=args.connections, work=Path(work) / store)
            for store in stores
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
