"""The ``raw`` schema the loader owns: the loads registry, rejects, and one table per
contract table. Created and widened on demand, never narrowed.

What the tables hold is defined elsewhere, once: the contracts' columns by their XSDs
(loaders.contracts.model), the lineage columns and the registry by
loaders.contracts.lineage. This module only writes the DDL.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from loaders.contracts import Contract, Table
from loaders.contracts.lineage import LOAD_STATUSES, LOADS, REGISTRY_TABLES

RAW_SCHEMA = "raw"

# Finding a file's earlier loads by its content (the same file loaded twice is skipped).
REGISTRY_INDEXES = {
    "loads": ("create index if not exists loads_sha256_idx on raw.loads (file_sha256)",),
}


def registry_ddl() -> str:
    """The schema, raw.loads and raw.rejects (as loaders.contracts.lineage defines them)."""
    statements = [f"create schema if not exists {RAW_SCHEMA}"]
    for table in REGISTRY_TABLES:
        definitions = [column.definition() for column in table.columns]
        definitions += table.constraints
        body = ",\n    ".join(definitions)
        statements.append(f"create table if not exists {RAW_SCHEMA}.{table.name} (\n    {body}\n)")
        statements += REGISTRY_INDEXES.get(table.name, ())
        comment = table.description.replace("'", "''")
        statements.append(f"comment on table {RAW_SCHEMA}.{table.name} is '{comment}'")
    return ";\n".join(statements) + ";\n"


REGISTRY_DDL = registry_ddl()


def ensure_registry(conn: psycopg.Connection) -> None:
    # Serialise DDL between concurrent loaders: CREATE ... IF NOT EXISTS races otherwise.
    conn.execute("select pg_advisory_xact_lock(hashtext('crm7.raw.ddl'))")
    conn.execute(REGISTRY_DDL)
    _widen_registry(conn)


def _widen_registry(conn: psycopg.Connection) -> None:
    """Bring registry tables made by an older crm7 up to their definition.

    Missing columns are added (raw.loads.duplicate_of_load_id), and the status check of
    raw.loads is replaced when it lacks a status (skipped). One catalog query when
    nothing is to do: this runs before every load and every dbt command.
    """
    found = conn.execute(
        """
        select
            cls.relname,
            array_agg(att.attname::text order by att.attnum),
            (
                select pg_get_constraintdef(con.oid) from pg_constraint as con
                where con.conrelid = cls.oid and con.conname = 'loads_status_check'
            )
        from pg_class as cls
        inner join pg_namespace as nsp on cls.relnamespace = nsp.oid
        inner join pg_attribute as att on att.attrelid = cls.oid
        where nsp.nspname = %s and att.attnum > 0 and not att.attisdropped
        group by cls.oid, cls.relname
        """,
        (RAW_SCHEMA,),
    ).fetchall()
    existing = {name: (set(columns), check) for name, columns, check in found}
    for table in REGISTRY_TABLES:
        columns, check = existing.get(table.name, (set(), None))
        for column in table.columns:
            if column.name not in columns:
                conn.execute(
                    f"alter table {RAW_SCHEMA}.{table.name} add column if not exists "
                    f"{column.definition()}"
                )
        if table is LOADS and not all(f"'{status}'" in (check or "") for status in LOAD_STATUSES):
            status = next(column for column in LOADS.columns if column.name == "status")
            conn.execute(
                f"alter table {RAW_SCHEMA}.loads drop constraint if exists loads_status_check, "
                f"add {status.constraint}"
            )


def table_ddl(table: Table) -> list[sql.Composed]:
    """CREATE TABLE and ADD COLUMN statements that bring one raw table up to its contract."""
    ident = sql.Identifier(RAW_SCHEMA, table.name)
    meta = [sql.SQL(column.definition()) for column in table.lineage]
    statements = [
        sql.SQL("create table if not exists {} ({})").format(ident, sql.SQL(", ").join(meta))
    ]
    # A table made by an older crm7 lacks the lineage columns added since (_nil_fields,
    # _is_nil); their defaults are constants, so PostgreSQL adds them without a rewrite.
    for column in table.lineage:
        statements.append(
            sql.SQL("alter table {} add column if not exists {}").format(
                ident, sql.SQL(column.definition())
            )
        )
    for column in table.columns:
        statements.append(
            sql.SQL("alter table {} add column if not exists {} {}").format(
                ident, sql.Identifier(column.name), sql.SQL(column.pg_type)
            )
        )
    # BRIN: load ids only grow, so a tiny, almost free index finds a load's rows; a btree
    # would be maintained on every COPYed row. Consumers filter by load, then hash-join.
    statements.append(
        sql.SQL("create index if not exists {} on {} using brin (_load_id)").format(
            sql.Identifier(f"{table.name}_load_brin"), ident
        )
    )
    if table.documentation:
        statements.append(
            sql.SQL("comment on table {} is {}").format(ident, sql.Literal(table.documentation))
        )
    for column in table.columns:
        if column.documentation:
            statements.append(
                sql.SQL("comment on column {}.{} is {}").format(
                    ident, sql.Identifier(column.name), sql.Literal(column.documentation)
                )
            )
    return statements


def ensure_contract_tables(conn: psycopg.Connection, contract: Contract) -> None:
    """Create or widen the contract's raw tables, in a short transaction of its own.

    Only missing tables and columns are touched: ALTER TABLE locks the table exclusively
    until commit, which would serialise concurrent loads for their whole length.
    """
    _ensure_tables(conn, contract.tables)


def ensure_all_contract_tables(conn: psycopg.Connection) -> None:
    """Create the registry and every known contract's raw tables (empty if never loaded).

    dbt's staging views select from every raw table, so a build must find them all even
    when only some contracts have been loaded yet. One transaction and one catalog
    query for all of them: this runs before every dbt command.
    """
    from loaders.contracts import all_contracts

    tables = [table for contract in all_contracts().values() for table in contract.tables]
    _ensure_tables(conn, tables)


def _ensure_tables(conn: psycopg.Connection, tables: list[Table]) -> None:
    with conn.transaction():
        ensure_registry(conn)
        existing = {
            (table, column)
            for table, column in conn.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = %s",
                (RAW_SCHEMA,),
            )
        }
        for table in tables:
            wanted = {(table.name, column.name) for column in (*table.lineage, *table.columns)}
            if (table.name, "_load_id") in existing and wanted <= existing:
                continue
            for statement in table_ddl(table):
                conn.execute(statement)
