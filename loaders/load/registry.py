"""The loads registry: a file's row in raw.loads, from 'running' to 'loaded' or 'failed',
or 'skipped' at once for a file whose content was loaded before.

Also the advisory locks that make concurrent loads safe. Registering a load (inserting its
raw.loads row) is serialised by REGISTER_LOCK, so load ids become visible in the order
they were allocated: a reader that sees load n sees every load below n. A load in flight
holds the session lock (LOAD_LOCK_CLASS, load id) until it ends, so a 'running' row whose
lock is free is a loader that died; the next load marks it failed. Two loads of the same
file content wait for each other on a lock keyed by its sha256.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from loaders.contracts import Contract
from loaders.load.raw_schema import ensure_registry

REGISTER_LOCK = "crm7.raw.loads.register"
LOAD_LOCK_CLASS = 0x63726D37  # 'crm7'
DEAD_LOAD_MESSAGE = (
    "the loading process ended before finishing (killed, crashed or disconnected); "
    "nothing of this load was kept: load the file again"
)

# raw.loads columns of one load, as known so far (file_name, file_sha256, started_at, ...).
LoadRow = dict[str, Any]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def load_row(known: LoadRow, contract: Contract | None) -> LoadRow:
    """The raw.loads values to insert: what is known of the file, and its contract."""
    values = dict(known)
    values.pop("load_id", None)
    if contract is not None:
        values.update(
            contract=contract.name,
            contract_version=contract.version,
            contract_namespace=contract.namespace,
        )
    return values


def _lock_key(load_id: int) -> int:
    return load_id % 2147483647


def lock_file_content(conn: psycopg.Connection, sha256: str) -> None:
    """Wait until no other load of the same content runs (different files run in parallel)."""
    conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (sha256,))
    conn.commit()


def release_locks(conn: psycopg.Connection, load_id: int | None, sha256: str | None) -> None:
    """Release the load's session lock and the content lock, whichever were taken."""
    if load_id is not None:
        conn.execute("select pg_advisory_unlock(%s, %s)", (LOAD_LOCK_CLASS, _lock_key(load_id)))
    if sha256 is not None:
        conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (sha256,))
    conn.commit()


def previous_load(conn: psycopg.Connection, sha256: str) -> int | None:
    """The latest load that loaded the same content, if any."""
    found = conn.execute(
        "select load_id from raw.loads where file_sha256 = %s and status = 'loaded' "
        "order by load_id desc limit 1",
        (sha256,),
    ).fetchone()
    return found[0] if found else None


def _insert_load(conn: psycopg.Connection, values: LoadRow) -> int:
    """Insert a raw.loads row; the caller commits, which releases the register lock."""
    conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (REGISTER_LOCK,))
    statement = sql.SQL("insert into raw.loads ({}) values ({}) returning load_id").format(
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    return conn.execute(statement, list(values.values())).fetchone()[0]


def register_running(conn: psycopg.Connection, values: LoadRow) -> int:
    """Insert the load as 'running' and take its session lock; in the caller's transaction.

    Loads whose loader died are marked failed first.
    """
    _fail_dead_loads(conn)
    load_id = _insert_load(conn, {**values, "status": "running"})
    conn.execute("select pg_advisory_lock(%s, %s)", (LOAD_LOCK_CLASS, _lock_key(load_id)))
    return load_id


def register_skipped(conn: psycopg.Connection, values: LoadRow, duplicate_of: int) -> int:
    """Record a skipped re-send of already loaded content; in the caller's transaction.

    The row carries no records (records_read 0) and names the load it duplicates, so
    every file received is in raw.loads; nothing is written to the data tables."""
    return _insert_load(
        conn,
        {
            **values,
            "status": "skipped",
            "finished_at": datetime.now(UTC),
            "duplicate_of_load_id": duplicate_of,
        },
    )


def mark_loaded(
    conn: psycopg.Connection, load_id: int, read: int, loaded: int, rejected: int
) -> None:
    conn.execute(
        "update raw.loads set status = 'loaded', finished_at = clock_timestamp(), "
        "records_read = %s, records_loaded = %s, records_rejected = %s "
        "where load_id = %s",
        (read, loaded, rejected, load_id),
    )


def record_failure(
    conn: psycopg.Connection,
    values: LoadRow,
    load_id: int | None,
    message: str,
    line: int | None,
    column: int | None,
) -> int:
    """Record a failed load (a new row, or the 'running' one) and commit; its load id."""
    with conn.transaction():
        if load_id is None:
            ensure_registry(conn)
            load_id = _insert_load(
                conn,
                {
                    **values,
                    "status": "failed",
                    "finished_at": datetime.now(UTC),
                    "error_message": message,
                    "error_line": line,
                    "error_column": column,
                },
            )
        else:  # registered as 'running': its rows were rolled back, the row says why
            conn.execute(
                "update raw.loads set status = 'failed', finished_at = clock_timestamp(), "
                "error_message = %s, error_line = %s, error_column = %s where load_id = %s",
                (message, line, column, load_id),
            )
    conn.commit()
    return load_id


def mark_interrupted(conn: psycopg.Connection, load_id: int, message: str) -> None:
    """Mark failed a load stopped by a signal, unless it committed 'loaded' meanwhile."""
    with conn.transaction():
        conn.execute(
            "update raw.loads set status = 'failed', finished_at = clock_timestamp(), "
            "error_message = %s where load_id = %s and status = 'running'",
            (message, load_id),
        )


def fail_dead_loads(conn: psycopg.Connection) -> None:
    """Before a build: mark failed the 'running' loads whose loader is gone, so that a
    killed load never holds back the newer ones (see load_window_upper_bound)."""
    if not conn.execute("select to_regclass('raw.loads') is not null").fetchone()[0]:
        return
    try:
        with conn.transaction():
            _fail_dead_loads(conn)
    except psycopg.errors.InsufficientPrivilege:
        # dbt's own role (crm7_transform) cannot write raw: the next load marks them.
        pass
    conn.commit()


def _fail_dead_loads(conn: psycopg.Connection) -> None:
    """Mark failed the 'running' loads whose loader is gone (its session lock is free).

    Safe against a load finishing meanwhile: UPDATE re-checks status on the newest row
    version, so a load that committed 'loaded' is left alone."""
    conn.execute(
        """
        update raw.loads as loads
        set status = 'failed', finished_at = clock_timestamp(), error_message = %s
        where
            loads.status = 'running'
            and not exists (
                select from pg_locks
                where
                    locktype = 'advisory'
                    and database = (select oid from pg_database where datname = current_database())
                    and classid = %s::bigint::oid
                    and objid = (loads.load_id %% 2147483647)::oid
                    and objsubid = 2
            )
        """,
        (DEAD_LOAD_MESSAGE, LOAD_LOCK_CLASS),
    )
