"""Loading one file into raw tables: one transaction, COPY, and a row in raw.loads.

Record tables stream straight into COPY while the file is parsed; child-table rows and
rejects wait in spooled temporary files (memory up to a few MB, then disk) and are
copied after, because one connection runs one COPY at a time.
"""

from __future__ import annotations

import hashlib
import queue
import re
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import psycopg
from lxml import etree
from psycopg import sql

from loaders.contracts import Contract, Table
from loaders.errors import Crm7Error, FileRejected, SourceSystemError
from loaders.raw_schema import RAW_SCHEMA, ensure_contract_tables
from loaders.rows import compile_extractor
from loaders.xml_reader import SAFE_PARSER_OPTIONS, Record, iter_records, read_header

SOURCE_SYSTEM = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COPY_BATCH = 5000  # records per batch handed to the COPY thread
QUEUED_BATCHES = 4  # batches waiting at most: bounds memory
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


class _BatchCopier(threading.Thread):
    """Runs the COPYs on the load's connection while the main thread parses.

    The main thread hands over batches of COPY lines per table; psycopg releases the GIL
    while PostgreSQL works, so parsing and loading overlap on two cores. One connection
    runs one COPY at a time, so each batch is one short COPY per table.
    """

    def __init__(self, conn: psycopg.Connection, statements: dict[str, sql.Composable]):
        super().__init__(name="crm7-copy", daemon=True)
        self.conn = conn
        self.statements = statements
        self.batches: queue.Queue[dict[str, list[str]] | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is not None:
                continue  # drain, so the producer never blocks on a dead consumer
            try:
                with self.conn.cursor() as cursor:
                    for table_name, lines in batch.items():
                        if lines:
                            with cursor.copy(self.statements[table_name]) as copy:
                                copy.write("".join(lines))
            except BaseException as error:  # re-raised in the main thread
                self.error = error

    def put(self, batch: dict[str, list[str]]) -> None:
        if self.error is not None:
            raise self.error
        self.batches.put(batch)

    def finish(self) -> None:
        self.batches.put(None)
        self.join()
        if self.error is not None:
            raise self.error


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
        return _load_records(conn, path, header, registry, force, progress)
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


def _stream(
    conn: psycopg.Connection,
    path: Path,
    header,
    result: LoadResult,
    source_system: str,
    progress: bool | None,
) -> None:
    contract: Contract = header.contract
    schema = lxml_schema(contract)
    extractors = {table.tag: compile_extractor(table) for table in contract.records}
    statements: dict[str, sql.Composable] = {
        table.name: _copy_statement(table) for table in contract.tables
    }
    statements[REJECTS] = sql.SQL("copy raw.rejects ({}) from stdin").format(
        sql.SQL(", ").join(map(sql.Identifier, REJECT_COLUMNS))
    )
    load_text = str(result.load_id)
    batch: dict[str, list[str]] = defaultdict(list)

    def child_row(extractor, row) -> None:
        batch[extractor.table.name].append(copy_line(row, extractor.collapse))

    reader_box: list = []
    bar = _progress_bar(path, progress)
    copier = _BatchCopier(conn, statements)
    copier.start()
    try:
        for record in iter_records(path, header, schema, reader_box):
            result.records_read += 1
            if record.errors:
                result.records_rejected += 1
                batch[REJECTS].append(_reject_line(load_text, path, record, result))
            else:
                result.records_loaded += 1
                extractor = extractors[record.table.tag]
                record_meta = [load_text, str(record.number)]
                row = extractor.new_row([*record_meta, str(record.line), source_system])
                extractor.fill(record.element, row, child_row, record_meta)
                batch[record.table.name].append(copy_line(row, extractor.collapse))
            if result.records_read % COPY_BATCH == 0:
                copier.put(batch)
                batch = defaultdict(list)
                if bar is not None:
                    bar.update(reader_box[0].bytes_read - bar.n)
        copier.put(batch)
    finally:
        copier.finish()
        if bar is not None:
            bar.close()


def _reject_line(load_text: str, path: Path, record: Record, result: LoadResult) -> str:
    line, element_path, message = record.errors[0]
    reason = "; ".join(
        f"line {err_line}: {err_message}" if err_line else err_message
        for err_line, _path, err_message in record.errors
    )
    if len(result.reasons) < MAX_REASONS:
        result.reasons.append(f"{path.name}:{line or record.line}: {message}")
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
