# Tests for rule sql-query-built-from-string (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
import sqlite3

import sqlalchemy
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL
);
"""
FILE_COLUMNS = "id, owner_id, name, size, content_type, sha256, created_at"
TABLE = "files"


def get_by_username(db: sqlite3.Connection, username: str):
    # ruleid: sql-query-built-from-string
    return db.execute(f"SELECT * FROM users WHERE username = '{username}'").fetchone()


def search(db: sqlite3.Connection, name: str):
    query = "SELECT id, name FROM files WHERE name LIKE '%{}%'".format(name)
    # ruleid: sql-query-built-from-string
    return db.execute(query).fetchall()


def delete_file(cursor: sqlite3.Cursor, file_id: str) -> None:
    sql = "DELETE FROM files WHERE id = '" + file_id + "'"
    # ruleid: sql-query-built-from-string
    cursor.execute(sql)


def count(engine, owner_id: str) -> int:
    with engine.connect() as conn:
        # ruleid: sql-query-built-from-string
        return conn.execute(sqlalchemy.text(f"SELECT COUNT(*) FROM files WHERE owner_id = '{owner_id}'")).scalar()


def find_users(session: Session, name: str):
    # ruleid: sql-query-built-from-string
    statement = text(f"SELECT id, username FROM users WHERE username LIKE '%{name}%'")
    return session.execute(statement).all()


async def rename(session, file_id: str, name: str) -> None:
    # ruleid: sql-query-built-from-string
    await session.execute("UPDATE files SET name = '{}' WHERE id = :id".format(name), {"id": file_id})


def share_with(connection: Connection, file_id: str, username: str) -> None:
    # ruleid: sql-query-built-from-string
    connection.exec_driver_sql(f"INSERT INTO shares (file_id, username) VALUES ('{file_id}', '{username}')")


def sizes(cursor: sqlite3.Cursor, ids: list[str]):
    id_list = ",".join(ids)
    # ruleid: sql-query-built-from-string
    return cursor.execute(f"SELECT id, size FROM files WHERE id IN ({id_list})").fetchall()


def owner_of(cursor, file_id: str):
    sql = "SELECT owner_id FROM files WHERE id = '%s'" % file_id
    # ruleid: sql-query-built-from-string
    return cursor.execute(sql).fetchone()


# --- what this project really does: constant statements, values as parameters -----------------


def open_database(db: sqlite3.Connection) -> None:
    # ok: sql-query-built-from-string
    db.execute("PRAGMA journal_mode=WAL")
    # ok: sql-query-built-from-string
    db.executescript(_SCHEMA)


def begin(db: sqlite3.Connection, immediate: bool) -> None:
    # ok: sql-query-built-from-string
    db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def get_user(db: sqlite3.Connection, user_id: str):
    # ok: sql-query-built-from-string
    return db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()


def list_page(db: sqlite3.Connection, owner_id: str, bound: tuple, limit: int):
    # ok: sql-query-built-from-string
    return db.execute(
        "SELECT * FROM files WHERE owner_id = ? AND (created_at, id) < (?, ?)"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        (owner_id, *bound, limit + 1),
    ).fetchall()


def select_columns(db: sqlite3.Connection, file_id: str):
    # ok: sql-query-built-from-string
    return db.execute("SELECT " + FILE_COLUMNS + " FROM " + TABLE + " WHERE id = ?", (file_id,)).fetchone()


def constant_fstring(db: sqlite3.Connection, file_id: str):
    # ok: sql-query-built-from-string
    return db.execute(f"SELECT {FILE_COLUMNS} FROM {TABLE} WHERE id = ?", (file_id,)).fetchone()


def get_many(db: sqlite3.Connection, ids: list[str]):
    marks = ", ".join("?" * len(ids))
    # ok: sql-query-built-from-string
    return db.execute(f"SELECT * FROM files WHERE id IN ({marks})", ids).fetchall()


def get_many_inline(db: sqlite3.Connection, ids: list[str]):
    # ok: sql-query-built-from-string
    return db.execute("SELECT * FROM files WHERE id IN (" + ",".join(["?"] * len(ids)) + ")", ids).fetchall()


def add_share(db: sqlite3.Connection, share, created_at) -> None:
    # ok: sql-query-built-from-string
    db.execute("INSERT INTO shares VALUES (?, ?, ?)", (share.file_id, share.user_id, _ts(f"{created_at}")))


def _ts(value: str) -> str:
    return value


def revoke(db: sqlite3.Connection, token_id: str, expires_at: int) -> None:
    # ok: sql-query-built-from-string
    db.execute("INSERT OR REPLACE INTO revoked_tokens VALUES (?, ?)", (token_id, expires_at))


def find_users_bound(session: Session, name: str):
    # ok: sql-query-built-from-string
    statement = text("SELECT id, username FROM users WHERE username LIKE :pattern")
    # ok: sql-query-built-from-string
    return session.execute(statement, {"pattern": f"%{name}%"}).all()


def enable_foreign_keys(connection: Connection) -> None:
    # ok: sql-query-built-from-string
    connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def files_of_bound(session: Session, owner_id: str):
    # ok: sql-query-built-from-string
    return session.execute(text(f"SELECT {FILE_COLUMNS} FROM {TABLE} WHERE owner_id = :owner"), {"owner": owner_id}).all()
