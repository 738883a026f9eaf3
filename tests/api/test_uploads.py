"""Uploads under attack: oversized and streamed bodies, hostile file names, spoofed content types,
stored XSS on download, quota exhaustion and unbounded pagination."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from app.api.deps import app_context
from app.api.files import content_disposition
from app.config import MIB, Settings
from app.factory import MULTIPART_OVERHEAD_BYTES
from app.records import Usage
from app.services.filenames import MAX_NAME_LENGTH, sanitize_filename
from tests.support.api import Api, Session
from tests.support.apps import VIAS, client_for, make_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
GIF = b"GIF89a" + b"\x00" * 16
ZIP = b"PK\x05\x06" + b"\x00" * 18
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16
HTML = b"<!doctype html><script>alert(document.domain)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
BLOB_PATH = re.compile(r"blobs/[0-9a-f-]{36}/[0-9a-f-]{36}")
CHUNK = 64 * 1024
# Quotas are implemented twice (SQLite, DynamoDB): those tests run on both stores.
BOTH_STORES = pytest.mark.both_stores


def multipart(filename: bytes, content: bytes, content_type: bytes = b"text/plain") -> tuple[bytes, str]:
    """A hand-built multipart body: clients escape what an attacker would send raw."""
    boundary = f"h5-{secrets.token_hex(8)}"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + filename
        + b'"\r\nContent-Type: '
        + content_type
        + b"\r\n\r\n"
    )
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def stored_files(data_dir: Path) -> list[str]:
    """Every file under DATA_DIR except the database, as posix paths relative to it."""
    return sorted(
        path.relative_to(data_dir).as_posix()
        for path in data_dir.rglob("*")
        if path.is_file() and not path.name.startswith("app.sqlite3")
    )


def file_ids(api: Api, session: Session, listing: str = "/files", limit: int = 100) -> list[str]:
    items = api.client.get(listing, params={"limit": limit}, headers=session.headers).json()["items"]
    return [item["id"] for item in items]


@pytest.fixture
def small_app(backend: str, request: pytest.FixtureRequest) -> FastAPI:
    factory: Callable[..., Settings] = request.getfixturevalue(
        "make_aws_settings" if backend == "aws" else "make_settings"
    )
    return make_app(factory(max_upload_bytes=1024, user_quota_bytes=100, user_quota_files=3))


@pytest.fixture
def small_api(small_app: FastAPI) -> Iterator[Api]:
    with client_for(small_app, "asgi") as client:
        yield Api(client)


class BlobLedger:
    """Which blobs the app wrote and did not delete again, on either store; a refused upload must
    leave this set unchanged, and every live blob must belong to a record."""

    def __init__(self, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
        self.store = app_context(app).store
        self.live: set[str] = set()
        put, delete = self.store.blobs.put, self.store.blobs.delete

        def recording_put(key: str, *args: Any, **kwargs: Any) -> None:
            put(key, *args, **kwargs)
            self.live.add(key)

        def recording_delete(key: str) -> None:
            delete(key)
            self.live.discard(key)

        monkeypatch.setattr(self.store.blobs, "put", recording_put)
        monkeypatch.setattr(self.store.blobs, "delete", recording_delete)

    def snapshot(self) -> frozenset[str]:
        assert all(self.store.blobs.exists(key) for key in self.live)
        for key in self.live:
            owner_id, file_id = key.split("/")
            record = self.store.files.get(file_id)
            assert record is not None, f"orphaned blob {key}"
            assert record.owner_id == owner_id
        return frozenset(self.live)


@pytest.fixture
def blobs(small_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> BlobLedger:
    return BlobLedger(small_app, monkeypatch)


def data_dir_of(app: FastAPI) -> Path:
    return Path(app_context(app).settings.data_dir)


# --- T-10: oversized bodies ---------------------------------------------------------------------


@pytest.mark.inprocess
@pytest.mark.threat("T-10")
@pytest.mark.parametrize("via", VIAS)
def test_file_over_max_upload_bytes_is_413_and_exactly_the_limit_is_accepted(
    make_settings: Callable[..., Settings], via: str
) -> None:
    app = make_app(make_settings(max_upload_bytes=1024))
    with client_for(app, via) as client:
        small = Api(client)
        user = small.register()
        too_big = client.post("/files", headers=user.headers, files={"file": ("a.bin", b"x" * 1025)})
        assert too_big.status_code == 413, too_big.text
        assert too_big.json() == {"detail": "File too large"}
        # Far over the limit: refused by the body limit before the multipart parser sees it.
        huge = client.post("/files", headers=user.headers, files={"file": ("a.bin", b"x" * 200_000)})
        assert huge.status_code == 413, huge.text
        assert huge.json() == {"detail": "Request body too large"}
        assert file_ids(small, user) == []
        assert stored_files(data_dir_of(app)) == []
        exact = small.upload(user, b"x" * 1024, name="exact.bin", content_type="application/octet-stream")
        assert exact["size"] == 1024


class StreamedBody:
    """An ASGI `receive` that produces a large body lazily and counts what the app actually pulls."""

    def __init__(self, head: bytes, size: int, tail: bytes = b"") -> None:
        self.parts = iter(self._chunks(head, size, tail))
        self.pulled = 0

    @staticmethod
    def _chunks(head: bytes, size: int, tail: bytes) -> Iterator[bytes]:
        yield head
        zeros = b"\x00" * CHUNK
        for _ in range(size // CHUNK):
            yield zeros
        yield tail

    async def __call__(self) -> dict[str, Any]:
        chunk = next(self.parts, None)
        if chunk is None:
            return {"type": "http.disconnect"}
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}


def call_asgi(
    app: FastAPI, path: str, headers: list[tuple[bytes, bytes]], body: StreamedBody
) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    status: list[int] = []
    content: list[bytes] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            content.append(message.get("body", b""))

    # Not asyncio.run: it would unset the current loop, which Mangum (other tests) keeps for itself.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(app(scope, body, send))
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
    return status[0], b"".join(content)


@pytest.fixture
def default_app(make_settings: Callable[..., Settings]) -> tuple[FastAPI, Session]:
    app = make_app(make_settings())
    with TestClient(app, base_url="https://testserver") as client:
        user = Api(client).register()
    return app, user


STREAM_BYTES = 64 * MIB


@pytest.mark.inprocess
@pytest.mark.threat("T-10")
@pytest.mark.parametrize(
    "declared_length",
    [None, "1000", str(STREAM_BYTES)],
    ids=["chunked", "lying-small-length", "honest-64MiB-length"],
)
def test_a_64_mib_streamed_upload_is_refused_without_being_read(
    default_app: tuple[FastAPI, Session], declared_length: str | None
) -> None:
    app, user = default_app
    limit = app_context(app).settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    boundary = "h5streamboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = StreamedBody(head, STREAM_BYTES, f"\r\n--{boundary}--\r\n".encode())
    headers = [
        (b"authorization", f"Bearer {user.token}".encode()),
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
    ]
    if declared_length is not None:
        headers.append((b"content-length", declared_length.encode()))

    already_tracing = tracemalloc.is_tracing()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    try:
        status, content = call_asgi(app, "/files", headers, body)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        if not already_tracing:
            tracemalloc.stop()

    assert status == 413, content
    if declared_length == str(STREAM_BYTES):
        assert body.pulled == 0  # refused on the declared length alone
    assert body.pulled <= limit + CHUNK + len(head)
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB for a refused 64 MiB body"
    assert stored_files(data_dir_of(app)) == []


@pytest.mark.inprocess
@pytest.mark.threat("T-10")
@pytest.mark.parametrize("path", ["/auth/register", "/auth/token"])
def test_public_routes_refuse_a_streamed_64_mib_body(default_app: tuple[FastAPI, Session], path: str) -> None:
    """The unauthenticated routes are the cheapest to abuse: same bound, no token needed."""
    app, _ = default_app
    limit = app_context(app).settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    content_type = b"application/json" if path == "/auth/register" else b"application/x-www-form-urlencoded"
    body = StreamedBody(b'{"username": "' if path == "/auth/register" else b"username=", STREAM_BYTES)
    status, content = call_asgi(app, path, [(b"content-type", content_type)], body)
    # The form parser has its own, smaller per-field cap (400); either way the body is not read.
    assert status in ({413} if path == "/auth/register" else {400, 413}), content
    assert body.pulled <= limit + CHUNK + 16


@pytest.mark.threat("T-10")
@pytest.mark.parametrize("length", ["abc", "-1", "1e9", "0x10"])
def test_a_malformed_content_length_is_refused(api: Api, length: str) -> None:
    response = api.client.post(
        "/auth/register",
        content=b'{"username": "abc", "password": "x"}',
        headers={"content-type": "application/json", "content-length": length},
    )
    assert response.status_code in {400, 413}, response.text


# --- T-11: hostile file names -------------------------------------------------------------------

HOSTILE_NAMES: list[bytes] = [
    b"../../../../etc/passwd",
    b"..\\..\\..\\windows\\win.ini",
    b"%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"..%2f..%2f..%2fetc%2fpasswd",
    b"/etc/passwd",
    b"C:\\Windows\\System32\\drivers\\etc\\hosts",
    b"\\\\server\\share\\x.txt",
    b"report\x00.txt.exe",
    b"line\nbreak.txt",
    b"..",
    b".",
    b".htaccess",
    "\u202etxt.exe".encode(),
    b"a" * 1000 + b".txt",
    "ü".encode() * 1000,
    b'quote".txt',
    b"semi;colon.txt",
]


def assert_safe_name(name: str) -> None:
    assert name
    assert not set(name) & {"/", "\\", "\x00", "\r", "\n"}, repr(name)
    assert not any(unicodedata.category(ch).startswith("C") for ch in name), repr(name)
    assert not name.startswith("."), repr(name)
    assert len(name) <= MAX_NAME_LENGTH


def assert_safe_disposition(header: str) -> None:
    assert header.isascii()
    assert not set(header) & {"\r", "\n", "\x00", "/", "\\"}, header
    assert header.startswith("attachment; ")
    match = re.search(r"filename\*=UTF-8''(\S+)$", header)
    assert match is not None, header
    assert_safe_name(unquote(match.group(1)))


@pytest.mark.inprocess
@pytest.mark.threat("T-11")
@pytest.mark.parametrize("backend", ["local"])
@pytest.mark.parametrize("api", VIAS, indirect=True)
def test_hostile_file_names_are_neutralised_on_disk_and_in_headers(api: Api, app: FastAPI) -> None:
    user = api.register()
    data_dir = data_dir_of(app)
    for raw_name in HOSTILE_NAMES:
        body, content_type = multipart(raw_name, b"payload\n")
        response = api.client.post(
            "/files", headers={**user.headers, "content-type": content_type}, content=body
        )
        assert response.status_code == 201, (raw_name, response.text)
        uploaded = response.json()
        assert_safe_name(uploaded["name"])
        download = api.client.get(f"/files/{uploaded['id']}/content", headers=user.headers)
        assert download.content == b"payload\n"
        assert_safe_disposition(download.headers["content-disposition"])
    blobs = (data_dir / "blobs").resolve()
    on_disk = stored_files(data_dir)
    assert len(on_disk) == len(HOSTILE_NAMES)
    assert all(BLOB_PATH.fullmatch(path) for path in on_disk), on_disk
    assert all((data_dir / path).resolve().is_relative_to(blobs) for path in on_disk)
    # Nothing escaped DATA_DIR either: its parent holds only DATA_DIR itself.
    assert sorted(p.name for p in data_dir.parent.iterdir()) == [data_dir.name]


@pytest.mark.threat("T-11")
def test_names_as_an_http_client_escapes_them_come_back_safe(api: Api) -> None:
    user = api.register()
    for name in ("../../etc/passwd", "evil.txt\r\nSet-Cookie: session=1", "a\x00b", "x" * 1000):
        uploaded = api.upload(user, b"data\n", name=name)
        assert_safe_name(uploaded["name"])
        download = api.client.get(f"/files/{uploaded['id']}/content", headers=user.headers)
        assert_safe_disposition(download.headers["content-disposition"])
        assert "set-cookie" not in download.headers


@pytest.mark.threat("T-11")
def test_a_carriage_return_in_a_raw_multipart_name_is_a_client_error(api: Api) -> None:
    user = api.register()
    body, content_type = multipart(b"evil\r\nX-Injected: 1\r\n.txt", b"data\n")
    response = api.client.post("/files", headers={**user.headers, "content-type": content_type}, content=body)
    assert response.status_code in {201, 400, 422}, response.text
    if response.status_code == 201:
        assert_safe_name(response.json()["name"])
    assert file_ids(api, user) == ([response.json()["id"]] if response.status_code == 201 else [])


@pytest.mark.inprocess
@pytest.mark.threat("T-11")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.binary().map(lambda raw: raw.decode("latin-1"))))
def test_any_name_sanitises_to_one_safe_segment(raw: str) -> None:
    name = sanitize_filename(raw)
    assert_safe_name(name)
    assert sanitize_filename(name) == name  # stable: nothing left to strip
    assert_safe_disposition(content_disposition(name))


# --- T-12: content-type spoofing and stored XSS ---------------------------------------------------


SPOOFED = (
    ("image/png", HTML),
    ("image/png", GIF),
    ("image/jpeg", PNG),
    ("image/jpeg", SVG),
    ("application/pdf", b"MZ\x90\x00\x03\x00\x00\x00"),
    ("application/pdf", HTML),
    ("image/gif", PDF),
    ("image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt "),
    ("application/zip", b"#!/bin/sh\nrm -rf /\n"),
    ("text/plain", b"\xff\xfe\x00\x00not utf-8 \xc3\x28"),
    ("application/json", b"\x80\x81\x82"),
    ("text/html", HTML),
    ("TEXT/HTML; charset=utf-8", HTML),
    ("image/svg+xml", SVG),
    ("application/xhtml+xml", HTML),
    ("text/javascript", b"alert(1)"),
    ("application/javascript", b"alert(1)"),
    ("text/xml", SVG),
    ("application/x-msdownload", b"MZ\x90\x00"),
)


@pytest.mark.threat("T-12")
@pytest.mark.parametrize(
    ("declared", "content"), SPOOFED, ids=[f"{declared}-{n}" for n, (declared, _) in enumerate(SPOOFED)]
)
def test_spoofed_or_active_content_types_are_415_and_nothing_is_stored(
    api: Api, declared: str, content: bytes
) -> None:
    user = api.register()
    response = api.client.post(
        "/files", headers=user.headers, files={"file": ("upload.bin", content, declared)}
    )
    assert response.status_code == 415, response.text
    assert response.json()["detail"] in {"Unsupported content type", "Content does not match its type"}
    assert file_ids(api, user) == []


@pytest.mark.threat("T-12")
@pytest.mark.parametrize(
    ("declared", "content"),
    [
        ("image/png", PNG),
        ("image/jpeg", JPEG),
        ("application/pdf", PDF),
        ("image/gif", GIF),
        ("application/zip", ZIP),
        ("image/webp", WEBP),
        ("text/csv", b"a,b\n1,2\n"),
    ],
)
def test_genuine_files_of_each_checked_type_are_accepted(api: Api, declared: str, content: bytes) -> None:
    user = api.register()
    uploaded = api.upload(user, content, name="genuine", content_type=declared)
    assert uploaded["content_type"] == declared
    download = api.client.get(f"/files/{uploaded['id']}/content", headers=user.headers)
    assert download.content == content
    assert download.headers["content-type"].split(";")[0] == declared


@pytest.mark.threat("T-12")
@pytest.mark.parametrize("declared", ["application/octet-stream", "text/plain", "application/json"])
@pytest.mark.parametrize("content", [HTML, SVG], ids=["html", "svg"])
def test_active_content_is_only_ever_served_as_an_inert_attachment(
    api: Api, declared: str, content: bytes
) -> None:
    owner, recipient = api.register(), api.register()
    if declared == "application/json":
        content = json.dumps({"html": content.decode()}).encode()
    uploaded = api.upload(owner, content, name="page.html", content_type=declared)
    api.share(owner, uploaded["id"], recipient)
    for reader in (owner, recipient):
        download = api.client.get(f"/files/{uploaded['id']}/content", headers=reader.headers)
        assert download.status_code == 200
        assert download.content == content
        media_type = download.headers["content-type"].split(";")[0].strip()
        assert media_type == declared
        assert "html" not in media_type
        assert "svg" not in media_type
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.headers["x-content-type-options"] == "nosniff"
        csp = download.headers["content-security-policy"]
        assert "sandbox" in csp
        assert "default-src 'none'" in csp


@pytest.mark.threat("T-12")
def test_a_name_ending_in_html_does_not_change_the_served_type(api: Api) -> None:
    user = api.register()
    # No explicit type: the client guesses text/html from the extension, and the API refuses it.
    response = api.client.post("/files", headers=user.headers, files={"file": ("x.html", HTML)})
    assert response.status_code == 415
    uploaded = api.upload(user, HTML, name="x.html", content_type="application/octet-stream")
    download = api.client.get(f"/files/{uploaded['id']}/content", headers=user.headers)
    assert download.headers["content-type"] == "application/octet-stream"


@pytest.mark.inprocess
@pytest.mark.threat("T-12")
@pytest.mark.parametrize("backend", ["local"])
def test_a_type_removed_from_the_allowlist_is_served_as_octet_stream(
    api: Api, settings: Settings, make_settings: Callable[..., Settings]
) -> None:
    user = api.register()
    uploaded = api.upload(user, GIF, name="old.gif", content_type="image/gif")
    assert settings.jwt_secret is not None
    narrower = make_app(
        make_settings(
            jwt_secret=settings.jwt_secret.get_secret_value(),
            allowed_content_types="application/octet-stream,text/plain",
        )
    )
    with client_for(narrower, "asgi") as client:
        download = client.get(f"/files/{uploaded['id']}/content", headers=user.headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"


@pytest.mark.threat("T-12")
def test_settings_refuse_to_allowlist_active_content(make_settings: Callable[..., Settings]) -> None:
    for value in ("text/html", "image/png,IMAGE/SVG+XML", "application/xhtml+xml", "text/javascript"):
        with pytest.raises(ValueError, match="cannot be allowlisted"):
            make_settings(allowed_content_types=value)


# --- T-13: quotas (both stores: the atomic check lives in SQLite and in a DynamoDB condition) ----


@pytest.mark.inprocess
@pytest.mark.threat("T-13")
@BOTH_STORES
def test_byte_quota_refuses_with_413_and_stores_nothing(
    small_api: Api, small_app: FastAPI, blobs: BlobLedger
) -> None:
    user, other = small_api.register(), small_api.register()
    store = app_context(small_app).store
    first = small_api.upload(user, b"a" * 60, content_type="application/octet-stream")
    before = (file_ids(small_api, user), store.files.usage(user.id), blobs.snapshot())
    over = small_api.client.post("/files", headers=user.headers, files={"file": ("b.bin", b"b" * 41)})
    assert over.status_code == 413, over.text
    assert over.json() == {"detail": "Storage quota exceeded"}
    assert (file_ids(small_api, user), store.files.usage(user.id), blobs.snapshot()) == before
    assert before[1] == Usage(bytes=60, files=1)
    # Exactly up to the quota is fine; the quota is per user; deleting frees the space.
    small_api.upload(user, b"c" * 40, content_type="application/octet-stream")
    small_api.upload(other, b"d" * 100, content_type="application/octet-stream")
    assert small_api.client.delete(f"/files/{first['id']}", headers=user.headers).status_code == 204
    small_api.upload(user, b"e" * 60, content_type="application/octet-stream")
    assert store.files.usage(user.id) == Usage(bytes=100, files=2)
    assert len(blobs.snapshot()) == 3


@pytest.mark.inprocess
@pytest.mark.threat("T-13")
@BOTH_STORES
def test_file_count_quota_refuses_with_413_and_stores_nothing(
    small_api: Api, small_app: FastAPI, blobs: BlobLedger
) -> None:
    user = small_api.register()
    for _ in range(3):
        small_api.upload(user, b"x")
    before = (file_ids(small_api, user), blobs.snapshot())
    over = small_api.client.post("/files", headers=user.headers, files={"file": ("y.txt", b"y")})
    assert over.status_code == 413, over.text
    assert (file_ids(small_api, user), blobs.snapshot()) == before
    assert app_context(small_app).store.files.usage(user.id) == Usage(bytes=3, files=3)


@pytest.mark.inprocess
@pytest.mark.threat("T-13")
@BOTH_STORES
def test_concurrent_uploads_cannot_overrun_the_quota(
    small_api: Api, small_app: FastAPI, blobs: BlobLedger
) -> None:
    user = small_api.register()

    def upload(index: int) -> int:
        response = small_api.client.post(
            "/files", headers=user.headers, files={"file": (f"{index}.txt", b"z" * 10)}
        )
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(upload, range(12)))
    assert statuses == [201] * 3 + [413] * 9
    assert len(file_ids(small_api, user)) == 3
    assert len(blobs.snapshot()) == 3
    assert app_context(small_app).store.files.usage(user.id) == Usage(bytes=30, files=3)


@pytest.mark.inprocess
@pytest.mark.threat("T-13")
@BOTH_STORES
def test_the_quota_is_claimed_before_any_byte_is_stored(
    small_api: Api, small_app: FastAPI, blobs: BlobLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quota check is the reservation's own atomic write, made before the blob: an upload over the
    quota never writes one, even when a usage figure read earlier would have let it through."""
    user = small_api.register()
    for _ in range(3):
        small_api.upload(user, b"x")
    store = app_context(small_app).store
    before = blobs.snapshot()
    puts: list[str] = []
    with monkeypatch.context() as patch:
        patch.setattr(store.files, "usage", lambda owner_id: Usage(bytes=0, files=0))
        patch.setattr(store.blobs, "put", lambda key, *args, **kwargs: puts.append(key))
        over = small_api.client.post("/files", headers=user.headers, files={"file": ("y.txt", b"y")})
    assert over.status_code == 413, over.text
    assert puts == []
    assert blobs.snapshot() == before
    assert store.files.usage(user.id) == Usage(bytes=3, files=3)
    assert store.files.pending_of(user.id) == []


@pytest.mark.inprocess
@pytest.mark.threat("T-13")
@pytest.mark.parametrize("backend", ["local"])
def test_refused_uploads_leave_no_file_on_disk(small_api: Api, small_app: FastAPI) -> None:
    """The local store seen from the file system: no blob and no temp file survives a refusal."""
    user = small_api.register()
    for _ in range(3):
        small_api.upload(user, b"x")
    before = stored_files(data_dir_of(small_app))
    for name, content, content_type in (
        ("over-count.txt", b"y", "text/plain"),
        ("too-big.bin", b"z" * 2000, "application/octet-stream"),
        ("spoof.png", HTML, "image/png"),
    ):
        response = small_api.client.post(
            "/files", headers=user.headers, files={"file": (name, content, content_type)}
        )
        assert response.status_code in {413, 415}, response.text
    assert stored_files(data_dir_of(small_app)) == before
    assert len(before) == 3
