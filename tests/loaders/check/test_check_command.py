"""crm7 check on the real server: verdicts, JUnit and Markdown reports, history, exit codes.

The demo's database (every example file loaded, built once) is shared by this module's
tests: a check changes nothing there but the history and the audit tables, which each
test reads before and after its own call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from conftest import (
    EXAMPLES,
    _create_database,
    _drop_database,
    environment_for,
    run_crm7,
    scalar,
)
from junitparser import Failure, JUnitXml, Skipped

from loaders.check.results import domain_of
from loaders.db import ConnectionSettings
from loaders.demo import DEMO_AS_OF_DATE, STEPS
from loaders.load import load_file

pytestmark = pytest.mark.slow

CLEAN_FILES = ("crm_contractors.xml", "erp_contractors.xml", "erp_contractors_rejects.xml")
VERDICT = re.compile(r"^crm7 check: (PASSED|PASSED WITH WARNINGS|FAILED)(, strict)?: ")


def load_and_build(settings: ConnectionSettings, files, target: Path):
    from loaders.dbt import run_dbt

    with psycopg.connect(settings.conninfo()) as conn:
        for name in files:
            assert load_file(conn, EXAMPLES / name).status == "loaded"
    arguments = ["build", "--vars", f"{{as_of_date: {DEMO_AS_OF_DATE}}}"]
    arguments += ["--exclude-resource-type", "unit_test", "--target-path", str(target)]
    result = run_dbt([*arguments, "--log-path", str(target), "--quiet"], settings)
    assert result.success
    return result


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("check-target")


@pytest.fixture(scope="module")
def demo(pg_server: ConnectionSettings, dbt_target: Path) -> Iterator[tuple]:
    """Every example file the demo loads, in its order, then one build."""
    settings = _create_database(pg_server)
    files = [name for _title, names in STEPS for name in names]
    build = load_and_build(settings, files, dbt_target)
    yield settings, build
    _drop_database(settings)


def check(settings: ConnectionSettings, target: Path, *args: str):
    env = environment_for(settings, DBT_TARGET_PATH=str(target), DBT_LOG_PATH=str(target))
    return run_crm7("check", *args, env=env)


def audit_rows(conn: psycopg.Connection) -> dict[str, int]:
    """audit relation -> rows, for every dbt audit table holding rows."""
    tables = conn.execute(
        "select table_name from information_schema.tables"
        " where table_schema = 'audit' and table_name not like 'crm7%'"
        " and table_type = 'BASE TABLE'"  # audit.import_summary is a view, not a failing test
    ).fetchall()
    counts = {}
    for (table,) in tables:
        statement = psycopg.sql.SQL("select count(*) from {}").format(
            psycopg.sql.Identifier("audit", table)
        )
        rows = conn.execute(statement).fetchone()[0]
        if rows:
            counts[f"audit.{table}"] = rows
    return counts


def junit_cases(path: Path) -> dict[str, object]:
    xml = JUnitXml.fromfile(str(path))
    return {case.name: (suite.name, case) for suite in xml for case in suite}


def runs(conn: psycopg.Connection) -> int:
    exists = scalar(conn, "select to_regclass('audit.crm7_check_runs') is not null")
    return scalar(conn, "select count(*) from audit.crm7_check_runs") if exists else 0


def test_a_clean_built_database_passes_with_every_test_passed(database, tmp_path):
    load_and_build(database, CLEAN_FILES, tmp_path / "target")
    junit = tmp_path / "reports" / "check.xml"
    result = check(database, tmp_path / "target", "--junit", str(junit))

    assert result.returncode == 0, result.stdout + result.stderr
    (verdict,) = result.stdout.strip().splitlines()
    assert verdict.startswith("crm7 check: PASSED: "), verdict
    assert " 0 warned, 0 failed, 0 errored" in verdict
    xml = JUnitXml.fromfile(str(junit))
    assert (xml.failures, xml.errors) == (0, 0)
    tests = [case for suite in xml if "data tests" in suite.name for case in suite]
    assert len(tests) > 100 and all(case.is_passed for case in tests)
    (freshness,) = [suite for suite in xml if suite.name == "crm7 check: source freshness"]
    by_table = {case.name: case for case in freshness}
    for table in ("loads", "rejects", "contractors", "contractor_addresses"):
        assert by_table[f"freshness of raw.{table}"].is_passed, table
    (never,) = by_table["freshness of raw.invoices"].result
    assert isinstance(never, Skipped) and "no rows loaded yet" in never.message
    with psycopg.connect(database.conninfo()) as conn:
        assert runs(conn) == 1
        assert scalar(conn, "select verdict from audit.crm7_check_runs") == "passed"


def test_the_demo_warnings_are_skipped_with_their_rows_by_default(demo, dbt_target, tmp_path):
    settings, _build = demo
    junit, summary = tmp_path / "check.xml", tmp_path / "check.md"
    result = check(settings, dbt_target, "--junit", str(junit), "--summary", str(summary))

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert VERDICT.match(lines[-1]) and lines[-1].startswith("crm7 check: PASSED WITH WARNINGS")
    with psycopg.connect(settings.conninfo()) as conn:
        failing = audit_rows(conn)
    assert len(failing) >= 5, "the demo's examples break several business checks"
    warned = {}
    for name, (_suite, case) in junit_cases(junit).items():
        if case.is_skipped and name.startswith("freshness of"):
            continue
        if not case.is_passed:
            (skipped,) = case.result
            assert isinstance(skipped, Skipped), name
            match = re.match(
                r"warning: (\d+) failing rows? in (audit\.\w+) \(severity warn\)", skipped.message
            )
            assert match, skipped.message
            warned[match[2]] = int(match[1])
            assert "first" in skipped.text and "failing rows" in skipped.text
    assert warned == failing, "every failing check, with the rows its audit table holds"
    assert "warned, fails under --strict" in summary.read_text(encoding="utf-8")
    text = summary.read_text(encoding="utf-8")
    for relation, rows in failing.items():
        noun = "row" if rows == 1 else "rows"
        assert f"{rows} failing {noun} in {relation} (severity warn)" in result.stdout
        assert f"`{relation}`" in text


def test_under_strict_the_demo_warnings_are_failures_and_the_exit_is_1(demo, dbt_target, tmp_path):
    settings, _build = demo
    junit = tmp_path / "strict.xml"
    with psycopg.connect(settings.conninfo()) as conn:
        before = runs(conn)
    result = check(settings, dbt_target, "--strict", "--junit", str(junit))

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("crm7 check: FAILED, strict: ")
    with psycopg.connect(settings.conninfo()) as conn:
        failing = audit_rows(conn)
        assert runs(conn) == before + 1, "one run recorded per call"
        recorded = dict(
            conn.execute(
                "select audit_relation, failing_rows from audit.crm7_check_results"
                " where run_id = (select max(run_id) from audit.crm7_check_runs)"
                " and outcome = 'warned'"
            ).fetchall()
        )
        assert scalar(conn, "select strict from audit.crm7_check_runs order by run_id desc limit 1")
    xml = JUnitXml.fromfile(str(junit))
    failures = {}
    for suite in xml:
        for case in suite:
            for problem in case.result:
                if isinstance(problem, Failure):
                    rows, relation = re.match(
                        r"(\d+) failing rows? in (\S+) ", problem.message
                    ).groups()
                    failures[relation] = int(rows)
                    assert suite.name.startswith("crm7 check: data tests: ")
                    assert (
                        case.classname
                        == f"{suite.name.rsplit(': ', 1)[1]}.{case.classname.split('.', 1)[1]}"
                    )
    assert failures == failing == recorded
    assert xml.failures == len(failing)


def test_json_output_and_the_history_grow_by_one_run_per_call(demo, dbt_target):
    settings, _build = demo
    with psycopg.connect(settings.conninfo()) as conn:
        before = runs(conn)
    result = check(settings, dbt_target, "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # nothing but JSON on stdout
    with psycopg.connect(settings.conninfo()) as conn:
        assert runs(conn) == before + 1
        failing = audit_rows(conn)
        recorded = scalar(
            conn,
            "select count(*) from audit.crm7_check_results where run_id = %s",
            report["run_id"],
        )
    assert report["verdict"] == "passed with warnings" and report["exit_code"] == 0
    assert recorded == len(report["results"]) == sum(report["counts"].values())
    warned = {r["audit_relation"]: r for r in report["results"] if r["outcome"] == "warned"}
    assert {relation: r["failing_rows"] for relation, r in warned.items()} == failing
    first = next(iter(warned.values()))
    assert first["first_failing_rows"] and first["severity"] == "warn"
    assert {r["kind"] for r in report["results"]} == {"data_test", "freshness"}


def test_select_runs_the_tests_of_a_model_and_the_freshness_of_its_sources(demo, dbt_target):
    settings, _build = demo
    result = check(settings, dbt_target, "--select", "warehouse_documents", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    models = {r["model"] for r in report["results"] if r["kind"] == "data_test"}
    assert models == {"warehouse_documents"}
    sources = {r["model"] for r in report["results"] if r["kind"] == "freshness"}
    assert "raw.warehouse_documents" in sources and "raw.invoices" not in sources
    assert report["selection"] == ["warehouse_documents"]


def test_a_builds_data_tests_are_recorded_in_the_history(demo, dbt_target):
    from loaders.check.history import record_build_results

    settings, build = demo
    finished = datetime.now(UTC)
    started = finished - timedelta(seconds=build.result.elapsed_time)
    run_id = record_build_results(settings, build, started, finished, dbt_target)
    with psycopg.connect(settings.conninfo()) as conn:
        command, checks, warned = conn.execute(
            "select command, checks, warned from audit.crm7_check_runs where run_id = %s",
            (run_id,),
        ).fetchone()
        kinds = scalar(
            conn,
            "select array_agg(distinct kind) from audit.crm7_check_results where run_id = %s",
            run_id,
        )
    tests = [r for r in build.result.results if r.node.resource_type == "test"]
    assert (command, checks, kinds) == ("build", len(tests), ["data_test"])
    assert warned == sum(str(r.status) == "warn" for r in tests) > 0


def test_the_domain_comes_from_the_tested_models_folder(demo, dbt_target):
    settings, _build = demo
    with psycopg.connect(settings.conninfo()) as conn:
        recorded = dict(
            conn.execute(
                "select distinct unique_id, domain from audit.crm7_check_results"
                " where kind = 'data_test'"
            ).fetchall()
        )
    nodes = json.loads((dbt_target / "manifest.json").read_text())["nodes"]
    for unique_id, domain in recorded.items():
        test = nodes[unique_id]
        if test.get("attached_node"):  # a generic test: its model's folder
            expected = domain_of(nodes[test["attached_node"]]["original_file_path"])
        else:  # a singular test: its own folder, else its first model's
            parents = test["depends_on"]["nodes"]
            models = [parent for parent in parents if parent.startswith(("model.", "seed."))]
            first_model = nodes[models[0]]["original_file_path"]
            expected = domain_of(test["original_file_path"])
            expected = expected if expected != "project" else domain_of(first_model)
        assert domain == expected, unique_id
    assert len(recorded) > 100


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("no_such_model", "--select no_such_model matches no data test"),
        ("nosuchmethod:whatever", "dbt test could not run: "),
    ],
)
def test_a_selector_naming_nothing_exits_2_with_one_line(demo, dbt_target, selector, message):
    settings, _build = demo
    with psycopg.connect(settings.conninfo()) as conn:
        before = runs(conn)
    result = check(settings, dbt_target, "--select", selector, "--junit", "never.xml")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("crm7: ") and message in line
    assert "Traceback" not in result.stderr
    with psycopg.connect(settings.conninfo()) as conn:
        assert runs(conn) == before, "a check that could not run is not recorded"


def test_an_unreachable_database_exits_2_with_one_line(tmp_path):
    env = environment_for(ConnectionSettings("127.0.0.1", 1, "postgres", "", "crm7", "environment"))
    result = run_crm7("check", "--junit", str(tmp_path / "check.xml"), env=env, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("crm7: cannot connect to PostgreSQL at postgres@127.0.0.1:1/crm7")
    assert "CRM7_DATABASE_URL or PG*" in line
    assert "Traceback" not in result.stderr and not (tmp_path / "check.xml").exists()


def test_a_database_never_built_exits_2_and_says_to_build(database, tmp_path):
    result = check(database, tmp_path / "target")
    assert result.returncode == 2, result.stdout + result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "build the CRM first (crm7 dbt build)" in line
    assert "Traceback" not in result.stderr


def readme_query(title: str) -> str:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", readme, flags=re.DOTALL)
    (block,) = [block for block in blocks if block.startswith(f"-- crm7: {title}\n")]
    return block


def test_the_readme_history_queries_answer_on_the_demo(demo, dbt_target):
    settings, _build = demo
    assert check(settings, dbt_target).returncode == 0
    with psycopg.connect(settings.conninfo()) as conn:
        failing_now = dict(
            conn.execute(
                "select unique_id, failing_rows from audit.crm7_check_results"
                " where run_id = (select max(run_id) from audit.crm7_check_runs)"
                " and outcome <> 'passed' and kind = 'data_test'"
            ).fetchall()
        )
        first_run = scalar(conn, "select min(started_at) from audit.crm7_check_runs")
        first_seen = dict(
            conn.execute(
                "select unique_id, min(started_at) from audit.crm7_check_results"
                " join audit.crm7_check_runs using (run_id) group by unique_id"
            ).fetchall()
        )
        since = conn.execute(readme_query("failing since")).fetchall()
        per_day = conn.execute(readme_query("passing per day")).fetchall()
    assert {row[0]: row[4] for row in since} == failing_now
    # the demo's failing checks never passed: failing since the first run that held them
    assert all(row[2] == first_seen[row[0]] and row[3] > 1 for row in since)
    ((day, day_runs, percent),) = per_day
    assert day == first_run.date() and day_runs > 1 and 50 < percent < 100


def test_an_error_severity_failure_fails_the_run_without_strict(demo, dbt_target, tmp_path):
    """Last in the module: it breaks the demo's data (a balance of a company that is not
    in crm.companies), which the relationships test of receivables_ageing catches."""
    settings, _build = demo
    with psycopg.connect(settings.conninfo()) as conn:
        conn.execute(
            "update crm.receivables_ageing set company_id = gen_random_uuid()"
            " where company_id = (select min(company_id::text)::uuid from crm.receivables_ageing)"
        )
    junit = tmp_path / "check.xml"
    result = check(settings, dbt_target, "--junit", str(junit))

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("crm7 check: FAILED: ")
    name = "relationships_receivables_ageing_company_id__company_id__ref_companies_"
    assert f"FAILED: {name} (receivables_ageing): 1 failing row in audit." in result.stdout
    (_suite, case) = junit_cases(junit)[name]
    (failure,) = case.result
    assert isinstance(failure, Failure) and "(severity error)" in failure.message
    with psycopg.connect(settings.conninfo()) as conn:
        relation = scalar(
            conn,
            "select audit_relation from audit.crm7_check_results where name = %s"
            " and run_id = (select max(run_id) from audit.crm7_check_runs)",
            name,
        )
        rows = scalar(conn, f"select count(*) from {relation}")
    assert rows == 1 and f"in {relation} (severity error)" in failure.message
    warnings = [
        c
        for _s, c in junit_cases(junit).values()
        if c.is_skipped and "warning" in c.result[0].message
    ]
    assert warnings, "warnings stay skipped-with-message beside the failure"
