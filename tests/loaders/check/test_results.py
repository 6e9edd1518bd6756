"""Typed check results: domains from paths, outcomes, verdicts and exit codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loaders.check.results import CheckResult, CheckRun, Outcome, domain_of


@pytest.mark.parametrize(
    ("path", "domain"),
    [
        ("models/marts/invoices/invoices.sql", "invoices"),
        ("models/intermediate/inventory/int_products_resolved.sql", "inventory"),
        ("models/staging/calendar/_calendar__sources.yml", "calendar"),
        ("models/marts/financials/deeper/company_financials.sql", "financials"),
        ("models\\marts\\loads\\load_reconciliation.sql", "loads"),
        # today's flat layout: the layer
        ("models/marts/_marts__models.yml", "marts"),
        ("models/staging/stg_raw__contractors.sql", "staging"),
        # nothing under models/
        ("models/top_level.sql", "project"),
        ("tests/dbt/singular/inventory/assert_price_periods_do_not_overlap.sql", "inventory"),
        ("tests/dbt/singular/assert_price_periods_do_not_overlap.sql", "project"),
        ("tests/dbt/generic/valid_nip.sql", "project"),
        ("seeds/canonical_vat_rates.csv", "seeds"),
        (None, "project"),
        ("", "project"),
    ],
)
def test_the_domain_is_the_second_folder_under_models(path, domain):
    assert domain_of(path) == domain


def result(status: str, kind: str = "data_test", severity: str = "error", **extra) -> CheckResult:
    return CheckResult(
        unique_id=f"test.crm7.{status}_{severity}_{kind}",
        name=f"{status}_{severity}",
        kind=kind,
        model="companies",
        domain="companies",
        severity=severity,
        status=status,
        **extra,
    )


def run(*results: CheckResult, strict: bool = False) -> CheckRun:
    started = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    return CheckRun(
        "check", started, started + timedelta(seconds=42), strict=strict, results=list(results)
    )


@pytest.mark.parametrize(
    ("status", "kind", "outcome"),
    [
        ("pass", "data_test", Outcome.PASSED),
        ("warn", "data_test", Outcome.WARNED),
        ("fail", "data_test", Outcome.FAILED),
        ("error", "data_test", Outcome.ERRORED),
        ("skipped", "data_test", Outcome.SKIPPED),
        ("pass", "freshness", Outcome.PASSED),
        ("warn", "freshness", Outcome.WARNED),
        ("error", "freshness", Outcome.FAILED),  # past error_after: stale, not broken
        ("runtime error", "freshness", Outcome.ERRORED),
        ("never_loaded", "freshness", Outcome.SKIPPED),
        ("something new", "data_test", Outcome.ERRORED),  # unknown is never a pass
    ],
)
def test_dbt_statuses_map_to_outcomes(status, kind, outcome):
    assert result(status, kind).outcome is outcome


def test_exit_codes_and_verdicts():
    clean = run(result("pass"), result("never_loaded", "freshness"))
    assert (clean.exit_code, clean.verdict) == (0, "passed")
    warned = run(result("pass"), result("warn", severity="warn", failing_rows=3))
    assert (warned.exit_code, warned.verdict) == (0, "passed with warnings")
    strict = run(result("pass"), result("warn", severity="warn", failing_rows=3), strict=True)
    assert (strict.exit_code, strict.verdict) == (1, "failed")
    assert run(result("fail", failing_rows=1)).exit_code == 1
    assert run(result("error", message="relation does not exist")).exit_code == 1


def test_the_verdict_line_counts_every_outcome():
    line = run(
        result("pass"),
        result("warn", severity="warn", failing_rows=2),
        result("fail", failing_rows=1),
        result("pass", "freshness"),
    ).verdict_line()
    assert line == (
        "crm7 check: FAILED: 3 data tests and 1 source freshness checks: "
        "2 passed, 1 warned, 1 failed, 0 errored, 0 skipped (42 s)"
    )


def test_a_failing_check_names_its_rows_and_audit_relation():
    failing = result("warn", severity="warn", failing_rows=1234, audit_relation="audit.x")
    assert failing.problem() == "1,234 failing rows in audit.x (severity warn)"
    assert result("pass").problem() == ""
    assert result("error", message="boom").problem() == "could not run: boom"
