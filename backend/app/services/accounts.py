"""Account operations shared by the API and the admin CLI."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from app.security.passwords import hash_password, verify_password
from app.store.base import Store, User, blob_key

log = logging.getLogger(__name__)


def register(store: Store, *, username: str, password: str) -> User:
    """Raises UsernameTakenError. Every account starts as a plain user: admins are made by the CLI."""
    user = User(
        id=str(uuid.uuid4()),
        username=username,
        password_hash=hash_password(password),
        role="user",
        token_version=0,
        created_at=datetime.now(UTC),
    )
    store.users.create(user)
    return user


def authenticate(store: Store, *, username: str, password: str) -> User | None:
    user = store.users.get_by_username(username)
    # Always one Argon2 verification, so timing does not reveal whether the account exists.
    valid = verify_password(password, user.password_hash if user else None)
    return user if valid and user is not None else None


def change_password(store: Store, *, user: User, new_password: str) -> None:
    store.users.set_password(user.id, hash_password(new_password))


def delete_account(store: Store, *, user: User) -> None:
    """Files go first (metadata, then blob), so no record ever points at a missing blob. Pages are
    walked by cursor: an eventually consistent listing may still show a file just deleted."""
    cursor: str | None = None
    while True:
        page = store.files.list_owned(user.id, limit=100, cursor=cursor)
        for record in page.items:
            store.files.delete(record)
            store.blobs.delete(blob_key(record))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    store.users.delete(user.id)
    log.info("account deleted", extra={"user_id": user.id})
