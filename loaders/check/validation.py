"""``crm7 validate --format json``: the validation reports, machine-readable."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def validation_as_dict(reports: Iterable) -> dict[str, Any]:
    files = []
    for report in reports:
        files.append(
            {
                "file": str(report.path),
                "contract": report.contract,
                "valid": report.ok,
                "records": report.records,
                "invalid": report.invalid,
                "file_error": report.file_error,
                "invalid_records": [
                    {
                        "file": record.file,
                        "line": record.line,
                        "record_number": record.record_number,
                        "element_path": record.element_path,
                        "reason": record.reason,
                    }
                    for record in report.invalid_records
                ],
            }
        )
    return {"valid": all(entry["valid"] for entry in files), "files": files}
