"""Loading one file into raw tables: one transaction, COPY, and a row in raw.loads.

The file is parsed in segments (by worker processes when there are cores to spare, see
loaders.load.workers) into batches of COPY text (loaders.load.batches); this process runs
one COPY per table and batch (loaders.load.pg_copy) and keeps the file's row in raw.loads
(loaders.load.registry). A file that cannot be loaded becomes a failed row in raw.loads,
never an exception for the caller.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from loaders.contracts import Contract
from loaders.contracts.lineage import REGISTRY_TABLES
from loaders.errors import Crm7Error, DatabaseError, FileRejected, SourceSystemError
from loaders.load.batches import MAX_REASONS, Batch, produce_batches
from loaders.load.files import why_not_a_file
from loaders.load.header import FileHeader, read_header
from loaders.load.pg_copy import copy_batches
from loaders.load.raw_schema import RAW_SCHEMA, ensure_contract_tables
from loaders.load.registry import (
    LoadRow,
    file_sha256,
    load_row,
    lock_file_content,
    mark_loaded,
    previous_load,
    record_failure,
    register_running,
    register_skipped,
    release_locks,
)
from loaders.load.split import plan_segments
from loaders.load.stopping import LoadInterrupted
from loaders.load.workers import (
    SegmentMismatch,
    batches_from_workers,
    prefetched,
    segment_batches,
)
from loaders.settings import load_segment_lines, load_workers

# Errors after which the session is gone, whatever the connection's state says.
SERVER_GONE = (
    psycopg.errors.AdminShutdown,
    psycopg.errors.CrashShutdown,
    psycopg.errors.CannotConnectNow,
)
SOURCE_SYSTEM = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class _Parsing:
    """How a file is parsed: read from the settings once per file."""

    segment_lines: int
    workers: int


@dataclass
class LoadResult:
    path: Path
    status: str  # loaded | skipped | failed (as raw.loads.status)
    load_id: int | None = None
    contract: str | None = None
    source_system: str | None = None
    records_read: int = 0
    records_loaded: int = 0
    records_rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    message: str | None = None
    previous_load_id: int | None = None  # of a skipped load: raw.loads.duplicate_of_load_id

    def summary(self) -> str:
        name = self.path.name
        if self.status == "skipped":
            return (
                f"{name}: skipped, already loaded as load {self.previous_load_id} "
                f"(same sha256; --force loads it again); recorded as load {self.load_id}"
            )
        if self.status == "failed":
            where = f" (load {self.load_id})" if self.load_id else ""
            return f"{name}: FAILED{where}: {self.message}"
        text = (
            f"{name}: load {self.load_id}, {self.contract}, source {self.source_system}: "
            f"{self.records_read} read, {self.records_loaded} loaded, "
            f"{self.records_rejected} rejected"
        )
        if self.reasons:
            text += "; first reasons: " + " | ".join(self.reasons)
        return text


def resolve_source_system(path: Path, from_file: str | None, from_cli: str | None) -> str:
    cli = from_cli.strip().lower() if from_cli else None
    if cli is not None and not SOURCE_SYSTEM.match(cli):
        raise SourceSystemError(
            f"--source-system {from_cli!r}: use lowercase letters, digits and underscores "
            "(e.g. erp, crm, wapro_mag)"
        )
    if from_file and cli and from_file != cli:
        raise SourceSystemError(
            f'{path}: the file says sourceSystem="{from_file}" but --source-system is '
            f"{cli!r}; drop the option or fix the file"
        )
    chosen = from_file or cli
    if not chosen:
        raise SourceSystemError(
            f'{path}: no source system: add sourceSystem="..." to the root element '
            "or pass --source-system"
        )
    return chosen


def load_file(
    conn: psycopg.Connection,
    path: Path,
    source_system: str | None = None,
    force: bool = False,
    progress: bool | None = None,
) -> LoadResult:
    """Load one file; never raises for bad input, which becomes a failed load instead.

    A bad setting (CRM7_LOAD_WORKERS=abc) is not bad input: its SettingError reaches the
    caller before anything is registered.
    """
    path = Path(path)
    parsing = _Parsing(segment_lines=load_segment_lines(), workers=load_workers())
    started = datetime.now(UTC)
    if (not_a_file := why_not_a_file(path)) is not None:
        return LoadResult(path, "failed", message=not_a_file)
    try:
        sha256 = file_sha256(path)
        size = path.stat().st_size
    except OSError as error:
        return LoadResult(path, "failed", message=f"{path}: cannot read it: {error.strerror}")
    known: LoadRow = {
        "file_name": path.name,
        "file_path": str(path.resolve()),
        "file_sha256": sha256,
        "file_size_bytes": size,
        "forced": force,
        "started_at": started,
    }
    contract: Contract | None = None
    sha_lock = False
    try:
        header = read_header(path)
        contract = header.contract
        known["source_system"] = resolve_source_system(
            path, header.root_attributes.get("sourceSystem"), source_system
        )
        ensure_contract_tables(conn, contract)
        conn.commit()
        lock_file_content(conn, sha256)
        sha_lock = True
        result = _load_records(conn, path, header, known, force, progress, parsing)
        if result.status == "loaded":
            _analyze(conn, contract)
        return result
    except FileRejected as error:
        conn.rollback()
        return _failed(conn, path, known, contract, error.message, error.line, error.column)
    except Crm7Error as error:
        conn.rollback()
        return _failed(conn, path, known, contract, str(error), None, None)
    except psycopg.errors.DataError as error:
        # A value the contract let through but PostgreSQL refused: a contract gap, reported.
        conn.rollback()
        message = f"PostgreSQL refused a value: {str(error).strip()}"
        return _failed(conn, path, known, contract, message, None, None)
    except LoadInterrupted as stop:
        # Closing the connection rolls the load back on the server, whatever the COPY
        # protocol was doing; the caller marks the row failed on a connection of its own.
        stop.load_id, stop.file_name = known.get("load_id"), path.name
        conn.close()
        raise
    except psycopg.OperationalError as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if not (conn.broken or isinstance(error, SERVER_GONE)):
            # e.g. a statement or lock timeout: the connection still works, record it.
            conn.rollback()
            return _failed(conn, path, known, contract, f"PostgreSQL: {reason}", None, None)
        # The server went away (shut down, crashed, connection cut): nothing to record on.
        conn.close()
        load = f" (load {known['load_id']})" if "load_id" in known else ""
        raise DatabaseError(
            f"{path.name}{load}: the connection to PostgreSQL was lost during the load "
            f"({reason}); nothing of it was kept: load it again when the server is back"
        ) from None
    finally:
        if not conn.closed and not conn.broken:
            conn.rollback()
            release_locks(conn, known.get("load_id"), sha256 if sha_lock else None)


def _analyze(conn: psycopg.Connection, contract: Contract) -> None:
    """Refresh planner statistics of the tables a load just grew.

    dbt's incremental models select the newest loads; with statistics from before the
    load, PostgreSQL expects no such rows and picks nested loops that go quadratic.
    """
    tables = [sql.Identifier(RAW_SCHEMA, table.name) for table in contract.tables]
    tables += [sql.Identifier(RAW_SCHEMA, table.name) for table in REGISTRY_TABLES]
    conn.execute(sql.SQL("analyze {}").format(sql.SQL(", ").join(tables)))
    conn.commit()


def _failed(
    conn: psycopg.Connection,
    path: Path,
    known: LoadRow,
    contract: Contract | None,
    message: str,
    line: int | None,
    column: int | None,
) -> LoadResult:
    load_id = record_failure(
        conn, load_row(known, contract), known.get("load_id"), message, line, column
    )
    where = f"line {line}" + (f", column {column}" if column else "") + ": " if line else ""
    return LoadResult(
        path,
        "failed",
        load_id=load_id,
        contract=contract.label if contract else None,
        source_system=known.get("source_system"),
        message=f"{where}{message}",
    )


def _load_records(
    conn: psycopg.Connection,
    path: Path,
    header: FileHeader,
    known: LoadRow,
    force: bool,
    progress: bool | None,
    parsing: _Parsing,
) -> LoadResult:
    contract = header.contract
    result = LoadResult(
        path, "loaded", contract=contract.label, source_system=known["source_system"]
    )
    with conn.transaction():
        if not force:
            previous = previous_load(conn, known["file_sha256"])
            if previous is not None:
                # Recorded, not silently dropped: raw.loads lists every file received.
                result.status = "skipped"
                result.previous_load_id = previous
                result.load_id = register_skipped(conn, load_row(known, contract), previous)
                return result
        result.load_id = known["load_id"] = register_running(conn, load_row(known, contract))
    # The 'running' row is committed before any data: dbt then holds back every newer
    # load until this one ends, so no load can be overtaken and skipped.
    with conn.transaction():
        _stream(conn, path, header, result, known["source_system"], progress, parsing)
        mark_loaded(
            conn,
            result.load_id,
            result.records_read,
            result.records_loaded,
            result.records_rejected,
        )
    return result


def _stream(
    conn: psycopg.Connection,
    path: Path,
    header: FileHeader,
    result: LoadResult,
    source_system: str,
    progress: bool | None,
    parsing: _Parsing,
) -> None:
    """Parse, validate and COPY the whole file: in segments (in parallel when there are
    cores to spare), or in one pass when the file cannot be cut safely."""
    segments = plan_segments(path, header.contract, parsing.segment_lines)
    bar = _progress_bar(path, progress)
    load_id = result.load_id
    try:
        if len(segments) > 1:
            workers = min(parsing.workers, len(segments))
            if workers > 1:
                batches = batches_from_workers(
                    path, header, load_id, source_system, segments, workers, (conn.fileno(),)
                )
            else:
                batches = prefetched(
                    segment_batches(path, header, load_id, source_system, segments)
                )
            try:
                with conn.transaction():  # a savepoint: a cut that was not safe leaves nothing
                    counts = copy_batches(conn, header.contract, batches, bar)
                _add_counts(result, counts)
                return
            except SegmentMismatch:
                if bar is not None:
                    bar.reset()
        batches = prefetched(produce_batches(path, header, load_id, source_system))
        _add_counts(result, copy_batches(conn, header.contract, batches, bar))
    finally:
        if bar is not None:
            bar.close()


def _add_counts(result: LoadResult, counts: Batch) -> None:
    result.records_read += counts.read
    result.records_loaded += counts.loaded
    result.records_rejected += counts.rejected
    result.reasons.extend(counts.reasons[: MAX_REASONS - len(result.reasons)])


def _progress_bar(path: Path, progress: bool | None):
    size = path.stat().st_size
    if progress is None:
        progress = sys.stderr.isatty() and size > 16 * 1024 * 1024
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=size, unit="B", unit_scale=True, desc=path.name, leave=False, file=sys.stderr)
