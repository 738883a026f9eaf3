"""Shares: an owner gives another user read access to one file, and takes it back.

Recipients are named by username, and whether a name exists is not a secret here: registration tells
anyone (409 for a taken name, threat T-19), and sharing answers 404 for a name nobody has. What is
bounded is how fast an account can ask: each may name at most `UNKNOWN_RECIPIENTS_PER_WINDOW` unknown
recipients per window; past that, every share it attempts is refused with the same answer, whether the
name exists or not, until the window ends (threat T-26). The count lives in the store, so it holds
across processes and Lambda execution environments.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from app.context import AppContext
from app.exceptions import NotFoundError, SelfShareError, TooManyAttemptsError
from app.records import FileRecord, Page, Share, User
from app.services.accounts import find_user

UNKNOWN_RECIPIENTS_PER_WINDOW = 20
WINDOW_SECONDS = 15 * 60


def share_file(context: AppContext, *, record: FileRecord, owner: User, username: str) -> Share:
    """Raises NotFoundError (no such user, or the file was deleted meanwhile), SelfShareError,
    AlreadySharedError, or TooManyAttemptsError (before any lookup) once the owner has named too many
    unknown recipients in this window. `record` must be the owner's (services.files.owned_file)."""
    counter, window = f"unknown-recipient#{owner.id}", int(time.time()) // WINDOW_SECONDS
    if context.store.counters.count(counter, window=window) >= UNKNOWN_RECIPIENTS_PER_WINDOW:
        raise TooManyAttemptsError
    recipient = context.store.users.get_by_username(username)
    if recipient is None:
        expires_at = (window + 1) * WINDOW_SECONDS
        if context.store.counters.increment(counter, window=window, expires_at=expires_at) > (
            UNKNOWN_RECIPIENTS_PER_WINDOW
        ):
            raise TooManyAttemptsError  # a racing attempt used the last one: the same answer as above
        raise NotFoundError(username)
    if recipient.id == owner.id:
        raise SelfShareError
    share = Share(
        file_id=record.id,
        user_id=recipient.id,
        username=recipient.username,
        created_at=datetime.now(UTC),
    )
    context.store.shares.add(share)
    return share


def revoke_share(context: AppContext, *, record: FileRecord, username: str) -> None:
    """Raises NotFoundError when there is no such user or no such share."""
    recipient = find_user(context, username)
    context.store.shares.remove(record.id, recipient.id)


def shares_of(context: AppContext, record: FileRecord) -> list[Share]:
    return context.store.shares.list_for_file(record.id)


def shared_with(context: AppContext, *, user_id: str, limit: int, cursor: str | None) -> Page[FileRecord]:
    """The files shared with a user, newest share first. Raises InvalidCursorError."""
    return context.store.shares.list_for_user(user_id, limit=limit, cursor=cursor)
