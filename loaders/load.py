"""Loading one file into raw tables: one transaction, COPY, and a row in raw.loads.

The file is parsed in segments (by worker processes when there are cores to spare, see
loaders.workers) into batches of COPY text (loaders.batches); this process runs one COPY
per table and batch. A file that cannot be loaded becomes a failed row in raw.loads,
never an exception for the caller.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from loaders.batches import MAX_REASONS, REJECTS, Batch, produce_batches
from loaders.contracts import Contract, Table, lineage
from loaders.errors import Crm7Error, FileRejected, SourceSystemError
from loaders.raw_schema import RAW_SCHEMA, ensure_contract_tables
from loaders.settings import load_segment_lines, load_workers
from loaders.split import plan_segments
from loaders.workers import SegmentMismatch, batches_from_workers, prefetched, segment_batches
from loaders.xml_reader import FileHeader, read_header

SOURCE_SYSTEM = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Advisory lock keys. Registering a load (inserting its raw.loads row) is serialised by
# REGISTER_LOCK, so load ids become visible in the order they were allocated: a reader
# that sees load n sees every load below n. A load in flight holds the session lock
# (LOAD_LOCK_CLASS, load id) until it ends, so a 'running' row whose lock is free is a
# loader that died; the next load marks it failed.
REGISTER_LOCK = "crm7.raw.loads.register"
LOAD_LOCK_CLASS = 0x63726D37  # 'crm7'
DEAD_LOAD_MESSAGE = (
    "the loading process ended before finishing (killed, crashed or disconnected); "
    "nothing of this load was kept: load the file again"
)


@dataclass(frozen=True)
class _Parsing:
    """How a file is parsed: read from the settings once per file."""

    segment_lines: int
    workers: int


@dataclass
class LoadResult:
    path: Path
    status: str  # loaded | skipped | failed
    load_id: int | None = None
    contract: str | None = None
    source_system: str | None = None
    records_read: int = 0
    records_loaded: int = 0
    records_rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    message: str | None = None
    previous_load_id: int | None = None

    def summary(self) -> str:
        name = self.path.name
        if self.status == "skipped":
            return (
                f"{name}: skipped, already loaded as load {self.previous_load_id} "
                "(same sha256; --force loads it again)"
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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_statement(table: Table) -> sql.Composed:
    columns = [*table.copied_lineage, *(column.name for column in table.columns)]
    return sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(RAW_SCHEMA, table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


REJECT_COLUMNS = lineage.REJECTS.written_columns


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
    if not path.is_file():
        return LoadResult(path, "failed", message=f"{path}: no such file")
    sha256 = file_sha256(path)
    size = path.stat().st_size
    registry = {
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
        registry["source_system"] = resolve_source_system(
            path, header.root_attributes.get("sourceSystem"), source_system
        )
        ensure_contract_tables(conn, contract)
        conn.commit()
        # Two loads of the same file wait for each other; different files run in parallel.
        conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (sha256,))
        conn.commit()
        sha_lock = True
        result = _load_records(conn, path, header, registry, force, progress, parsing)
        if result.status == "loaded":
            _analyze(conn, contract)
        return result
    except FileRejected as error:
        conn.rollback()
        return _record_failure(
            conn, path, registry, contract, error.message, error.line, error.column
        )
    except Crm7Error as error:
        conn.rollback()
        return _record_failure(conn, path, registry, contract, str(error), None, None)
    except psycopg.errors.DataError as error:
        # A value the contract let through but PostgreSQL refused: a contract gap, reported.
        conn.rollback()
        message = f"PostgreSQL refused a value: {str(error).strip()}"
        return _record_failure(conn, path, registry, contract, message, None, None)
    finally:
        if not conn.closed and not conn.broken:
            conn.rollback()
            load_id = registry.get("load_id")
            if load_id is not None:
                conn.execute(
                    "select pg_advisory_unlock(%s, %s)", (LOAD_LOCK_CLASS, _lock_key(load_id))
                )
            if sha_lock:
                conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (sha256,))
            conn.commit()


def _analyze(conn: psycopg.Connection, contract: Contract) -> None:
    """Refresh planner statistics of the tables a load just grew.

    dbt's incremental models select the newest loads; with statistics from before the
    load, PostgreSQL expects no such rows and picks nested loops that go quadratic.
    """
    tables = [sql.Identifier(RAW_SCHEMA, table.name) for table in contract.tables]
    tables += [sql.Identifier(RAW_SCHEMA, "loads"), sql.Identifier(RAW_SCHEMA, "rejects")]
    conn.execute(sql.SQL("analyze {}").format(sql.SQL(", ").join(tables)))
    conn.commit()


def _registry_columns(registry: dict, contract: Contract | None) -> dict:
    values = dict(registry)
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


def _insert_load(conn: psycopg.Connection, values: dict) -> int:
    """Insert a raw.loads row; the caller commits, which releases the register lock."""
    conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (REGISTER_LOCK,))
    statement = sql.SQL("insert into raw.loads ({}) values ({}) returning load_id").format(
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    return conn.execute(statement, list(values.values())).fetchone()[0]


def _record_failure(
    conn: psycopg.Connection,
    path: Path,
    registry: dict,
    contract: Contract | None,
    message: str,
    line: int | None,
    column: int | None,
) -> LoadResult:
    from loaders.raw_schema import ensure_registry

    values = _registry_columns(registry, contract)
    values.update(
        status="failed",
        finished_at=datetime.now(UTC),
        error_message=message,
        error_line=line,
        error_column=column,
    )
    load_id = registry.get("load_id")
    with conn.transaction():
        if load_id is None:
            ensure_registry(conn)
            load_id = _insert_load(conn, values)
        else:  # registered as 'running': its rows were rolled back, the row says why
            conn.execute(
                "update raw.loads set status = 'failed', finished_at = clock_timestamp(), "
                "error_message = %s, error_line = %s, error_column = %s where load_id = %s",
                (message, line, column, load_id),
            )
    conn.commit()
    where = f"line {line}" + (f", column {column}" if column else "") + ": " if line else ""
    return LoadResult(
        path,
        "failed",
        load_id=load_id,
        contract=contract.label if contract else None,
        source_system=registry.get("source_system"),
        message=f"{where}{message}",
    )


def _load_records(
    conn: psycopg.Connection,
    path: Path,
    header,
    registry: dict,
    force: bool,
    progress: bool | None,
    parsing: _Parsing,
) -> LoadResult:
    contract = header.contract
    result = LoadResult(
        path, "loaded", contract=contract.label, source_system=registry["source_system"]
    )
    with conn.transaction():
        if not force:
            previous = conn.execute(
                "select load_id from raw.loads where file_sha256 = %s and status = 'loaded' "
                "order by load_id desc limit 1",
                (registry["file_sha256"],),
            ).fetchone()
            if previous:
                result.status = "skipped"
                result.previous_load_id = previous[0]
                return result
        _fail_dead_loads(conn)
        values = _registry_columns(registry, contract)
        values["status"] = "running"
        result.load_id = registry["load_id"] = _insert_load(conn, values)
        conn.execute(
            "select pg_advisory_lock(%s, %s)", (LOAD_LOCK_CLASS, _lock_key(result.load_id))
        )
    # The 'running' row is committed before any data: dbt then holds back every newer
    # load until this one ends, so no load can be overtaken and skipped.
    with conn.transaction():
        _stream(conn, path, header, result, registry["source_system"], progress, parsing)
        conn.execute(
            "update raw.loads set status = 'loaded', finished_at = clock_timestamp(), "
            "records_read = %s, records_loaded = %s, records_rejected = %s "
            "where load_id = %s",
            (result.records_read, result.records_loaded, result.records_rejected, result.load_id),
        )
    return result


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
                    and classid = %s::bigint::oid
                    and objid = (loads.load_id %% 2147483647)::oid
                    and objsubid = 2
            )
        """,
        (DEAD_LOAD_MESSAGE, LOAD_LOCK_CLASS),
    )


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
                    path, header, load_id, source_system, segments, workers
                )
            else:
                batches = prefetched(
                    segment_batches(path, header, load_id, source_system, segments)
                )
            try:
                with conn.transaction():  # a savepoint: a cut that was not safe leaves nothing
                    counts = _copy_batches(conn, header, batches, bar)
                _add_counts(result, counts)
                return
            except SegmentMismatch:
                if bar is not None:
                    bar.reset()
        batches = prefetched(produce_batches(path, header, load_id, source_system))
        _add_counts(result, _copy_batches(conn, header, batches, bar))
    finally:
        if bar is not None:
            bar.close()


def _add_counts(result: LoadResult, counts: Batch) -> None:
    result.records_read += counts.read
    result.records_loaded += counts.loaded
    result.records_rejected += counts.rejected
    result.reasons.extend(counts.reasons[: MAX_REASONS - len(result.reasons)])


def _copy_batches(
    conn: psycopg.Connection, header: FileHeader, batches: Iterator[Batch], bar
) -> Batch:
    """COPY every batch into its tables; returns the summed counts."""
    statements: dict[str, sql.Composable] = {
        table.name: _copy_statement(table) for table in header.contract.tables
    }
    statements[REJECTS] = sql.SQL("copy raw.rejects ({}) from stdin").format(
        sql.SQL(", ").join(map(sql.Identifier, REJECT_COLUMNS))
    )
    totals = Batch(lines={})
    with conn.cursor() as cursor:
        for batch in batches:
            totals.read += batch.read
            totals.loaded += batch.loaded
            totals.rejected += batch.rejected
            totals.reasons.extend(batch.reasons[: MAX_REASONS - len(totals.reasons)])
            for table_name, data in batch.lines.items():
                with cursor.copy(statements[table_name]) as copy:
                    copy.write(data)
            if bar is not None and batch.bytes_read:
                bar.update(batch.bytes_read)
    return totals


def _progress_bar(path: Path, progress: bool | None):
    size = path.stat().st_size
    if progress is None:
        progress = sys.stderr.isatty() and size > 16 * 1024 * 1024
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=size, unit="B", unit_scale=True, desc=path.name, leave=False, file=sys.stderr)
