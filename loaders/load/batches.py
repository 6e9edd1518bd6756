"""Records to COPY text: validated batches become one string per raw table.

Runs wherever the parsing runs: in the loading process, or in a forked worker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from loaders.contracts import Contract
from loaders.load.header import FileHeader
from loaders.load.records import Record, SegmentProgress, iter_record_batches
from loaders.load.rows import compile_extractor
from loaders.load.split import WHOLE_FILE, Segment
from loaders.xml_safety import safe_parser

BATCH_RECORDS = 1000  # records validated, converted and copied together
REJECTS = "rejects"  # the key of raw.rejects lines in Batch.lines
MAX_REASONS = 3
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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
    return etree.XMLSchema(etree.parse(str(contract.path), safe_parser()))


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
