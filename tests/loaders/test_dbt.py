"""dbt in-process: the raw tables it reads exist, and the old import path still works."""

from __future__ import annotations

from loaders.contracts import all_contracts
from loaders.dbt import ensure_all_raw_tables, run_dbt


def test_dbt_finds_the_raw_tables_of_every_contract_before_any_file_is_loaded(conn, database):
    ensure_all_raw_tables(database)

    found = {
        row[0] for row in conn.execute("select tablename from pg_tables where schemaname = 'raw'")
    }
    wanted = {table.name for contract in all_contracts().values() for table in contract.tables}
    assert {"contractors", "calendar_events", "calendar_event_attendees"} <= wanted <= found


def test_run_dbt_is_still_importable_from_the_cli_module():
    # tests/models and tests/macros import it from there (owned by the dbt side).
    from loaders.dbt import run_dbt as from_cli

    assert from_cli is run_dbt


def test_crm7_dbt_passes_everything_to_dbt_and_shows_why_it_stopped(database):
    from conftest import environment_for, run_crm7

    env = environment_for(database)
    version = run_crm7("dbt", "--version", env=env)
    assert version.returncode == 0, version.stderr
    assert "Core:" in version.stdout and "postgres" in version.stdout

    unknown = run_crm7("dbt", "frobnicate", env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == ["crm7: dbt: No such command 'frobnicate'."]

    threads = run_crm7("dbt", "build", "--threads", "abc", env=env)
    assert threads.returncode == 2
    assert threads.stderr.strip().splitlines() == ["crm7: dbt: 'abc' is not a valid integer."]
