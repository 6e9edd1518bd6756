"""dbt, run in-process against crm7's database, and the lint of its SQL (``crm7 lint-sql``).

Before a dbt command that reads the raw tables, every contract's raw tables are created
if missing: the staging views select from all of them, also for entities no file has been
loaded for yet. dbt reads its connection from ``profiles/profiles.yml``, which takes the
server from the ``PG*`` variables: they are set to crm7's server for the call.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from loaders.contracts import all_contracts
from loaders.contracts.lineage import REGISTRY_TABLES
from loaders.db import ConnectionSettings, connect, connection_settings, server_environment
from loaders.errors import DatabaseError
from loaders.load.raw_schema import (
    RAW_SCHEMA,
    ensure_all_contract_tables,
    ensure_contract_tables,
)
from loaders.load.registry import fail_dead_loads
from loaders.settings import dbt_send_anonymous_usage_stats, project_root

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

# dbt commands that read the raw tables; before them every contract's raw tables exist.
DBT_DATABASE_COMMANDS = frozenset({"build", "run", "test", "seed", "compile", "show"})
LINT_DATABASE = "crm7_lint"
LINT_PATHS = ("models", "tests/dbt/singular")  # macros and generic tests compile into these


def dbt_environment(settings: ConnectionSettings | None = None) -> dict[str, str]:
    """The environment dbt (or sqlfluff's dbt templater) runs with: crm7's server."""
    env = server_environment(settings or connection_settings())
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = dbt_send_anonymous_usage_stats()
    return env


def ensure_all_raw_tables(settings: ConnectionSettings | None = None) -> None:
    """Create the raw tables of every contract that do not exist yet.

    The staging views read every contract's raw tables, so a build must find them all,
    also for entities no file has been loaded for yet (they are then simply empty).
    """
    with connect(settings or connection_settings()) as conn:
        if not _raw_tables_complete(conn):  # DDL only when needed: dbt's role may not own raw
            try:
                ensure_all_contract_tables(conn)
            except psycopg.errors.InsufficientPrivilege:
                raise DatabaseError(
                    "some contract's raw tables are missing and this role cannot create "
                    "them (raw belongs to crm7_loader): run `crm7 db init` as a superuser, "
                    "or load a file of that contract, first"
                ) from None
        fail_dead_loads(conn)


def _raw_tables_complete(conn: psycopg.Connection) -> bool:
    """Whether the registry and every contract's raw tables exist with all their columns."""
    tables = [table for contract in all_contracts().values() for table in contract.tables]
    wanted = {(table.name, column.name) for table in tables for column in table.columns}
    wanted |= {(table.name, "_load_id") for table in tables}
    wanted |= {(table.name, column.name) for table in REGISTRY_TABLES for column in table.columns}
    existing = set(
        conn.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = %s",
            (RAW_SCHEMA,),
        ).fetchall()
    )
    conn.rollback()
    return wanted <= existing


def run_dbt(arguments: list[str], settings: ConnectionSettings | None = None) -> dbtRunnerResult:
    """Run dbt in-process against crm7's server (or ``settings``), with the project's profiles.

    Returns dbt's result object; ``.success`` tells whether everything passed.
    """
    from dbt.cli.main import dbtRunner  # dbt takes seconds to import: only when used

    root = project_root()
    if arguments and arguments[0] in DBT_DATABASE_COMMANDS:
        ensure_all_raw_tables(settings)
    extra = []
    if arguments and not arguments[0].startswith("-"):  # not dbt --version, dbt --help
        if "--profiles-dir" not in arguments:
            extra += ["--profiles-dir", str(root / "profiles")]
        if "--project-dir" not in arguments:
            extra += ["--project-dir", str(root)]
    saved = dict(os.environ)
    # profiles.yml reads PG* through env_var(): dbt must see this server's settings.
    os.environ.update(dbt_environment(settings))
    try:
        return dbtRunner().invoke([*arguments, *extra])
    finally:
        os.environ.clear()
        os.environ.update(saved)


def lint_sql(sqlfluff_args: list[str]) -> int:
    """sqlfluff with the dbt templater, on both branches of every incremental model.

    The templater renders SQL against a database, and what it renders depends on what
    exists there (is_incremental()). So lint runs in a scratch database twice: empty
    (full-build branches), then after ``dbt run --empty`` (incremental branches).
    Prints which stage runs; sqlfluff prints its findings. Returns the exit status.
    """
    root = project_root()
    server = connection_settings()
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{LINT_DATABASE}" with (force)')
        admin.execute(f'create database "{LINT_DATABASE}"')
    settings = replace(server, dbname=LINT_DATABASE)
    with connect(settings) as conn:
        for contract in all_contracts().values():
            ensure_contract_tables(conn, contract)
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    command = [str(sqlfluff), "lint", *LINT_PATHS, *sqlfluff_args]
    env = dbt_environment(settings)
    status = 0
    for stage in ("full-build branches", "incremental branches"):
        print(f"sqlfluff: {stage}", flush=True)
        if stage == "incremental branches":
            # Seeds first: models reading the canonical dictionaries need their tables.
            seeded = run_dbt(["seed", "--quiet"], settings)
            result = run_dbt(["run", "--empty", "--quiet"], settings) if seeded.success else seeded
            if not result.success:
                print(
                    "crm7: dbt run --empty failed; cannot lint incremental branches",
                    file=sys.stderr,
                )
                return 1
        status |= subprocess.run(command, cwd=root, env=env, check=False).returncode
    return status
