"""The embedded default: SQLite (stdlib) for metadata and a folder for blobs, both under DATA_DIR."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from app.exceptions import (
    AlreadySharedError,
    ConcurrentChangeError,
    NotFoundError,
    QuotaExceededError,
    StoreStateError,
    UsernameTakenError,
)
from app.records import FileRecord, Page, PendingBlob, Quota, Role, Share, Usage, User
from app.store.base import Store, checked_blob_key
from app.store.paging import keyset_page, sort_timestamp, upper_bound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    token_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    deleting INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS users_by_created ON users (created_at, id);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_owner ON files (owner_id, created_at, id);
CREATE TABLE IF NOT EXISTS shares (
    file_id TEXT NOT NULL REFERENCES files (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (file_id, user_id)
);
CREATE INDEX IF NOT EXISTS shares_by_user ON shares (user_id, created_at, file_id);
CREATE TABLE IF NOT EXISTS pending_blobs (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    size INTEGER NOT NULL,
    since TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_by_owner ON pending_blobs (owner_id);
CREATE INDEX IF NOT EXISTS pending_by_since ON pending_blobs (since, id);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT NOT NULL,
    period INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key, period)
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    token_id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
"""


def _violates_foreign_key(error: sqlite3.IntegrityError) -> bool:
    """A row referenced something deleted in the meantime (a file, a user): not a duplicate."""
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY


class _Database:
    """One connection per thread, kept open: FastAPI runs sync handlers on a pool of worker threads,
    and opening a connection per query would cost more than most queries."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(users)")}
            if "deleting" not in columns:  # a data folder made before accounts could be mid-deletion
                db.execute("ALTER TABLE users ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0")
        finally:
            db.close()

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=10, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @contextlib.contextmanager
    def transaction(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def select(self, sql: str, params: tuple[object, ...]) -> sqlite3.Cursor:
        return self._connection().execute(sql, params)

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """For a single SELECT, which SQLite already runs as one atomic statement: no BEGIN/COMMIT."""
        yield self._connection()


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        role=row["role"],
        token_version=row["token_version"],
        created_at=datetime.fromisoformat(row["created_at"]),
        deleting=bool(row["deleting"]),
    )


def _file(row: sqlite3.Row) -> FileRecord:
    return FileRecord(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        size=row["size"],
        content_type=row["content_type"],
        sha256=row["sha256"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _pending(row: sqlite3.Row) -> PendingBlob:
    return PendingBlob(
        id=row["id"], owner_id=row["owner_id"], size=row["size"], since=datetime.fromisoformat(row["since"])
    )


# What the quota counts: the owner's records and pending blobs (an upload in flight, or one a crash left).
_USAGE = (
    "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM"
    " (SELECT size FROM files WHERE owner_id = ?1"
    " UNION ALL SELECT size FROM pending_blobs WHERE owner_id = ?1)"
)


def _created(row: sqlite3.Row) -> tuple[str, str]:
    return row["created_at"], row["id"]


class SqliteUsers:
    def __init__(self, db: _Database) -> None:
        self._db = db

    def create(self, user: User) -> None:
        try:
            with self._db.transaction() as db:
                db.execute(
                    "INSERT INTO users (id, username, password_hash, role, token_version, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        user.id,
                        user.username,
                        user.password_hash,
                        user.role,
                        user.token_version,
                        sort_timestamp(user.created_at),
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise UsernameTakenError(user.username) from error

    def get(self, user_id: str) -> User | None:
        row = self._db.select("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def get_by_username(self, username: str) -> User | None:
        row = self._db.select("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return _user(row) if row else None

    def list(self, *, limit: int, cursor: str | None) -> Page[User]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT * FROM users WHERE (created_at, id) < (?, ?)"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (*upper_bound(cursor), limit + 1),
            ).fetchall()
        return keyset_page(rows, limit, item=_user, sort_key=_created)

    def set_password(self, user_id: str, password_hash: str, *, expected_version: int) -> None:
        with self._db.transaction(immediate=True) as db:
            updated = db.execute(
                "UPDATE users SET password_hash = ?, token_version = token_version + 1"
                " WHERE id = ? AND token_version = ?",
                (password_hash, user_id, expected_version),
            ).rowcount
            exists = updated or db.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone()
        if not exists:
            raise NotFoundError(user_id)
        if not updated:
            raise ConcurrentChangeError(user_id)

    def set_role(self, user_id: str, role: Role) -> None:
        with self._db.transaction() as db:
            if not db.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id)).rowcount:
                raise NotFoundError(user_id)

    def begin_deletion(self, user_id: str) -> None:
        with self._db.transaction(immediate=True) as db:
            updated = db.execute(
                "UPDATE users SET deleting = 1, token_version = token_version + 1 WHERE id = ?", (user_id,)
            ).rowcount
        if not updated:
            raise NotFoundError(user_id)

    def delete(self, user_id: str) -> None:
        with self._db.transaction(immediate=True) as db:
            owns = (
                "SELECT 1 FROM files WHERE owner_id = ?1"
                " UNION ALL SELECT 1 FROM pending_blobs WHERE owner_id = ?1"
            )
            if db.execute(owns, (user_id,)).fetchone():
                raise StoreStateError("delete the user's files first")
            db.execute("DELETE FROM shares WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM users WHERE id = ?", (user_id,))


class SqliteFiles:
    def __init__(self, db: _Database) -> None:
        self._db = db

    def reserve(self, record: FileRecord, *, quota: Quota) -> None:
        try:
            self._reserve(record, quota)
        except sqlite3.IntegrityError as error:
            if _violates_foreign_key(error):
                raise NotFoundError(record.owner_id) from error
            raise

    def _reserve(self, record: FileRecord, quota: Quota) -> None:
        # IMMEDIATE takes the write lock before reading usage, so two uploads cannot both fit.
        with self._db.transaction(immediate=True) as db:
            if db.execute("SELECT 1 FROM users WHERE id = ? AND deleting = 1", (record.owner_id,)).fetchone():
                raise NotFoundError(record.owner_id)
            used_bytes, used_files = db.execute(_USAGE, (record.owner_id,)).fetchone()
            if used_bytes + record.size > quota.max_bytes or used_files + 1 > quota.max_files:
                raise QuotaExceededError(record.owner_id)
            db.execute(
                "INSERT INTO pending_blobs VALUES (?, ?, ?, ?)",
                (record.id, record.owner_id, record.size, sort_timestamp(record.created_at)),
            )

    def commit(self, record: FileRecord) -> None:
        with self._db.transaction(immediate=True) as db:
            if not db.execute("DELETE FROM pending_blobs WHERE id = ?", (record.id,)).rowcount:
                raise NotFoundError(record.id)
            db.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.owner_id,
                    record.name,
                    record.size,
                    record.content_type,
                    record.sha256,
                    sort_timestamp(record.created_at),
                ),
            )

    def get(self, file_id: str) -> FileRecord | None:
        row = self._db.select("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        return _file(row) if row else None

    def list_owned(self, owner_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT * FROM files WHERE owner_id = ? AND (created_at, id) < (?, ?)"
                " ORDER BY created_at DESC, id DESC LIMIT ?",
                (owner_id, *upper_bound(cursor), limit + 1),
            ).fetchall()
        return keyset_page(rows, limit, item=_file, sort_key=_created)

    def delete(self, record: FileRecord) -> bool:
        with self._db.transaction(immediate=True) as db:
            db.execute("DELETE FROM shares WHERE file_id = ?", (record.id,))
            if not db.execute("DELETE FROM files WHERE id = ?", (record.id,)).rowcount:
                return False
            db.execute(
                "INSERT INTO pending_blobs VALUES (?, ?, ?, ?)",
                (record.id, record.owner_id, record.size, sort_timestamp(datetime.now(UTC))),
            )
        return True

    def release(self, pending: PendingBlob) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM pending_blobs WHERE id = ?", (pending.id,))

    def pending_of(self, owner_id: str) -> list[PendingBlob]:
        with self._db.reading() as db:
            rows = db.execute("SELECT * FROM pending_blobs WHERE owner_id = ?", (owner_id,)).fetchall()
        return [_pending(row) for row in rows]

    def stale_pending(self, *, before: datetime, limit: int) -> list[PendingBlob]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT * FROM pending_blobs WHERE since < ? ORDER BY since, id LIMIT ?",
                (sort_timestamp(before), limit),
            ).fetchall()
        return [_pending(row) for row in rows]

    def usage(self, owner_id: str) -> Usage:
        with self._db.reading() as db:
            used_bytes, used_files = db.execute(_USAGE, (owner_id,)).fetchone()
        return Usage(bytes=used_bytes, files=used_files)


class SqliteShares:
    def __init__(self, db: _Database) -> None:
        self._db = db

    def add(self, share: Share) -> None:
        try:
            with self._db.transaction() as db:
                db.execute(
                    "INSERT INTO shares VALUES (?, ?, ?)",
                    (share.file_id, share.user_id, sort_timestamp(share.created_at)),
                )
        except sqlite3.IntegrityError as error:
            # The file (or the recipient) was deleted after the caller's checks: the same 404 as the
            # AWS store, not a duplicate.
            if _violates_foreign_key(error):
                raise NotFoundError(share.file_id) from error
            raise AlreadySharedError(share.file_id) from error

    def remove(self, file_id: str, user_id: str) -> None:
        with self._db.transaction() as db:
            deleted = db.execute(
                "DELETE FROM shares WHERE file_id = ? AND user_id = ?", (file_id, user_id)
            ).rowcount
        if not deleted:
            raise NotFoundError(file_id)

    def exists(self, file_id: str, user_id: str) -> bool:
        with self._db.reading() as db:
            row = db.execute(
                "SELECT 1 FROM shares WHERE file_id = ? AND user_id = ?", (file_id, user_id)
            ).fetchone()
        return row is not None

    def list_for_file(self, file_id: str) -> list[Share]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT s.file_id, s.user_id, u.username, s.created_at FROM shares s"
                " JOIN users u ON u.id = s.user_id WHERE s.file_id = ? ORDER BY u.username",
                (file_id,),
            ).fetchall()
        return [
            Share(
                row["file_id"],
                row["user_id"],
                row["username"],
                datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]

    def list_for_user(self, user_id: str, *, limit: int, cursor: str | None) -> Page[FileRecord]:
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT f.*, s.created_at AS shared_at FROM shares s JOIN files f ON f.id = s.file_id"
                " WHERE s.user_id = ? AND (s.created_at, s.file_id) < (?, ?)"
                " ORDER BY s.created_at DESC, s.file_id DESC LIMIT ?",
                (user_id, *upper_bound(cursor), limit + 1),
            ).fetchall()
        return keyset_page(rows, limit, item=_file, sort_key=lambda row: (row["shared_at"], row["id"]))


class SqliteRevocations:
    def __init__(self, db: _Database) -> None:
        self._db = db

    def revoke(self, token_id: str, *, expires_at: int) -> None:
        with self._db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO revoked_tokens VALUES (?, ?)", (token_id, expires_at))

    def is_revoked(self, token_id: str) -> bool:
        with self._db.reading() as db:
            row = db.execute("SELECT 1 FROM revoked_tokens WHERE token_id = ?", (token_id,)).fetchone()
        return row is not None


class SqliteCounters:
    def __init__(self, db: _Database) -> None:
        self._db = db

    def increment(self, key: str, *, window: int, expires_at: int) -> int:
        with self._db.transaction(immediate=True) as db:
            # Expired windows go as new ones start: the table holds only live counters.
            db.execute("DELETE FROM counters WHERE key = ? AND expires_at <= ?", (key, int(time.time())))
            (hits,) = db.execute(
                "INSERT INTO counters VALUES (?, ?, 1, ?)"
                " ON CONFLICT (key, period) DO UPDATE SET hits = hits + 1 RETURNING hits",
                (key, window, expires_at),
            ).fetchone()
        return int(hits)

    def count(self, key: str, *, window: int) -> int:
        with self._db.reading() as db:
            row = db.execute(
                "SELECT hits FROM counters WHERE key = ? AND period = ?", (key, window)
            ).fetchone()
        return int(row["hits"]) if row else 0


class SqliteCallers:
    def __init__(self, db: _Database) -> None:
        self._db = db

    def caller(self, user_id: str, token_id: str) -> tuple[User | None, bool]:
        with self._db.reading() as db:
            row = db.execute(
                "SELECT users.*, EXISTS (SELECT 1 FROM revoked_tokens WHERE token_id = ?) AS revoked"
                " FROM users WHERE id = ?",
                (token_id, user_id),
            ).fetchone()
        return (_user(row), bool(row["revoked"])) if row else (None, False)


class FolderBlobs:
    """Blobs as files named by server ids; written to a temp file named after the key and renamed, so a
    reader never sees half a blob, and what a crash leaves is found again by its key (`delete`)."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self._root / checked_blob_key(key)

    @staticmethod
    def _partial(path: Path) -> Path:
        return path.with_name(f".{path.name}.upload")

    def put(self, key: str, source: BinaryIO, *, size: int, content_type: str) -> None:
        path = self._path(key)
        partial = self._partial(path)
        path.parent.mkdir(exist_ok=True)
        try:
            with partial.open("wb") as tmp:
                while chunk := source.read(1024 * 1024):
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)

    def open(self, key: str) -> Iterator[bytes]:
        # Opened now, not when the response starts: a blob deleted before is a NotFoundError (404),
        # and one deleted while it is streamed is still read whole through this handle.
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFoundError(key) from None
        return _read_chunks(handle)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._partial(path).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(256 * 1024):
            yield chunk


def local_store(data_dir: Path) -> Store:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = _Database(data_dir / "app.sqlite3")
    return Store(
        users=SqliteUsers(db),
        files=SqliteFiles(db),
        shares=SqliteShares(db),
        blobs=FolderBlobs(data_dir / "blobs"),
        revocations=SqliteRevocations(db),
        counters=SqliteCounters(db),
        callers=SqliteCallers(db),
    )
