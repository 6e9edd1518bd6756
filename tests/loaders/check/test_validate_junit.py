"""crm7 validate --junit / --format json lists exactly the records crm7 load rejects."""

from __future__ import annotations

import json
import os

from conftest import EXAMPLES, FIXTURES, query, run_crm7
from junitparser import Failure, JUnitXml

from loaders.load import load_file

NO_DATABASE = {"PGHOST": "127.0.0.1", "PGPORT": "1"}  # nothing listens there


def no_database_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.pop("CRM7_DATABASE_URL", None)
    return env | NO_DATABASE


def test_validate_reports_exactly_the_records_load_rejects(conn, tmp_path):
    files = sorted(EXAMPLES.glob("*.xml"))
    junit = tmp_path / "validate.xml"
    result = run_crm7(
        "validate",
        str(EXAMPLES),
        "--junit",
        str(junit),
        "--format",
        "json",
        env=no_database_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 1, "some examples hold invalid records"
    report = json.loads(result.stdout)

    for path in files:
        load_file(conn, path)
    rejects = query(
        conn,
        "select file_name, source_line, path, reason from raw.rejects"
        " order by file_name, record_no",
    )
    assert len(rejects) >= 10, "the examples hold rejects of several contracts"
    from_json = [
        (entry["file"].rsplit("/", 1)[-1], record["line"], record["element_path"], record["reason"])
        for entry in sorted(report["files"], key=lambda entry: entry["file"])
        for record in entry["invalid_records"]
    ]
    assert from_json == rejects

    (suite,) = JUnitXml.fromfile(str(junit))
    cases = {case.name: case for case in suite}
    assert set(cases) == {path.name for path in files}, "one testcase per file"
    failures = [
        problem.message
        for name in sorted(cases)
        for problem in cases[name].result
        if isinstance(problem, Failure)
    ]
    assert failures == [
        f"{file}:{line}: {path or '-'}: {reason}" for file, line, path, reason in rejects
    ]
    assert suite.failures == len({file for file, *_ in rejects})
    assert cases["crm_contractors.xml"].is_passed
    assert cases["erp_contractors_rejects.xml"].classname == "crm7.validate.contractors"


def test_a_file_refused_whole_is_a_failure_of_its_testcase(tmp_path):
    junit = tmp_path / "validate.xml"
    result = run_crm7(
        "validate",
        str(FIXTURES / "contractors-broken_at_line_7.xml"),
        str(FIXTURES / "contractors-3_valid.xml"),
        "--junit",
        str(junit),
        env=no_database_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "contractors-broken_at_line_7.xml: INVALID FILE:" in result.stdout
    (suite,) = JUnitXml.fromfile(str(junit))
    broken, valid = list(suite)
    (failure,) = broken.result
    assert failure.type == "file_rejected" and ":7:" in failure.message
    assert valid.is_passed and (suite.tests, suite.failures) == (2, 1)


def test_validate_json_of_valid_files(tmp_path):
    result = run_crm7(
        "validate",
        str(EXAMPLES / "crm_contractors.xml"),
        "--format",
        "json",
        env=no_database_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["valid"] is True
    (entry,) = report["files"]
    assert (entry["records"], entry["invalid"], entry["contract"]) == (12, 0, "contractors")


def test_a_report_that_cannot_be_written_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = run_crm7(
        "validate",
        str(EXAMPLES / "crm_contractors.xml"),
        "--junit",
        str(tmp_path / "a-file" / "validate.xml"),
        env=no_database_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"crm7: cannot write the report {tmp_path}/a-file/validate.xml: ")
    assert "Traceback" not in result.stderr
