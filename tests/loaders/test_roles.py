"""The least-privilege roles: the loader writes raw only, dbt reads raw and writes its own."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest
from conftest import FIXTURES, environment_for, run_crm7

from loaders.load import load_file
from loaders.roles import LOADER, READER, TRANSFORM, create_roles, grant_sql


@pytest.fixture
def granted(database, conn):
    create_roles(conn)
    create_roles(conn)  # idempotent
    return database


def _as(settings, role: str) -> psycopg.Connection:
    return psycopg.connect(replace(settings, user=role).conninfo(), autocommit=True)


def _refused(conn: psycopg.Connection, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_loader_writes_raw_and_nothing_else(granted):
    with _as(granted, LOADER) as loader:
        result = load_file(loader, FIXTURES / "contractors-3_valid.xml")
        assert (result.status, result.records_loaded) == ("loaded", 3)
        assert loader.execute(
            "select rolsuper from pg_roles where rolname = current_user"
        ).fetchone() == (False,)
        for schema in ("crm", "staging", "intermediate", "audit"):
            _refused(loader, f"create table {schema}.sneaky (i int)")
        _refused(loader, "copy raw.contractors (name) from program 'id'")
    with _as(granted, TRANSFORM) as transform:
        transform.execute("create table crm.companies_probe as select 1 as i")
    with _as(granted, LOADER) as loader:
        _refused(loader, "insert into crm.companies_probe values (2)")
        _refused(loader, "drop table crm.companies_probe")


def test_dbt_reads_raw_writes_its_schemas_and_cannot_write_raw(granted):
    with _as(granted, LOADER) as loader:
        load_file(loader, FIXTURES / "contractors-3_valid.xml")
    with _as(granted, TRANSFORM) as transform:
        assert transform.execute("select count(*) from raw.contractors").fetchone() == (3,)
        assert transform.execute("select count(*) from raw.loads").fetchone() == (1,)
        for schema in ("staging", "intermediate", "crm", "audit"):
            transform.execute(f"create table {schema}.built as select 1 as i")
        _refused(transform, "insert into raw.loads (file_name) values ('x')")
        _refused(transform, "update raw.loads set status = 'failed'")
        _refused(transform, "delete from raw.contractors")
        _refused(transform, "create table raw.sneaky (i int)")
        _refused(transform, "drop table raw.contractors")


def test_the_reader_reads_crm_only(granted):
    with _as(granted, TRANSFORM) as transform:
        transform.execute("create table crm.companies_probe as select 1 as i")
    with _as(granted, READER) as reader:
        assert reader.execute("select i from crm.companies_probe").fetchone() == (1,)
        _refused(reader, "insert into crm.companies_probe values (2)")
        _refused(reader, "select * from raw.loads")
        _refused(reader, "create table crm.sneaky (i int)")


def test_db_grant_prints_the_sql_and_db_init_runs_it(database):
    env = environment_for(database)
    printed = run_crm7("db", "grant", env=env)
    assert printed.returncode == 0
    assert printed.stdout == grant_sql(database.dbname)
    assert f"create schema if not exists raw authorization {LOADER};" in printed.stdout

    initialised = run_crm7("db", "init", env=env)
    assert initialised.returncode == 0, initialised.stderr
    assert initialised.stdout.startswith(f"roles {LOADER}, {TRANSFORM}, {READER} ready in ")
    with psycopg.connect(database.conninfo()) as conn:
        owner = conn.execute(
            "select nspowner::regrole::text from pg_namespace where nspname = 'raw'"
        ).fetchone()
        assert owner == (LOADER,)


def test_dbt_builds_as_crm7_transform_from_what_crm7_loader_loaded(granted, tmp_path):
    from loaders.dbt import run_dbt

    with psycopg.connect(granted.conninfo()) as admin:  # what crm7 db init does
        create_roles(admin, raw_tables=True)
    with _as(granted, LOADER) as loader:
        assert load_file(loader, FIXTURES / "contractors-3_valid.xml").status == "loaded"
    target = str(tmp_path / "target")
    arguments = ["run", "--select", "+company_links", "--target-path", target, "--log-path", target]
    assert run_dbt([*arguments, "--quiet"], replace(granted, user=TRANSFORM)).success
    with _as(granted, TRANSFORM) as transform:
        assert transform.execute("select count(*) from crm.company_links").fetchone()[0] > 0
        tables = transform.execute(
            "select count(*), count(*) filter (where tableowner = %s) from pg_tables "
            "where schemaname = 'raw'",
            (LOADER,),
        ).fetchone()
        assert tables[0] > 10 and tables[0] == tables[1]
        owner = transform.execute(
            "select tableowner from pg_tables where schemaname = 'crm' and tablename = 'company_links'"
        ).fetchone()
        assert owner == (TRANSFORM,)


def test_the_reader_reads_what_a_superuser_built(granted):
    # The embedded server's dbt runs as postgres: its tables in crm are readable too.
    with psycopg.connect(granted.conninfo()) as admin:
        admin.execute("create table crm.built_by_postgres as select 1 as i")
        admin.commit()
    with _as(granted, READER) as reader:
        assert reader.execute("select i from crm.built_by_postgres").fetchone() == (1,)
