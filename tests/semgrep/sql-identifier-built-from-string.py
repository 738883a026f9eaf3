# Tests for rule sql-identifier-built-from-string (semgrep.yml). Run by tests/delivery/test_semgrep_rules.py.
# Statements that splice names (tables, columns, sort keys, settings): reported for review, since a
# name can only be checked against an allowlist. Values spliced into SQL are
# sql-query-built-from-string's (blocking) cases.
import sqlite3

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

FILE_COLUMNS = "id, owner_id, name, size, content_type, sha256, created_at"
TABLE = "files"


def list_owned(db: sqlite3.Connection, owner_id: str, order: str):
    # ruleid: sql-identifier-built-from-string
    return db.execute("SELECT * FROM files WHERE owner_id = ? ORDER BY %s" % order, (owner_id,)).fetchall()


def rename_all(db: sqlite3.Connection, rows: list, table: str) -> None:
    # ruleid: sql-identifier-built-from-string
    db.executemany(f"UPDATE {table} SET name = ? WHERE id = ?", rows)


def restore(db: sqlite3.Connection, dump_table: str) -> None:
    script = "BEGIN;"
    script += f"INSERT INTO files SELECT * FROM {dump_table};"
    # ruleid: sql-identifier-built-from-string
    db.executescript(script + "COMMIT;")


def files_of(session: Session, owner_id: str, order_by: str):
    query = "SELECT * FROM files WHERE owner_id = :owner ORDER BY " + order_by
    # ruleid: sql-identifier-built-from-string
    return session.execute(text(query), {"owner": owner_id}).all()


def purge(connection: Connection, table: str, days: int) -> None:
    # ruleid: sql-identifier-built-from-string
    connection.exec_driver_sql("DELETE FROM %s WHERE created_at < now() - interval '%d days'" % (table, days))


def add_missing_columns(connection: Connection, table: str, columns: dict[str, str]) -> None:
    # ruleid: sql-identifier-built-from-string
    existing = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")}
    for name, sql_type in columns.items():
        if name not in existing:
            # ruleid: sql-identifier-built-from-string
            connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")


def use_tenant(connection: Connection, schema: str) -> None:
    # ruleid: sql-identifier-built-from-string
    connection.exec_driver_sql(f"SET search_path = {schema}, public")


def search(db: sqlite3.Connection, name: str | None, owner_id: str | None):
    clauses, params = ["1 = 1"], []
    if name:
        clauses.append("name = ?")
        params.append(name)
    if owner_id:
        clauses.append("owner_id = ?")
        params.append(owner_id)
    # ruleid: sql-identifier-built-from-string
    return db.execute("SELECT * FROM files WHERE " + " AND ".join(clauses), params).fetchall()


# --- constants and parameters --------------------------------------------------------------------


def constant_columns(db: sqlite3.Connection, file_id: str):
    # ok: sql-identifier-built-from-string
    return db.execute(f"SELECT {FILE_COLUMNS} FROM {TABLE} WHERE id = ?", (file_id,)).fetchone()


def newest_first(session: Session, owner_id: str):
    # ok: sql-identifier-built-from-string
    statement = text("SELECT id, name FROM files WHERE owner_id = :owner ORDER BY created_at DESC")
    # ok: sql-identifier-built-from-string
    return session.execute(statement, {"owner": owner_id}).all()


def get_many(db: sqlite3.Connection, ids: list[str]):
    marks = ", ".join("?" * len(ids))
    # ok: sql-identifier-built-from-string
    return db.execute(f"SELECT * FROM files WHERE id IN ({marks})", ids).fetchall()


def enable_wal(connection: Connection) -> None:
    # ok: sql-identifier-built-from-string
    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
