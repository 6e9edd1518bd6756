"""Same loads, same CRM, whatever the build cadence: the harness the cadence tests share.

Given a sequence of batches (each a few XML files), it writes them once into one
directory and loads them into fresh databases, building each at its own cadence:
after every batch, once at the end, and after the first few then ``--full-refresh``
(:func:`compare_cadences`). It dumps every table and view of ``crm`` (the review queues
included) as sorted text, minus the columns that hold wall-clock time
(:data:`WALL_CLOCK_COLUMNS`) and the build report (:data:`BUILD_REPORTS`). Identical
loads must give identical dumps; :func:`assert_same_crm` shows a unified diff, each hunk
named by its table, when they do not.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from psycopg import sql

from loaders.db import ConnectionSettings
from loaders.load import load_file

# Columns of crm.* that hold the wall-clock time of a build or of a load: they differ
# between two databases given the same loads and are left out of the dump, by name
# (each is a timestamptz; dump_crm checks that). Every other column is compared.
BUILD_TIMESTAMPS = frozenset(
    {
        "created_at",  # companies: now() of the build that created the company
        "updated_at",  # companies, company_links, invoices, calendar_events: now() of a build
        "linked_at",  # company_links: now() of the build that linked the record
        "matched_at",  # int_contractors_matched, shown in contractor_review
        "detected_at",  # contractor_review: matched_at under another name
        "deduplicated_at",  # int_*_deduplicated: now() of the build
    }
)
LOAD_TIMESTAMPS = frozenset(
    {
        "started_at",  # load_reconciliation: when the loader started the file
        "finished_at",  # load_reconciliation: when the loader finished it
        "loaded_at",  # when the loader wrote the row
    }
)
WALL_CLOCK_COLUMNS = BUILD_TIMESTAMPS | LOAD_TIMESTAMPS
# Relations of crm that describe the last build rather than the loads, left out of the
# dump by name: what "the previous build" was differs by construction between cadences.
BUILD_REPORTS = frozenset(
    {
        "import_summary",  # build_load_id, previous_build_load_id, created/updated in that build
    }
)

# Every build sees the same day: receivables and current prices depend on it.
AS_OF_DATE = "2026-11-30"
# Only the resources whose tables the dump compares: data tests and unit tests write
# nothing to crm.* (data tests store their failures in audit.*), and a failing error
# test would skip its downstream models in one cadence and not in another.
BUILD_ARGS = (
    "--threads",
    "2",
    "--quiet",
    "--vars",
    f"{{as_of_date: {AS_OF_DATE}}}",
    "--exclude-resource-type",
    "test",
    "unit_test",
)
# The marts of the contractors, invoices, calendar and financials contracts and the loads
# (with what they read): the cadence tests of those contracts leave the rest of the
# project (the inventory marts) out to keep each build short.
SELECT = tuple(
    f"+path:models/marts/{domain}"
    for domain in ("companies", "invoices", "calendar", "financials", "loads")
)
# Contractors and the loads only, for cases that load no other contract.
CONTRACTORS_SELECT = ("+path:models/marts/companies", "+path:models/marts/loads")


@dataclass(frozen=True)
class XmlFile:
    """One file of a batch: its name and its whole text (a re-send repeats both)."""

    name: str
    text: str


Batch = tuple[XmlFile, ...]


def write_batches(batches: Sequence[Batch], directory: Path) -> list[list[Path]]:
    """Writes batch n's files into ``directory/batch_<n>/``; returns their paths.

    Every cadence loads these same paths, so file names and paths in the CRM agree.
    """
    paths = []
    for number, batch in enumerate(batches, start=1):
        folder = directory / f"batch_{number:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for xml in batch:
            path = folder / xml.name
            path.write_text(xml.text, encoding="utf-8")
            written.append(path)
        paths.append(written)
    return paths


@contextmanager
def fresh_database(server: ConnectionSettings, name: str) -> Iterator[ConnectionSettings]:
    """Database ``name`` on ``server``, created empty (dropped first if left over)."""
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield replace(server, dbname=name)
    finally:
        with psycopg.connect(server.conninfo("postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


class BuildFailed(RuntimeError):
    """dbt failed: the cadence cannot be compared (its log is in the target path).

    Not an AssertionError: a test expected to fail on a dump difference
    (xfail(raises=AssertionError)) still fails on a broken build.
    """


class NotAWallClockColumn(TypeError):
    """A column named as a wall-clock time in WALL_CLOCK_COLUMNS is not a timestamptz."""


def build(
    settings: ConnectionSettings,
    target: Path,
    *,
    full_refresh: bool = False,
    select: Sequence[str] = (),
) -> None:
    """``dbt build`` of the models (and seeds) against ``settings``; raises BuildFailed."""
    from loaders.dbt import run_dbt

    arguments = ["build", *BUILD_ARGS, "--target-path", str(target), "--log-path", str(target)]
    if select:
        arguments += ["--select", *select]
    if full_refresh:
        arguments.append("--full-refresh")
    result = run_dbt(arguments, settings)
    if not result.success:
        failed = [
            f"{node.node.name}: {node.message}"
            for node in (getattr(result.result, "results", None) or [])
            if str(node.status) not in ("success", "pass")
        ]
        raise BuildFailed(
            f"dbt build{' --full-refresh' if full_refresh else ''} failed in "
            f"{settings.dbname}: {failed or result.exception}"
        )


def dump_crm(settings: ConnectionSettings, schema: str = "crm") -> str:
    """Every table and view of ``schema``, every column but WALL_CLOCK_COLUMNS, as text:
    ``## schema.table (columns)`` then one tab-separated line per row, sorted."""
    out = []
    with psycopg.connect(settings.conninfo()) as conn:
        relations = conn.execute(
            "select table_name from information_schema.tables where table_schema = %s"
            " order by table_name",
            (schema,),
        ).fetchall()
        for (table,) in relations:
            if table in BUILD_REPORTS:
                continue
            columns = conn.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            ).fetchall()
            for name, data_type in columns:
                if name in WALL_CLOCK_COLUMNS and data_type != "timestamp with time zone":
                    raise NotAWallClockColumn(
                        f"{schema}.{table}.{name} is left out of the dump as a wall-clock time"
                        f" but is {data_type}: compare it, or rename it"
                    )
            kept = [name for name, _type in columns if name not in WALL_CLOCK_COLUMNS]
            statement = sql.SQL("select {} from {}").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in kept),
                sql.Identifier(schema, table),
            )
            rows = sorted(
                "\t".join(r"\N" if value is None else _escape(value) for value in row)
                for row in conn.execute(statement).fetchall()
            )
            out.append(f"## {schema}.{table} ({', '.join(kept)}): {len(rows)} rows")
            out.extend(rows)
    return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def assert_same_crm(dumps: dict[str, str]) -> None:
    """All dumps equal; otherwise a unified diff of each one against the first."""
    (reference_name, reference), *others = dumps.items()
    differences = []
    for name, dump in others:
        if dump != reference:
            diff = difflib.unified_diff(
                reference.splitlines(), dump.splitlines(), reference_name, name, lineterm="", n=1
            )
            differences.append("\n".join(_with_table_headers(list(diff), reference)))
    assert not differences, "crm.* depends on the build cadence:\n" + "\n\n".join(differences)


def _with_table_headers(diff: list[str], reference: str) -> list[str]:
    """The diff with, before each hunk, the ``## table`` header of its first line."""
    headers = {}
    current = ""
    for number, line in enumerate(reference.splitlines(), start=1):
        if line.startswith("## "):
            current = line
        headers[number] = current
    shown = []
    for line in diff:
        if line.startswith("@@"):
            # The hunk opens with one line of context: its first change is the next line.
            start = int(line.split()[1].lstrip("-").split(",")[0] or 0) + 1
            header = headers.get(min(start, len(headers)), "")
            shown.append(f"{line}   in {header.split(' (')[0][3:]}")
        else:
            shown.append(line)
    return shown


PER_BATCH, ONCE = "built after every batch", "built once at the end"


def full_refresh_name(cut: int) -> str:
    return f"built after batches 1..{cut}, then --full-refresh"


def compare_cadences(
    server: ConnectionSettings,
    batches: Sequence[Batch],
    workdir: Path,
    *,
    cut: int,
    select: Sequence[str] = (),
    targets: Path | None = None,
) -> dict[str, str]:
    """Loads ``batches`` (written under ``workdir``) three ways, each into a fresh database
    of its own, and returns the dumps of crm.* by cadence:

    - PER_BATCH: a build after every batch;
    - ONCE: every batch loaded, one build at the end;
    - full_refresh_name(cut): the first ``cut`` batches each built (0 <= cut <= len),
      the rest loaded, then ``dbt build --full-refresh``.

    The third starts as a copy (CREATE DATABASE ... TEMPLATE) of the first taken right
    after its build of batch ``cut``: the same loads and builds, without running them
    twice. Each database keeps its name across calls, and its dbt target under
    ``targets`` (default: ``workdir``): given the same ``targets``, dbt's partial parse
    carries over from one call to the next.
    """
    assert 0 <= cut <= len(batches)
    files = workdir / "files"
    shutil.rmtree(files, ignore_errors=True)
    paths = write_batches(batches, files)
    targets = {
        name: (targets or workdir) / f"target_{name}" for name in ("per_batch", "once", "refresh")
    }
    dumps = {}
    with (
        fresh_database(server, "cadence_per_batch") as per_batch,
        fresh_database(server, "cadence_refresh") as refresh,
    ):
        if cut == 0:
            _clone(server, per_batch, refresh)
        for number, batch in enumerate(paths, start=1):
            load_files(per_batch, batch)
            build(per_batch, targets["per_batch"], select=select)
            if number == cut:
                _clone(server, per_batch, refresh)
        dumps[PER_BATCH] = dump_crm(per_batch)
        with fresh_database(server, "cadence_once") as once:
            for batch in paths:
                load_files(once, batch)
            build(once, targets["once"], select=select)
            dumps[ONCE] = dump_crm(once)
        for batch in paths[cut:]:
            load_files(refresh, batch)
        build(refresh, targets["refresh"], full_refresh=True, select=select)
        dumps[full_refresh_name(cut)] = dump_crm(refresh)
    return dumps


def load_files(settings: ConnectionSettings, paths: Iterable[Path]) -> None:
    """Loads ``paths`` in order, each with the real loader, on a connection closed after."""
    with psycopg.connect(settings.conninfo()) as conn:
        for path in paths:
            load_file(conn, path)
        conn.commit()


def _clone(
    server: ConnectionSettings, source: ConnectionSettings, copy: ConnectionSettings
) -> None:
    """Replaces database ``copy`` by a copy of ``source`` (no one may be connected to it)."""
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(copy.dbname))
        )
        admin.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(copy.dbname), sql.Identifier(source.dbname)
            )
        )
