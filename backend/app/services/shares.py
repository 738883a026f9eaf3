"""Shares: an owner gives another user read access to one file, and takes it back."""

from __future__ import annotations

from datetime import UTC, datetime

from app.context import AppContext
from app.exceptions import SelfShareError
from app.records import FileRecord, Page, Share, User
from app.services.accounts import find_user


def share_file(context: AppContext, *, record: FileRecord, owner: User, username: str) -> Share:
    """Raises NotFoundError (no such user, or the file was deleted meanwhile), SelfShareError or
    AlreadySharedError. `record` must be the owner's (services.files.owned_file)."""
    recipient = find_user(context, username)
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
