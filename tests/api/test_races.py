"""Races (issue 16): two requests that touch the same account or file at once. Each race is made
certain, not likely: a store wrapped to hold a call at a barrier until every racer has read what it
is about to change, then the real store decides. Runs on SQLite + a folder and on DynamoDB + S3."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from app.api.deps import app_context
from app.config import Settings
from app.exceptions import NotFoundError
from app.factory import build_context, create_app
from app.records import FileRecord
from app.services import accounts
from tests.support.api import SENSITIVE_VALUES, Api
from tests.support.apps import client_for, fast_passwords

pytestmark = [pytest.mark.both_stores, pytest.mark.inprocess]

_BARRIER_TIMEOUT_SECONDS = 20


class HeldAtBarrier:
    """Delegates to `inner`; the named method waits for `parties` callers before it runs, then they
    run one at a time: each has read what it changes before any writes, which is the race. (One at a
    time because moto_server applies a conditional write non-atomically; DynamoDB's atomicity is
    AWS's guarantee, what is tested here is that the write is conditional at all.)"""

    def __init__(self, inner: Any, method: str, parties: int) -> None:
        self._inner = inner
        self._method = method
        self.barrier = threading.Barrier(parties, timeout=_BARRIER_TIMEOUT_SECONDS)
        self._one_at_a_time = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name != self._method:
            return attribute

        def held(*args: Any, **kwargs: Any) -> Any:
            self.barrier.wait()
            with self._one_at_a_time:
                return attribute(*args, **kwargs)

        return held


ApiWith = Callable[[str, Callable[[Any], Any]], contextlib.AbstractContextManager[Api]]


@pytest.fixture
def api_with(settings: Settings) -> ApiWith:
    """An Api whose store's `part` (users, files, blobs...) is replaced by `wrap(part)`."""

    @contextlib.contextmanager
    def build(part: str, wrap: Callable[[Any], Any]) -> Iterator[Api]:
        context = build_context(settings, passwords=fast_passwords())
        store = dataclasses.replace(context.store, **{part: wrap(getattr(context.store, part))})
        app = create_app(settings, context=dataclasses.replace(context, store=store))
        with client_for(app, "asgi") as client:
            yield Api(client)

    return build


def run_together(*calls: Callable[[], httpx2.Response]) -> list[httpx2.Response]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


@pytest.mark.threat("T-06")
def test_two_concurrent_password_changes_one_wins_and_the_other_is_409(api_with: ApiWith) -> None:
    with api_with("users", lambda users: HeldAtBarrier(users, "set_password", parties=2)) as api:
        user = api.register()
        candidates = ["first new long passphrase", "second new long passphrase"]
        SENSITIVE_VALUES.extend(candidates)

        responses = run_together(
            *(
                functools.partial(
                    api.client.post,
                    "/users/me/password",
                    headers=user.headers,
                    json={"current_password": user.password, "new_password": new},
                )
                for new in candidates
            )
        )
        statuses = [response.status_code for response in responses]
        assert sorted(statuses) == [204, 409], [response.text for response in responses]
        winner, loser = candidates if statuses[0] == 204 else candidates[::-1]
        logins = {
            password: api.client.post("/auth/token", data={"username": user.username, "password": password})
            for password in (winner, loser, user.password)
        }
        assert logins[winner].status_code == 200
        assert logins[loser].status_code == 401
        assert logins[user.password].status_code == 401
        # The token both requests carried is dead: the winner bumped the version once.
        assert api.client.get("/users/me", headers=user.headers).status_code == 401


class PausedOpen:
    """Blobs whose `open` stops once the blob is about to be opened (`when="before"`) or after its
    first chunk (`when="streaming"`), tells `reached`, and goes on when `resume` is set."""

    def __init__(self, inner: Any, when: str) -> None:
        self._inner = inner
        self._when = when
        self.reached = threading.Event()
        self.resume = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _pause(self) -> None:
        self.reached.set()
        assert self.resume.wait(_BARRIER_TIMEOUT_SECONDS)

    def open(self, key: str) -> Iterator[bytes]:
        if self._when == "before":
            self._pause()
            return self._inner.open(key)  # type: ignore[no-any-return]
        chunks = iter(self._inner.open(key))

        def paused() -> Iterator[bytes]:
            yield next(chunks)
            self._pause()
            yield from chunks

        return paused()


# Over one read chunk on either store, so "after the first chunk" is mid-body.
BIG_TEXT = b"0123456789abcdef" * 40_000


@pytest.mark.threat("T-25")
@pytest.mark.parametrize("when", ["before", "streaming"])
def test_a_download_racing_its_deletion_is_a_whole_200_or_a_404(api_with: ApiWith, when: str) -> None:
    paused: list[PausedOpen] = []

    def wrap(blobs: Any) -> PausedOpen:
        paused.append(PausedOpen(blobs, when))
        return paused[0]

    with api_with("blobs", wrap) as api:
        owner = api.register()
        file_id = api.upload(owner, BIG_TEXT, name="big.txt")["id"]
        gate = paused[0]
        with ThreadPoolExecutor(1) as pool:
            download = pool.submit(api.client.get, f"/files/{file_id}/content", headers=owner.headers)
            assert gate.reached.wait(_BARRIER_TIMEOUT_SECONDS)
            try:
                assert api.client.delete(f"/files/{file_id}", headers=owner.headers).status_code == 204
            finally:
                gate.resume.set()
            response = download.result(timeout=_BARRIER_TIMEOUT_SECONDS)
        assert response.status_code in (200, 404), (response.status_code, response.text)
        if response.status_code == 200:
            assert response.content == BIG_TEXT, (
                f"truncated: {len(response.content)} of {len(BIG_TEXT)} bytes"
            )
        else:
            assert response.json() == {"detail": "Not found"}


class PausedCall:
    """Delegates to `inner`; `method` stops before it runs, tells `reached`, and goes on on `resume`."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner = inner
        self._method = method
        self.reached = threading.Event()
        self.resume = threading.Event()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name != self._method:
            return attribute

        def paused(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            assert self.resume.wait(_BARRIER_TIMEOUT_SECONDS)
            return attribute(*args, **kwargs)

        return paused


@pytest.mark.threat("T-25")
def test_deleting_an_account_wins_over_its_uploads_and_logins(api_with: ApiWith) -> None:
    """The deletion is held just before it removes the user: whatever the owner does meanwhile with
    the token they hold or their password is refused, and the deletion then completes."""
    paused: list[PausedCall] = []

    def wrap(users: Any) -> PausedCall:
        paused.append(PausedCall(users, "delete"))
        return paused[0]

    with api_with("users", wrap) as api:
        owner = api.register()
        api.upload(owner, name="before.txt")
        context = app_context(api.client.app)  # type: ignore[attr-defined]
        gate = paused[0]
        with ThreadPoolExecutor(1) as pool:
            deletion = pool.submit(accounts.delete_account, context, username=owner.username)
            assert gate.reached.wait(_BARRIER_TIMEOUT_SECONDS)
            try:
                upload = api.client.post(
                    "/files", headers=owner.headers, files={"file": ("during.txt", b"late\n", "text/plain")}
                )
                credentials = {"username": owner.username, "password": owner.password}
                login = api.client.post("/auth/token", data=credentials)
                # An upload already past its checks is refused when it writes its metadata.
                late = FileRecord(
                    str(uuid.uuid4()), owner.id, "late.txt", 5, "text/plain", "0" * 64, datetime.now(UTC)
                )
                with pytest.raises(NotFoundError):
                    context.store.files.reserve(late, quota=context.quota)
            finally:
                gate.resume.set()
            deletion.result(timeout=_BARRIER_TIMEOUT_SECONDS)
        assert upload.status_code == 401, upload.text
        assert login.status_code == 401, login.text
        assert context.store.users.get(owner.id) is None
        assert context.store.files.list_owned(owner.id, limit=10, cursor=None).items == []
        assert context.store.files.usage(owner.id).files == 0
        # Deleting again finds nobody, and says so.
        with pytest.raises(NotFoundError):
            accounts.delete_account(context, username=owner.username)
