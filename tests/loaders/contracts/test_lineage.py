"""The lineage columns and the registry tables: one definition, and the database agrees."""

from __future__ import annotations

from conftest import query

from loaders.contracts import LINEAGE_COLUMNS, REGISTRY_TABLES, all_contracts
from loaders.contracts.lineage import LoaderColumn, lineage_columns
from loaders.load.raw_schema import ensure_all_contract_tables


def _columns_in_database(conn, table: str) -> list[tuple[str, str, bool]]:
    return query(
        conn,
        "select attname, format_type(atttypid, atttypmod), attnotnull from pg_attribute "
        "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
        f"raw.{table}",
    )


def _as_defined(conn, columns: tuple[LoaderColumn, ...]) -> list[tuple[str, str, bool]]:
    primary_key = {column.name for column in columns if "primary key" in column.constraint}
    return [
        (
            column.name,
            query(conn, "select %s::regtype::text", column.sql_type)[0][0],
            column.not_null or column.name in primary_key,
        )
        for column in columns
    ]


def test_every_raw_table_starts_with_its_lineage_columns_as_defined(conn):
    ensure_all_contract_tables(conn)
    for contract in all_contracts().values():
        for table in contract.tables:
            lineage = lineage_columns(table.is_record)
            found = _columns_in_database(conn, table.name)
            assert found[: len(lineage)] == _as_defined(conn, lineage), table.name
            assert table.copied_lineage == tuple(
                column.name for column in lineage if column.written_by == "loader"
            )


def test_record_and_child_tables_carry_their_own_lineage():
    record = [column.name for column in lineage_columns(is_record=True)]
    child = [column.name for column in lineage_columns(is_record=False)]
    nil = ["_nil_fields", "_is_nil"]
    assert record == [
        "_load_id",
        "_record_no",
        "_source_line",
        "_source_system",
        *nil,
        "_loaded_at",
    ]
    assert child == ["_load_id", "_record_no", "_source_line", "_position", *nil, "_loaded_at"]
    assert {column.name for column in LINEAGE_COLUMNS} == set(record) | set(child)
    assert all(column.description for column in LINEAGE_COLUMNS)


def test_the_registry_tables_are_as_defined(conn):
    ensure_all_contract_tables(conn)
    for table in REGISTRY_TABLES:
        assert _columns_in_database(conn, table.name) == _as_defined(conn, table.columns)
        assert all(column.description for column in table.columns)
        comment = query(
            conn, "select obj_description(%s::regclass, 'pg_class')", f"raw.{table.name}"
        )
        assert comment == [(table.description,)]
