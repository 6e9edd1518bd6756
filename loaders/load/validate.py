"""``crm7 validate``: check files against their contract without a database.

For a client writing an export (or CI on their side): the same header checks, the same
per-record validation and the same messages as ``crm7 load``, nothing written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loaders.errors import Crm7Error, FileRejected
from loaders.load.batches import lxml_schema
from loaders.load.header import read_header
from loaders.load.records import iter_record_batches


@dataclass
class ValidationReport:
    path: Path
    records: int = 0
    invalid: int = 0
    problems: list[str] = field(default_factory=list)  # "file:line: path: message"
    file_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and self.invalid == 0


def validate_file(path: Path, max_problems: int = 20) -> ValidationReport:
    report = ValidationReport(path)
    try:
        header = read_header(path)
        schema = lxml_schema(header.contract)
        for records in iter_record_batches(path, header, schema):
            for record in records:
                report.records += 1
                if not record.errors:
                    continue
                report.invalid += 1
                for line, element_path, message in record.errors:
                    if len(report.problems) < max_problems:
                        where = f"{path.name}:{line or record.line or '?'}"
                        report.problems.append(f"{where}: {element_path or '-'}: {message}")
    except FileRejected as error:
        report.file_error = str(error)
    except (Crm7Error, OSError) as error:
        report.file_error = f"{path}: {error}"
    return report
