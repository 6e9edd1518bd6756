"""The history of check results, in two tables crm7 owns in the ``audit`` schema.

``audit.crm7_check_runs``: one row per ``crm7 check`` (or build whose results were
recorded): when, what was selected, strict or not, the verdict and the counts.
``audit.crm7_check_results``: one row per check of a run: the dbt test or source, its
model and domain, severity, dbt status and crm7 outcome, failing rows and the audit
relation holding them (which holds only the latest run's rows: the history keeps counts).

The names start with ``crm7_`` like ``audit.crm7_build_state``: ``audit.<test>`` tables
are dbt's, named after tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from loaders.check.results import CheckRun, Outcome
from loaders.check.runner import ProjectManifest, data_test_results
from loaders.db import ConnectionSettings, connect
from loaders.errors import CheckHistoryNotWritten

RUNS_TABLE = "audit.crm7_check_runs"
RESULTS_TABLE = "audit.crm7_check_results"
HISTORY_LOCK = 0x63726D37  # "crm7": serialises creating the tables

OUTCOMES = ", ".join(f"'{outcome.value}'" for outcome in Outcome)
HISTORY_DDL = f"""
create schema if not exists audit;
create table if not exists {RUNS_TABLE} (
    run_id bigint generated always as identity primary key,
    command text not null check (command in ('check', 'build')),
    started_at timestamptz not null,
    finished_at timestamptz not null,
    selection text [] not null default '{{}}',
    strict boolean not null,
    verdict text not null check (verdict in ('passed', 'passed with warnings', 'failed')),
    exit_code integer not null,
    checks integer not null,
    passed integer not null,
    warned integer not null,
    failed integer not null,
    errored integer not null,
    skipped integer not null,
    check (checks = passed + warned + failed + errored + skipped)
);
comment on table {RUNS_TABLE} is
'crm7: one row per crm7 check (or recorded build): selection, verdict, counts';
create table if not exists {RESULTS_TABLE} (
    run_id bigint not null references {RUNS_TABLE} (run_id) on delete cascade,
    unique_id text not null,
    kind text not null check (kind in ('data_test', 'freshness')),
    name text not null,
    model text,
    domain text not null,
    severity text not null,
    status text not null,
    outcome text not null check (outcome in ({OUTCOMES})),
    failing_rows bigint,
    audit_relation text,
    message text,
    execution_seconds numeric(12, 3) not null,
    primary key (run_id, unique_id)
);
comment on table {RESULTS_TABLE} is
'crm7: one row per check of a run in crm7_check_runs: test, model, domain, outcome, rows';
create index if not exists crm7_check_results_by_check on {RESULTS_TABLE} (unique_id, run_id);
"""

RESULT_COLUMNS = (
    "run_id",
    "unique_id",
    "kind",
    "name",
    "model",
    "domain",
    "severity",
    "status",
    "outcome",
    "failing_rows",
    "audit_relation",
    "message",
    "execution_seconds",
)


def ensure_history_tables(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (HISTORY_LOCK,))
        conn.execute(HISTORY_DDL)


def record_run(conn: psycopg.Connection, run: CheckRun) -> int:
    """Append a run and its results; returns (and sets on ``run``) its run id."""
    ensure_history_tables(conn)
    counts = run.counts()
    with conn.transaction():
        run_id = conn.execute(
            f"""
            insert into {RUNS_TABLE} (
                command, started_at, finished_at, selection, strict, verdict, exit_code,
                checks, passed, warned, failed, errored, skipped
            )
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            returning run_id
            """,
            (
                run.command,
                run.started_at,
                run.finished_at,
                list(run.selection),
                run.strict,
                run.verdict,
                run.exit_code,
                len(run.results),
                *(counts[outcome] for outcome in Outcome),
            ),
        ).fetchone()[0]
        with conn.cursor() as cursor:
            columns = ", ".join(RESULT_COLUMNS)
            with cursor.copy(f"copy {RESULTS_TABLE} ({columns}) from stdin") as copy:
                for result in run.results:
                    copy.write_row(
                        (
                            run_id,
                            result.unique_id,
                            result.kind,
                            result.name,
                            result.model,
                            result.domain,
                            result.severity,
                            result.status,
                            result.outcome.value,
                            result.failing_rows,
                            result.audit_relation,
                            result.message,
                            round(result.execution_seconds, 3),
                        )
                    )
    run.run_id = run_id
    return run_id


def record_check_run(settings: ConnectionSettings, run: CheckRun) -> int:
    try:
        with connect(settings) as conn:
            return record_run(conn, run)
    except psycopg.Error as error:
        raise CheckHistoryNotWritten(
            f"cannot append the run to {RUNS_TABLE}: {error}; the role needs CREATE on "
            "database and schema audit the first time, INSERT on both tables afterwards"
        ) from None


def record_build_results(
    settings: ConnectionSettings,
    dbt_result: Any,
    started_at: datetime,
    finished_at: datetime,
    target_path: Path,
    selection: Sequence[str] = (),
) -> int | None:
    """For ``crm7 build``: append the data tests of a finished ``dbt build`` to the
    history, as a run with command ``build``. ``dbt_result`` is what ``run_dbt``
    returned, ``target_path`` the build's target folder (its manifest.json names each
    test's model). Returns the run id, or None when dbt ran no data test."""
    if dbt_result.result is None or not hasattr(dbt_result.result, "results"):
        return None
    manifest = ProjectManifest.read(Path(target_path) / "manifest.json")
    results = data_test_results(dbt_result.result.results, manifest)
    if not results:
        return None
    run = CheckRun(
        command="build",
        started_at=started_at,
        finished_at=finished_at,
        selection=tuple(selection),
        database=settings.dbname,
        results=results,
    )
    return record_check_run(settings, run)
