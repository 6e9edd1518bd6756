"""The ``raw`` schema the loader owns: the loads registry, rejects, and one table per
contract table. Created and widened on demand, never narrowed."""

from __future__ import annotations

import psycopg
from psycopg import sql

from loaders.contracts import Contract, Table

RAW_SCHEMA = "raw"

REGISTRY_DDL = """
create schema if not exists raw;

create table if not exists raw.loads (
    load_id bigint generated always as identity primary key,
    file_name text not null,
    file_path text not null,
    file_sha256 text not null,
    file_size_bytes bigint not null,
    source_system text,
    contract text,
    contract_version text,
    contract_namespace text,
    status text not null check (status in ('running', 'loaded', 'failed')),
    forced boolean not null default false,
    started_at timestamptz not null,
    finished_at timestamptz,
    records_read bigint not null default 0,
    records_loaded bigint not null default 0,
    records_rejected bigint not null default 0,
    error_message text,
    error_line integer,
    error_column integer,
    constraint loads_records_reconcile check (records_read = records_loaded + records_rejected)
);
create index if not exists loads_sha256_idx on raw.loads (file_sha256);
comment on table raw.loads is
    'One row per crm7 load of one file: what was read, loaded and rejected. '
    'records_read = records_loaded + records_rejected, always.';

create table if not exists raw.rejects (
    load_id bigint not null references raw.loads (load_id),
    record_no bigint not null,
    file_name text not null,
    source_line integer,
    path text,
    reason text not null,
    record_xml text,
    _loaded_at timestamptz not null default now(),
    primary key (load_id, record_no)
);
comment on table raw.rejects is
    'Records that failed their contract: file, line, element path, reason and the record XML.';
"""


def ensure_registry(conn: psycopg.Connection) -> None:
    # Serialise DDL between concurrent loaders: CREATE ... IF NOT EXISTS races otherwise.
    conn.execute("select pg_advisory_xact_lock(hashtext('crm7.raw.ddl'))")
    conn.execute(REGISTRY_DDL)


def table_ddl(table: Table) -> list[sql.Composed]:
    """CREATE TABLE and ADD COLUMN statements that bring one raw table up to its contract."""
    ident = sql.Identifier(RAW_SCHEMA, table.name)
    meta = [
        sql.SQL("_load_id bigint not null"),  # no FK: a per-row check halves COPY speed
        sql.SQL("_record_no bigint not null"),
        sql.SQL("_source_line integer"),
    ]
    if table.is_record:
        meta.append(sql.SQL("_source_system text not null"))
    else:
        meta.append(sql.SQL("_position integer not null"))
    meta.append(sql.SQL("_loaded_at timestamptz not null default now()"))
    statements = [
        sql.SQL("create table if not exists {} ({})").format(ident, sql.SQL(", ").join(meta))
    ]
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
            wanted = {(table.name, column.name) for column in table.columns}
            if (table.name, "_load_id") in existing and wanted <= existing:
                continue
            for statement in table_ddl(table):
                conn.execute(statement)
