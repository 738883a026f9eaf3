"""Accounts: registration, logging in and out, who is calling, passwords, roles and deletion. Shared by
the API and the operator CLI; nothing here knows HTTP."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from app.context import AppContext
from app.exceptions import (
    CurrentPasswordIncorrectError,
    InvalidCredentialsError,
    InvalidTokenError,
    NotAuthenticatedError,
    NotFoundError,
    PermissionDeniedError,
    StoreStateError,
)
from app.records import Page, Role, User
from app.security.tokens import AccessClaims, IssuedToken
from app.services.files import delete_file, discard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """The caller of a request: an existing user, and the verified claims of the token they sent."""

    user: User
    claims: AccessClaims


_DELETION_ROUNDS = 5


def register(context: AppContext, *, username: str, password: str) -> User:
    """Raises UsernameTakenError. Every account starts as a plain user: admins are made by the CLI."""
    user = User(
        id=str(uuid.uuid4()),
        username=username,
        password_hash=context.passwords.hash(password),
        role="user",
        token_version=0,
        created_at=datetime.now(UTC),
    )
    context.store.users.create(user)
    return user


def authenticate(context: AppContext, *, username: str, password: str) -> User:
    """Raises InvalidCredentialsError, the same for an unknown user and a wrong password."""
    user = context.store.users.get_by_username(username)
    # Always one Argon2 verification, so timing does not reveal whether the account exists.
    valid = context.passwords.verify(password, user.password_hash if user else None)
    if not valid or user is None or user.deleting:
        raise InvalidCredentialsError
    return user


def log_in(context: AppContext, *, username: str, password: str) -> IssuedToken:
    """Raises InvalidCredentialsError."""
    user = authenticate(context, username=username, password=password)
    return context.tokens.issue(user_id=user.id, token_version=user.token_version)


def identify(context: AppContext, token: str | None) -> Principal:
    """The caller behind a bearer token. NotAuthenticatedError for anything but a genuine, unrevoked
    token of an existing user at its current token version; KeyUnavailableError propagates (the key
    store is out of reach: refuse, never let through)."""
    if token is None:
        raise NotAuthenticatedError
    try:
        claims = context.tokens.verify(token)
    except InvalidTokenError:
        raise NotAuthenticatedError from None
    user, revoked = context.store.callers.caller(claims.user_id, claims.token_id)
    if user is None or user.deleting or user.token_version != claims.token_version:
        raise NotAuthenticatedError
    if revoked:
        raise NotAuthenticatedError
    return Principal(user=user, claims=claims)


def log_out(context: AppContext, principal: Principal) -> None:
    """Revokes this token only (by jti), until it would have expired anyway."""
    context.store.revocations.revoke(principal.claims.token_id, expires_at=principal.claims.expires_at)


def require_role(user: User, role: Role) -> None:
    """Raises PermissionDeniedError. Roles are read from the store per request, never from a token."""
    if user.role != role:
        raise PermissionDeniedError


def change_password(context: AppContext, *, user: User, current_password: str, new_password: str) -> None:
    """Raises CurrentPasswordIncorrectError or ConcurrentChangeError. Bumps the token version, so every
    older token dies."""
    if not context.passwords.verify(current_password, user.password_hash):
        raise CurrentPasswordIncorrectError
    # Conditional on the version this request read: of two changes racing, one wins and the other is
    # refused (ConcurrentChangeError), never silently overwritten.
    context.store.users.set_password(
        user.id, context.passwords.hash(new_password), expected_version=user.token_version
    )


def list_users(context: AppContext, *, limit: int, cursor: str | None) -> Page[User]:
    """Every account, newest first (the admin listing). Raises InvalidCursorError."""
    return context.store.users.list(limit=limit, cursor=cursor)


def find_user(context: AppContext, username: str) -> User:
    """Raises NotFoundError."""
    user = context.store.users.get_by_username(username)
    if user is None:
        raise NotFoundError(username)
    return user


def set_role(context: AppContext, *, username: str, role: Role) -> None:
    """Raises NotFoundError. Only the operator CLI grants roles, never the API."""
    context.store.users.set_role(find_user(context, username).id, role)


def delete_account(context: AppContext, *, username: str) -> int:
    """Raises NotFoundError; returns how many files went. The account is marked deleting first, so
    the deletion wins: its tokens die, no login and no new file succeed (the store refuses the quota
    reservation). Then files go (metadata, then blob, so no record points at a missing blob), and the
    pending blobs of uploads in flight (whose commit then fails), then the user and the shares with
    them. Safe to run again after an interruption: it finds the account still marked and carries on."""
    user = find_user(context, username)
    store = context.store
    store.users.begin_deletion(user.id)
    removed = 0
    # An upload that committed just before the mark may show up only in a later listing (DynamoDB's
    # index is eventually consistent): walk again until the user goes, a bounded number of times.
    for _ in range(_DELETION_ROUNDS):
        removed += _delete_files_of(context, user.id)
        try:
            store.users.delete(user.id)
        except StoreStateError:
            continue
        log.info("account deleted", extra={"user_id": user.id, "files": removed})
        return removed
    raise StoreStateError("files kept appearing while the account was being deleted; run it again")


def _delete_files_of(context: AppContext, user_id: str) -> int:
    store = context.store
    removed = 0
    cursor: str | None = None
    while True:
        page = store.files.list_owned(user_id, limit=100, cursor=cursor)
        for record in page.items:
            delete_file(context, record)
            removed += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    for pending in store.files.pending_of(user_id):
        discard(context, pending)
    return removed
