"""crm7 benchmark: load and build throughput, peak memory, incremental cost.

    python bench/run.py [--sizes 10000 100000 1000000] [--skip-dbt]
    python bench/run.py --entity warehouse_documents [--sizes 1000000]
    python bench/run.py --entity invoices [--sizes 1000000] [--skip-dbt]

With --entity warehouse_documents or invoices, sizes count document / invoice lines (10
per document or invoice; load lines/s and documents/s or invoices/s are reported);
1,000 contractors and 1,000 products are loaded and built first so that references
resolve; the file must load with no record rejected. The 1% and no-new-data builds
count the rows they rewrote of crm.warehouse_document_lines, or of crm.invoices and
crm.invoice_lines together.

Runs against database ``crm7_bench`` on crm7's server (recreated), writes the files to
bench/out/ and prints a Markdown table (paste it into bench/README.md). Measurements:

- load: wall time of ``crm7 load`` (a separate process, as a user runs it), records/s,
  and peak memory (PSS) summed over the loader's process tree (sampled every 50 ms);
- baseline: the same file through bench/baseline_lxml_copy.py (no validation);
- dbt: first full production build (``crm7 dbt build --exclude-resource-type unit_test``:
  every model and data test; unit tests belong to development and CI); then a file changing 1% of the records is loaded
  and built again (its cost relative to the first, and the rows it rewrote); then a
  build with no new data, and the rows it rewrote. Rows of the incremental tables
  (companies, links, deduplicated, matched) count as rewritten when their xmin changed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import (
    write_documents_file,
    write_file,
    write_invoices_file,
    write_products_file,
)
from loaders.db import connection_settings
from loaders.settings import dbt_target_path

OUT = Path(__file__).resolve().parent / "out"
BIN = Path(sys.executable).parent
DATABASE = "crm7_bench"
# A production build: unit tests check SQL logic against fixed fixtures, so dbt runs them
# in development and CI only (`make test` runs them); data tests run on every build.
PRODUCTION_BUILD = ["dbt", "build", "--quiet", "--exclude-resource-type", "unit_test"]


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak memory of the whole process tree in bytes, and stdout.

    Memory is PSS (proportional set size) summed over the tree: the loader forks worker
    processes that share their parent's pages, which plain RSS would count twice.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out}\n{err}")
    return elapsed, peak, out


def wait_for_autovacuum(settings, timeout_s: float = 600) -> float:
    """Wait until no autovacuum worker runs; return the seconds waited.

    A first build writes millions of rows, and PostgreSQL vacuums and analyzes them in
    the background for a while after it. A user's next build comes hours later, so each
    timed build starts on a quiet server; the wait itself is reported, not hidden.
    """
    started = time.perf_counter()
    with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as conn:
        quiet_since = None
        while time.perf_counter() - started < timeout_s:
            busy = conn.execute(
                "select count(*) from pg_stat_activity where backend_type = 'autovacuum worker'"
            ).fetchone()[0]
            now = time.perf_counter()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= 2:
                break
            time.sleep(0.2)
    return time.perf_counter() - started


def recreate(settings) -> None:
    with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{DATABASE}" with (force)')
        admin.execute(f'create database "{DATABASE}"')


# The incremental tables, by key: a row whose xmin changed was rewritten.
INCREMENTAL_TABLES = {
    "crm.companies": "company_id",
    "crm.company_links": "link_id",
    "intermediate.int_contractors_deduplicated": "contractor_key",
    "intermediate.int_contractors_matched": "contractor_key",
}


def row_versions(
    settings, tables: dict[str, str] = INCREMENTAL_TABLES
) -> dict[tuple[str, str], str]:
    versions = {}
    with psycopg.connect(settings.conninfo()) as conn:
        for table, key in tables.items():
            for row_key, xmin in conn.execute(f"select {key}::text, xmin::text from {table}"):
                versions[table, row_key] = xmin
    return versions


def keep_run_results(label: str) -> None:
    """Copy the build's run_results.json to bench/out/run_results-<label>.json: the time
    of every node, to see where a build's seconds go."""
    results = dbt_target_path() / "run_results.json"
    if results.exists():
        shutil.copyfile(results, OUT / f"run_results-{label}.json")


def measure_builds(env, settings, write_change, tables: dict[str, str], unit: str) -> dict:
    """The three timed production builds: the first; one after loading the 1% change
    (the file ``write_change()`` writes); one with no new data. Rows of ``tables``
    rewritten by the last two are counted by xmin. Each build starts once autovacuum
    is idle."""
    crm7 = str(BIN / "crm7")
    wait_for_autovacuum(settings)
    first_s, _, _ = measure([crm7, *PRODUCTION_BUILD], env)
    keep_run_results("first")
    vacuum_s = wait_for_autovacuum(settings)
    change = write_change()
    change_load_s, _, _ = measure([crm7, "load", "--no-progress", str(change)], env)
    first_versions = row_versions(settings, tables)
    wait_for_autovacuum(settings)
    second_s, _, _ = measure([crm7, *PRODUCTION_BUILD], env)
    keep_run_results("after-1pct")
    before = row_versions(settings, tables)
    wait_for_autovacuum(settings)
    idle_s, _, _ = measure([crm7, *PRODUCTION_BUILD], env)
    keep_run_results("no-new-data")
    after = row_versions(settings, tables)
    return {
        "dbt first s": first_s,
        "autovacuum after first s": vacuum_s,
        "1% load s": change_load_s,
        "dbt after 1% s": second_s,
        "after 1% / first": second_s / first_s,
        f"{unit} rewritten (1%)": sum(before[key] != first_versions.get(key) for key in before),
        "dbt no new data s": idle_s,
        f"{unit} rewritten (no new data)": sum(after[key] != before.get(key) for key in after),
    }


@dataclass(frozen=True)
class LinesEntity:
    """An entity whose sizes count lines, 10 per record (a document, an invoice)."""

    file: str  # bench/out/<file>-<size>.xml
    records: str  # what a record is called in the table
    write: Callable[..., Path]  # write(path, lines, source_system, **change) -> path
    tables: dict[str, str]  # incremental tables (by key) whose rewritten rows are counted
    unit: str  # what the rewritten rows are called in the table
    warehouse: bool = False  # needs the own warehouse MG2 from a dictionaries file


LINES_ENTITIES = {
    "warehouse_documents": LinesEntity(
        "documents",
        "documents",
        write_documents_file,
        {"crm.warehouse_document_lines": "line_id"},
        "lines",
        warehouse=True,
    ),
    "invoices": LinesEntity(
        "invoices",
        "invoices",
        write_invoices_file,
        {"crm.invoices": "invoice_key", "crm.invoice_lines": "line_id"},
        "rows",
    ),
}


def require_no_rejects(settings, path: Path) -> None:
    """Every bench file must load whole: stop if any load so far rejected a record."""
    with psycopg.connect(settings.conninfo()) as conn:
        (rejected,) = conn.execute(
            "select coalesce(sum(records_rejected), 0) from raw.loads"
        ).fetchone()
    if rejected:
        raise SystemExit(f"{path}: {rejected} records rejected (see raw.rejects)")


def bench_lines(
    entity: LinesEntity, size: int, env: dict[str, str], settings, skip_dbt: bool
) -> dict:
    """`size` lines of a lines entity: load, first build, 1% change, idle build.

    1,000 contractors and 1,000 products (and, for documents, the warehouse MG2) are
    loaded and built first, so that every reference resolves."""
    crm7 = str(BIN / "crm7")
    references = [
        write_file(OUT / "contractors-1000.xml", 1000, "erp"),
        write_products_file(OUT / "products-1000.xml", 1000, "erp"),
    ]
    if entity.warehouse:
        dictionaries = OUT / "dictionaries.xml"
        dictionaries.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<dictionaries xmlns="urn:crm7:contract:dictionaries:v1" sourceSystem="erp">'
            "<warehouse><code>MG2</code><name>Magazyn 2</name></warehouse></dictionaries>\n",
            encoding="utf-8",
        )
        references.insert(0, dictionaries)
    measure([crm7, "load", "--no-progress", *map(str, references)], env)
    if not skip_dbt:
        measure([crm7, *PRODUCTION_BUILD], env)
    path = OUT / f"{entity.file}-{size}.xml"
    if not path.exists():
        entity.write(path, size, "erp")
    records = max(1, size // 10)
    load_s, load_pss, summary = measure([crm7, "load", "--no-progress", str(path)], env)
    print(summary.strip(), file=sys.stderr)
    require_no_rejects(settings, path)
    row = {
        "lines": size,
        entity.records: records,
        "file MB": path.stat().st_size / 1e6,
        "load s": load_s,
        "load lines/s": size / load_s,
        f"load {entity.records}/s": records / load_s,
        "load peak PSS MB": load_pss / 1e6,
    }
    if skip_dbt:
        return row
    change = OUT / f"{entity.file}-{size}-1pct.xml"
    row.update(
        measure_builds(
            env,
            settings,
            partial(entity.write, change, size // 100, "erp", change_every=1, version=2),
            entity.tables,
            entity.unit,
        )
    )
    require_no_rejects(settings, change)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--skip-dbt", action="store_true")
    parser.add_argument("--entity", choices=("contractors", *LINES_ENTITIES), default="contractors")
    args = parser.parse_args()

    settings = replace(connection_settings(), dbname=DATABASE)
    env = {**os.environ, **settings.env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    crm7 = str(BIN / "crm7")
    rows = []
    for size in args.sizes:
        recreate(settings)
        if args.entity in LINES_ENTITIES:
            row = bench_lines(LINES_ENTITIES[args.entity], size, env, settings, args.skip_dbt)
            rows.append(row)
            print(row, file=sys.stderr)
            continue
        path = OUT / f"contractors-{size}.xml"
        if not path.exists():
            write_file(path, size, "erp")
        load_s, load_rss, summary = measure([crm7, "load", "--no-progress", str(path)], env)
        base_s, base_rss, _ = measure(
            [
                str(BIN / "python"),
                str(Path(__file__).with_name("baseline_lxml_copy.py")),
                str(path),
            ],
            env,
        )
        row = {
            "records": size,
            "file MB": path.stat().st_size / 1e6,
            "load s": load_s,
            "load rec/s": size / load_s,
            "load peak PSS MB": load_rss / 1e6,
            "baseline rec/s": size / base_s,
            "baseline peak PSS MB": base_rss / 1e6,
        }
        print(summary.strip(), file=sys.stderr)
        if not args.skip_dbt:
            row.update(
                measure_builds(
                    env,
                    settings,
                    partial(
                        write_file,
                        OUT / f"contractors-{size}-1pct.xml",
                        size // 100,
                        "erp",
                        start=1,
                        change_every=1,
                        version=2,
                    ),
                    INCREMENTAL_TABLES,
                    "rows",
                )
            )
        rows.append(row)
        print(row, file=sys.stderr)

    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, float):
                cells.append(f"{value:.2f}" if value < 100 else f"{value:,.0f}")
            else:
                cells.append(f"{value:,}" if isinstance(value, int) else str(value))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
