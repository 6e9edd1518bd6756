"""The Markdown summary: counts by domain and severity, failing checks with their rows."""

from __future__ import annotations

from sample_results import RESULTS, STARTED

from loaders.check.results import CheckRun
from loaders.check.summary import markdown_summary, write_markdown_summary


def test_counts_by_domain_and_severity_and_the_failing_checks(tmp_path):
    run = CheckRun("check", STARTED, STARTED, database="crm7_demo", results=list(RESULTS), run_id=3)
    text = write_markdown_summary(tmp_path / "out" / "check.md", run).read_text(encoding="utf-8")
    assert text == markdown_summary(run)
    assert text.startswith("## crm7 check: **failed**\n")
    assert "Database `crm7_demo`, every data test, run 3 in `audit.crm7_check_runs`" in text
    assert "| companies | error | 2 | 0 | 0 | 1 | 1 | 0 |" in text
    assert "| invoices | error | 1 | 1 | 0 | 0 | 0 | 0 |" in text
    assert "| invoices | warn | 1 | 0 | 1 | 0 | 0 | 0 |" in text
    assert "| staging (freshness) | error | 2 | 1 | 0 | 0 | 0 | 1 |" in text
    failing = text[text.index("### Failing checks") :]
    # what fails the run first, then warnings
    assert failing.index("not_null_companies_nip") < failing.index("invoice_totals_match_lines")
    assert (
        "| `invoice_totals_match_lines` | invoices | warn | warned, fails under --strict | 3 "
        "| `audit.invoice_totals_match_lines` |"
    ) in failing
    assert 'could not run: relation "crm.companies" does not exist' in failing
    assert "1 skipped: freshness of raw.invoices (raw.invoices has no rows loaded yet" in text


def test_a_clean_run_says_passed_and_lists_nothing():
    passing = [result for result in RESULTS if result.status == "pass"]
    text = markdown_summary(
        CheckRun("check", STARTED, STARTED, selection=("tag:x",), results=passing)
    )
    assert text.startswith("## crm7 check: passed\n")
    assert "selection `tag:x`" in text and "### Failing checks" not in text
