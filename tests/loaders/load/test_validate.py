"""crm7 validate: a client's check of an export, with no database."""

from __future__ import annotations

import os

from conftest import EXAMPLES, FIXTURES, run_crm7

from loaders.load.validate import validate_file


def test_valid_and_invalid_records_are_reported_with_file_line_and_field():
    assert validate_file(EXAMPLES / "crm_contractors.xml").ok
    report = validate_file(FIXTURES / "contractors-2_rejects.xml")
    assert (report.records, report.invalid) == (5, 2)
    assert report.problems[0].startswith(
        "contractors-2_rejects.xml:11: contractor/nip: Element 'nip'"
    )


def test_invalid_records_are_kept_only_for_a_report_that_lists_them():
    # Plain validation counts invalid records without holding them (flat memory).
    assert validate_file(FIXTURES / "contractors-2_rejects.xml").invalid_records == []
    kept = validate_file(FIXTURES / "contractors-2_rejects.xml", keep_invalid_records=True)
    assert [record.line for record in kept.invalid_records] == [8, 18]  # where each starts


def test_a_hostile_or_broken_file_is_invalid_as_a_whole():
    assert "DTD" in validate_file(FIXTURES / "contractors-billion_laughs.xml").file_error
    broken = validate_file(FIXTURES / "contractors-broken_at_line_7.xml").file_error
    assert ":7:" in broken and "not well-formed" in broken


def test_validate_needs_no_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST="127.0.0.1", PGPORT="1")  # nothing listens there
    result = run_crm7("validate", str(EXAMPLES), env=env, cwd=tmp_path)
    assert result.returncode == 1, "the rejects example is invalid"
    assert "crm_contractors.xml: 12 records, valid" in result.stdout
    assert "erp_contractors_rejects.xml: 5 records, 2 invalid" in result.stdout
