"""Loading one file into raw tables: one transaction, COPY, and a row in raw.loads.

Record tables stream straight into COPY while the file is parsed; child-table rows and
rejects wait in spooled temporary files (memory up to a few MB, then disk) and are
copied after, because one connection runs one COPY at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import queue
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from multiprocessing import connection as mp_connection
from pathlib import Path

import psycopg
from lxml import etree
from psycopg import sql

from loaders.contracts import Contract, Table
from loaders.errors import Crm7Error, FileRejected, SourceSystemError
from loaders.raw_schema import RAW_SCHEMA, ensure_contract_tables
from loaders.rows import compile_extractor
from loaders.split import MAX_SEGMENT_LINES, WHOLE_FILE, Segment, plan_segments
from loaders.xml_reader import (
    SAFE_PARSER_OPTIONS,
    FileHeader,
    Record,
    SegmentProgress,
    iter_record_batches,
    read_header,
)

SOURCE_SYSTEM = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
BATCH_RECORDS = 1000  # records validated, converted and copied together
PREFETCH_BATCHES = 8  # converted batches waiting for COPY at most: bounds memory
REJECTS = "rejects"
MAX_REASONS = 3
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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


def copy_line(values: list[str | None], collapse: tuple[int, ...] = ()) -> str:
    """One row in COPY text format; values at the ``collapse`` indexes are xs:token-like
    and get their whitespace collapsed, as the contract defines them."""
    # Fast path: join, then check the whole line once, with \x02 (not in XML 1.0 text)
    # marking NULLs. Only a value holding a backslash, tab, line break or a run of
    # spaces, or one starting or ending with a space, takes the slow path.
    line = "\t".join(["\x02" if value is None else value for value in values])
    if (
        "\\" in line
        or "\n" in line
        or "\r" in line
        or "  " in line
        or " \t" in line
        or "\t " in line
        or line[-1:] == " "
        or line[:1] == " "
        or line.count("\t") != len(values) - 1
        or line.count("\x02") != values.count(None)
    ):
        values = list(values)
        for index in collapse:
            if values[index] is not None:
                values[index] = " ".join(values[index].split())
        line = "\t".join(
            "\\N" if value is None else value.translate(COPY_ESCAPES) for value in values
        )
    else:
        line = line.replace("\x02", "\\N")
    return line + "\n"


@cache
def lxml_schema(contract: Contract) -> etree.XMLSchema:
    parser = etree.XMLParser(**SAFE_PARSER_OPTIONS)
    return etree.XMLSchema(etree.parse(str(contract.path), parser))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_statement(table: Table) -> sql.Composed:
    columns = [*table.meta_columns, *(column.name for column in table.columns)]
    return sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(RAW_SCHEMA, table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


REJECT_COLUMNS = (
    "load_id",
    "record_no",
    "file_name",
    "source_line",
    "path",
    "reason",
    "record_xml",
)


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
    """Load one file; never raises for bad input, which becomes a failed load instead."""
    path = Path(path)
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
    try:
        header = read_header(path)
        contract = header.contract
        registry["source_system"] = resolve_source_system(
            path, header.root_attributes.get("sourceSystem"), source_system
        )
        ensure_contract_tables(conn, contract)
        conn.commit()
        result = _load_records(conn, path, header, registry, force, progress)
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
    if contract is not None:
        values.update(
            contract=contract.name,
            contract_version=contract.version,
            contract_namespace=contract.namespace,
        )
    return values


def _insert_load(conn: psycopg.Connection, values: dict) -> int:
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
    with conn.transaction():
        ensure_registry(conn)
        load_id = _insert_load(conn, values)
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
) -> LoadResult:
    contract = header.contract
    result = LoadResult(
        path, "loaded", contract=contract.label, source_system=registry["source_system"]
    )
    with conn.transaction():
        # Two loads of the same file wait for each other; different files run in parallel.
        conn.execute(
            "select pg_advisory_xact_lock(hashtextextended(%s, 0))", (registry["file_sha256"],)
        )
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
        values = _registry_columns(registry, contract)
        values["status"] = "running"
        result.load_id = _insert_load(conn, values)
        _stream(conn, path, header, result, registry["source_system"], progress)
        conn.execute(
            "update raw.loads set status = 'loaded', finished_at = clock_timestamp(), "
            "records_read = %s, records_loaded = %s, records_rejected = %s "
            "where load_id = %s",
            (result.records_read, result.records_loaded, result.records_rejected, result.load_id),
        )
    return result


@dataclass
class Batch:
    """COPY text per table for one batch of records, and what was counted in it."""

    lines: dict[str, str]
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    bytes_read: int = 0  # of the file, since the previous batch of the same reader
    segment_items: int | None = None  # set on a segment's last message only
    segment_start: int = 0  # which segment that last message closes


def produce_batches(
    path: Path,
    header: FileHeader,
    load_id: int,
    source_system: str,
    segment: Segment = WHOLE_FILE,
) -> Iterator[Batch]:
    """Validate and convert a file's (or a segment's) records into COPY text.

    The last batch carries ``items``: how many records and strays the segment held.
    """
    contract = header.contract
    schema = lxml_schema(contract)
    extractors = {table.tag: compile_extractor(table) for table in contract.records}
    load_text = str(load_id)
    progress = SegmentProgress()
    reported_bytes = 0
    for records in iter_record_batches(path, header, schema, BATCH_RECORDS, segment, progress):
        tables: dict[str, list[str]] = defaultdict(list)

        def child_row(extractor, row, tables=tables) -> None:
            tables[extractor.table.name].append(copy_line(row, extractor.collapse))

        batch = Batch(lines={}, bytes_read=progress.bytes_read - reported_bytes)
        reported_bytes = progress.bytes_read
        for record in records:
            batch.read += 1
            if record.errors:
                batch.rejected += 1
                tables[REJECTS].append(_reject_line(load_text, path, record, batch.reasons))
                continue
            batch.loaded += 1
            extractor = extractors[record.table.tag]
            record_meta = [load_text, str(record.number)]
            line = None if record.line is None else str(record.line)
            row = extractor.new_row([*record_meta, line, source_system])
            extractor.fill(record.element, row, child_row, record_meta, record.segment.file_line)
            tables[record.table.name].append(copy_line(row, extractor.collapse))
        batch.lines = {name: "".join(lines) for name, lines in tables.items()}
        yield batch
    yield Batch(lines={}, segment_items=progress.items, segment_start=segment.start)


class SegmentMismatch(Exception):
    """A segment did not hold what the byte search counted: the cut was not safe."""


def _segment_batches(
    path: Path, header: FileHeader, load_id: int, source_system: str, segments: list[Segment]
) -> Iterator[Batch]:
    """Batches of several segments, one after another, each checked against its count."""
    for segment in segments:
        try:
            produced = produce_batches(path, header, load_id, source_system, segment)
            for batch in produced:
                if batch.segment_items is None:
                    yield batch
                elif batch.segment_items != segment.expected_items:
                    raise SegmentMismatch(
                        f"segment at byte {segment.start} held {batch.segment_items} items, "
                        f"{segment.expected_items} counted"
                    )
        except FileRejected as error:
            # Broken XML, or a cut in the wrong place: only one pass over the whole file
            # can tell which, and name the right line.
            raise SegmentMismatch(str(error)) from None


def _worker_main(sender, path, header, load_id, source_system, segments) -> None:
    """Entry point of a forked worker: send batches, then None, or the error."""
    try:
        for batch in _segment_batches(path, header, load_id, source_system, segments):
            sender.send(batch)
        sender.send(None)
    except BaseException as error:  # reported by the parent, with its type
        sender.send(
            error
            if isinstance(error, SegmentMismatch)
            else RuntimeError(f"{type(error).__name__}: {error}")
        )
    finally:
        sender.close()


def _batches_from_workers(
    path: Path,
    header: FileHeader,
    load_id: int,
    source_system: str,
    segments: list[Segment],
    workers: int,
) -> Iterator[Batch]:
    """Batches from forked workers, worker k taking segments k, k+workers, ..."""
    context = multiprocessing.get_context("fork")
    receivers = []
    processes = []
    for worker in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker_main,
            args=(sender, path, header, load_id, source_system, segments[worker::workers]),
            daemon=True,
        )
        process.start()
        sender.close()
        receivers.append(receiver)
        processes.append(process)
    try:
        active = list(receivers)
        while active:
            for receiver in mp_connection.wait(active):
                try:
                    message = receiver.recv()
                except EOFError:
                    raise Crm7Error(
                        "a loader worker process died; the load was rolled back"
                    ) from None
                if message is None:
                    active.remove(receiver)
                elif isinstance(message, BaseException):
                    raise message
                else:
                    yield message
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        for receiver in receivers:
            receiver.close()


def _prefetched(batches: Iterator[Batch], size: int = PREFETCH_BATCHES) -> Iterator[Batch]:
    """Run ``batches`` in a thread, ``size`` ahead: producing overlaps the COPYs, which
    release the GIL while PostgreSQL works."""
    handoff: queue.Queue = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    break
                handoff.put(batch)
            handoff.put(done)
        except BaseException as error:  # re-raised in the consuming thread
            handoff.put(error)

    thread = threading.Thread(target=produce, name="crm7-parse", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        thread.join()


def segment_lines() -> int:
    return int(os.environ.get("CRM7_LOAD_SEGMENT_LINES") or MAX_SEGMENT_LINES)


def worker_count() -> int:
    """Worker processes for a file: one per core, at most two (PostgreSQL needs a core
    too); CRM7_LOAD_WORKERS overrides."""
    configured = os.environ.get("CRM7_LOAD_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(2, os.cpu_count() or 1))


def _stream(
    conn: psycopg.Connection,
    path: Path,
    header: FileHeader,
    result: LoadResult,
    source_system: str,
    progress: bool | None,
) -> None:
    """Parse, validate and COPY the whole file: in segments (in parallel when there are
    cores to spare), or in one pass when the file cannot be cut safely."""
    segments = plan_segments(path, header.contract, segment_lines())
    bar = _progress_bar(path, progress)
    load_id = result.load_id
    try:
        if len(segments) > 1:
            workers = min(worker_count(), len(segments))
            if workers > 1:
                batches = _batches_from_workers(
                    path, header, load_id, source_system, segments, workers
                )
            else:
                batches = _prefetched(
                    _segment_batches(path, header, load_id, source_system, segments)
                )
            try:
                with conn.transaction():  # a savepoint: a cut that was not safe leaves nothing
                    counts = _copy_batches(conn, header, batches, bar)
                _add_counts(result, counts)
                return
            except SegmentMismatch:
                if bar is not None:
                    bar.reset()
        batches = _prefetched(produce_batches(path, header, load_id, source_system))
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


def _reject_line(load_text: str, path: Path, record: Record, reasons: list[str]) -> str:
    line, element_path, message = record.errors[0]
    reason = "; ".join(
        f"line {err_line}: {err_message}" if err_line else err_message
        for err_line, _path, err_message in record.errors
    )
    if len(reasons) < MAX_REASONS:
        reasons.append(f"{path.name}:{line or record.line}: {message}")
    return copy_line(
        [
            load_text,
            str(record.number),
            path.name,
            str(record.line),
            element_path or None,
            reason,
            record.xml(),
        ]
    )


def _progress_bar(path: Path, progress: bool | None):
    size = path.stat().st_size
    if progress is None:
        progress = sys.stderr.isatty() and size > 16 * 1024 * 1024
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=size, unit="B", unit_scale=True, desc=path.name, leave=False, file=sys.stderr)
