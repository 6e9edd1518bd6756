"""Check results of every kind, for the report writers' tests."""

from __future__ import annotations

from datetime import UTC, datetime

from loaders.check.results import CheckResult, FailingRowsSample

STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def check(name: str, status: str, domain: str = "invoices", **extra) -> CheckResult:
    fields = {"kind": "data_test", "model": "invoices", "severity": "error"} | extra
    return CheckResult(f"test.crm7.{name}", name, domain=domain, status=status, **fields)


RESULTS = [
    check("unique_invoices_invoice_key", "pass", execution_seconds=0.25),
    check(
        "invoice_totals_match_lines",
        "warn",
        severity="warn",
        failing_rows=3,
        audit_relation="audit.invoice_totals_match_lines",
        sample=FailingRowsSample(
            ("invoice_key", "note"), (("erp/1", "bell \x07 here"), ("erp/2", None))
        ),
    ),
    check(
        "not_null_companies_nip",
        "fail",
        domain="companies",
        model="companies",
        failing_rows=1,
        audit_relation="audit.not_null_companies_nip",
    ),
    check(
        "broken_test",
        "error",
        domain="companies",
        model="companies",
        message='relation "crm.companies" does not exist',
    ),
    CheckResult(
        "source.crm7.raw.loads",
        "freshness of raw.loads",
        "freshness",
        "raw.loads",
        "staging",
        "error",
        "pass",
        message="raw.loads last loaded 5 s ago",
    ),
    CheckResult(
        "source.crm7.raw.invoices",
        "freshness of raw.invoices",
        "freshness",
        "raw.invoices",
        "staging",
        "error",
        "never_loaded",
        message="raw.invoices has no rows loaded yet: freshness does not apply",
    ),
]
