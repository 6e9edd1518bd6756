"""The JUnit writer: structure a JUnit reader understands, warnings by --strict."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped
from sample_results import RESULTS, STARTED

from loaders.check.junit import write_check_junit, write_validation_junit, xml_text
from loaders.check.results import CheckRun
from loaders.load.validate import InvalidRecord, ValidationReport


def cases(path: Path) -> dict[str, object]:
    xml = JUnitXml.fromfile(str(path))
    return {case.name: case for suite in xml for case in suite}


def run(strict: bool) -> CheckRun:
    return CheckRun(
        "check",
        STARTED,
        STARTED + timedelta(seconds=3),
        strict=strict,
        database="crm7_demo",
        results=list(RESULTS),
        run_id=7,
    )


def test_one_testcase_per_check_in_a_suite_per_domain(tmp_path):
    path = write_check_junit(tmp_path / "report" / "check.xml", run(strict=False))
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == [
        "crm7 check: data tests: companies",
        "crm7 check: data tests: invoices",
        "crm7 check: source freshness",
    ]
    invoices = suites["crm7 check: data tests: invoices"]
    assert (invoices.tests, invoices.failures, invoices.errors, invoices.skipped) == (2, 0, 0, 1)
    companies = suites["crm7 check: data tests: companies"]
    assert (companies.tests, companies.failures, companies.errors) == (2, 1, 1)
    properties = {prop.name: prop.value for prop in invoices.properties()}
    assert properties == {
        "database": "crm7_demo",
        "selection": "(all data tests)",
        "strict": "false",
        "verdict": "failed",
        "run_id": "7",
    }
    by_name = cases(path)
    assert by_name["unique_invoices_invoice_key"].classname == "invoices.invoices"
    assert by_name["unique_invoices_invoice_key"].is_passed
    assert float(by_name["unique_invoices_invoice_key"].time) == 0.25


def test_a_warning_is_skipped_with_its_rows_by_default_and_a_failure_under_strict(tmp_path):
    default = cases(write_check_junit(tmp_path / "default.xml", run(strict=False)))
    (skipped,) = default["invoice_totals_match_lines"].result
    assert isinstance(skipped, Skipped)
    assert skipped.message == (
        "warning: 3 failing rows in audit.invoice_totals_match_lines (severity warn); "
        "not failing the run (crm7 check --strict fails it)"
    )
    assert "erp/1 | bell \ufffd here" in skipped.text, "control characters are replaced"
    assert "erp/2 | NULL" in skipped.text

    strict = cases(write_check_junit(tmp_path / "strict.xml", run(strict=True)))
    (failure,) = strict["invoice_totals_match_lines"].result
    assert isinstance(failure, Failure)
    assert failure.message == "3 failing rows in audit.invoice_totals_match_lines (severity warn)"
    assert failure.type == "data_test_warn"
    assert "failing rows stored in: audit.invoice_totals_match_lines" in failure.text


def test_failures_errors_and_freshness(tmp_path):
    by_name = cases(write_check_junit(tmp_path / "check.xml", run(strict=False)))
    (failure,) = by_name["not_null_companies_nip"].result
    assert isinstance(failure, Failure) and failure.message.startswith("1 failing row in audit.")
    (error,) = by_name["broken_test"].result
    assert isinstance(error, Error)
    assert error.message == 'could not run: relation "crm.companies" does not exist'
    assert by_name["freshness of raw.loads"].is_passed
    assert by_name["freshness of raw.loads"].classname == "staging.raw.loads"
    (never,) = by_name["freshness of raw.invoices"].result
    assert isinstance(never, Skipped) and "no rows loaded yet" in never.message


def test_the_root_sums_its_suites(tmp_path):
    xml = JUnitXml.fromfile(str(write_check_junit(tmp_path / "check.xml", run(strict=True))))
    assert (xml.tests, xml.failures, xml.errors) == (6, 2, 1)


def test_validation_lists_each_invalid_record_as_a_failure_of_its_file(tmp_path):
    bad = ValidationReport(Path("exports/a.xml"), records=3, invalid=2, contract="contractors")
    bad.invalid_records = [
        InvalidRecord("a.xml", 11, 2, "contractor/nip", "line 12: Element 'nip': bad"),
        InvalidRecord("a.xml", 20, 3, None, "element <x> is not a record"),
    ]
    good = ValidationReport(Path("exports/b.xml"), records=5, contract="contractors")
    broken = ValidationReport(
        Path("exports/c.xml"), file_error="exports/c.xml:7:3: not well-formed"
    )
    path = write_validation_junit(tmp_path / "validate.xml", [bad, good, broken])
    (suite,) = JUnitXml.fromfile(str(path))
    assert (suite.name, suite.tests, suite.failures) == ("crm7 validate", 3, 2)
    by_name = {case.name: case for case in suite}
    assert by_name["a.xml"].classname == "crm7.validate.contractors"
    assert [failure.message for failure in by_name["a.xml"].result] == [
        "a.xml:11: contractor/nip: line 12: Element 'nip': bad",
        "a.xml:20: -: element <x> is not a record",
    ]
    assert by_name["b.xml"].is_passed
    (rejected,) = by_name["c.xml"].result
    assert rejected.type == "file_rejected" and "not well-formed" in rejected.message


def test_xml_text_keeps_what_xml_allows():
    assert xml_text("a\tb\nc ąę €") == "a\tb\nc ąę €"
    assert xml_text("nul\x00 esc\x1b") == "nul\ufffd esc\ufffd"
