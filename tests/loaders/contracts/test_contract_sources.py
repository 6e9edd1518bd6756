"""The dbt sources file is generated from the contracts, is current, and documents every
raw column the loader creates, with the type PostgreSQL gives it."""

from __future__ import annotations

import psycopg
import yaml
from conftest import ROOT, environment_for, run_crm7

from loaders.contracts.sources import SOURCES_FILE, render_project_sources
from loaders.load.raw_schema import ensure_all_contract_tables


def test_committed_sources_file_is_current() -> None:
    committed = (ROOT / SOURCES_FILE).read_text(encoding="utf-8")
    assert committed == render_project_sources(), (
        f"{SOURCES_FILE} is stale: run `crm7 contract sources` and commit the result"
    )


def test_contract_sources_command_writes_the_file_byte_for_byte(tmp_path, database) -> None:
    written = tmp_path / "sources.yml"
    result = run_crm7(
        "contract", "sources", "--output", str(written), env=environment_for(database)
    )
    assert result.returncode == 0, result.stderr
    assert written.read_bytes() == (ROOT / SOURCES_FILE).read_bytes()
    assert str(written) in result.stdout


def test_every_raw_column_is_declared_with_its_type_and_a_description(conn) -> None:
    ensure_all_contract_tables(conn)
    in_database = {
        (table, column): pg_type
        for table, column, pg_type in conn.execute(
            """
            select c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
            from pg_attribute as a
            inner join pg_class as c on a.attrelid = c.oid
            inner join pg_namespace as n on c.relnamespace = n.oid
            where n.nspname = 'raw' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
            """
        )
    }
    (source,) = yaml.safe_load((ROOT / SOURCES_FILE).read_text(encoding="utf-8"))["sources"]
    declared = {}
    for table in source["tables"]:
        assert table.get("description"), f"raw.{table['name']} has no description"
        for column in table["columns"]:
            where = f"raw.{table['name']}.{column['name']}"
            assert column.get("description"), f"{where} has no description"
            declared[(table["name"], column["name"])] = _canonical_type(conn, column["data_type"])
    assert declared == in_database


def _canonical_type(conn: psycopg.Connection, name: str) -> str:
    return conn.execute("select %s::regtype::text", (name,)).fetchone()[0]


def test_staging_reads_only_declared_sources() -> None:
    (source,) = yaml.safe_load((ROOT / SOURCES_FILE).read_text(encoding="utf-8"))["sources"]
    tables = {table["name"] for table in source["tables"]}
    for sql in (ROOT / "models").rglob("*.sql"):
        text = sql.read_text(encoding="utf-8")
        for name in tables:
            text = text.replace(f"source('raw', '{name}')", "")
        assert "source('raw', '" not in text, f"{sql} reads a raw table the sources do not declare"
