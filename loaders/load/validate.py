"""``crm7 validate``: check files against their contract without a database.

For a client writing an export (or CI on their side): the same header checks, the same
per-record validation and the same messages as ``crm7 load``, nothing written anywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from loaders.errors import Crm7Error, FileRejected
from loaders.load.batches import lxml_schema
from loaders.load.files import why_not_a_file
from loaders.load.header import read_header
from loaders.load.records import Record, iter_record_batches


@dataclass(frozen=True)
class InvalidRecord:
    """One record ``crm7 load`` would reject, as its row in raw.rejects would name it."""

    file: str  # file name
    line: int | None  # the record's first line
    record_number: int  # 1-based position among the file's records
    element_path: str | None  # of the first error (None for an element not a record)
    reason: str  # every error, as raw.rejects.reason


def rejection_reason(record: Record) -> str:
    """raw.rejects.reason of a record: each error, with its line when it has one."""
    return "; ".join(
        f"line {line}: {message}" if line else message for line, _path, message in record.errors
    )


@dataclass
class ValidationReport:
    path: Path
    records: int = 0
    invalid: int = 0
    problems: list[str] = field(default_factory=list)  # "file:line: path: message"
    file_error: str | None = None
    contract: str | None = None  # the contract's name, once the header is read
    # Every invalid record, kept only for a report that lists them all (--junit, json):
    # plain validation keeps its memory flat however many records are invalid.
    invalid_records: list[InvalidRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.file_error is None and self.invalid == 0


def validate_file(
    path: Path, max_problems: int = 20, keep_invalid_records: bool = False
) -> ValidationReport:
    report = ValidationReport(path)
    started = time.monotonic()
    if (not_a_file := why_not_a_file(path)) is not None:
        report.file_error = not_a_file
        return report
    try:
        header = read_header(path)
        report.contract = header.contract.name
        schema = lxml_schema(header.contract)
        for records in iter_record_batches(path, header, schema):
            for record in records:
                report.records += 1
                if not record.errors:
                    continue
                report.invalid += 1
                if keep_invalid_records:
                    report.invalid_records.append(
                        InvalidRecord(
                            path.name,
                            record.line,
                            record.number,
                            record.errors[0][1] or None,
                            rejection_reason(record),
                        )
                    )
                for line, element_path, message in record.errors:
                    if len(report.problems) < max_problems:
                        where = f"{path.name}:{line or record.line or '?'}"
                        report.problems.append(f"{where}: {element_path or '-'}: {message}")
    except FileRejected as error:
        report.file_error = str(error)
    except OSError as error:
        report.file_error = f"{path}: cannot read it: {error.strerror}"
    except Crm7Error as error:
        report.file_error = f"{path}: {error}"
    report.seconds = time.monotonic() - started
    return report
