"""The raw schema of a database made by an older crm7 is widened, never narrowed."""

from __future__ import annotations

import shutil

from conftest import FIXTURES, query, scalar

from loaders.load import load_file
from loaders.load.raw_schema import ensure_all_contract_tables

# raw.loads and raw.contractors as crm7 created them before contract 1.1: no
# duplicate_of_load_id, no 'skipped' status, no _nil_fields / _is_nil, no fax_e164.
OLD_RAW_SCHEMA = """
create schema raw;
create table raw.loads (
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
create table raw.contractors (
    _load_id bigint not null,
    _record_no bigint not null,
    _source_line integer,
    _source_system text not null,
    _loaded_at timestamptz not null default now(),
    source_record_id text,
    name text,
    fax text
);
insert into raw.loads (
    file_name, file_path, file_sha256, file_size_bytes, source_system, contract, status,
    started_at, finished_at, records_read, records_loaded
) values ('old.xml', '/old.xml', 'abc', 1, 'erp', 'contractors', 'loaded', now(), now(), 1, 1);
insert into raw.contractors (_load_id, _record_no, _source_system, source_record_id, name, fax)
values (1, 1, 'erp', 'K0', 'Old', '22 654 32 10');
"""


def _columns(conn, table: str) -> dict[str, tuple]:
    return {
        name: (data_type, nullable, default)
        for name, data_type, nullable, default in query(
            conn,
            "select column_name, data_type, is_nullable, column_default "
            "from information_schema.columns where table_schema = 'raw' and table_name = %s",
            table,
        )
    }


def test_an_older_database_gets_the_new_columns_and_statuses(conn, tmp_path):
    conn.execute(OLD_RAW_SCHEMA)
    conn.commit()

    first = load_file(conn, FIXTURES / "contractors-3_valid.xml")
    assert first.status == "loaded" and first.records_loaded == 3

    loads = _columns(conn, "loads")
    assert loads["duplicate_of_load_id"] == ("bigint", "YES", None)
    contractors = _columns(conn, "contractors")
    assert contractors["_nil_fields"][:2] == ("ARRAY", "NO")
    assert contractors["_is_nil"][:2] == ("boolean", "NO")
    assert {"fax_e164", "fax_extension", "nip", "www"} <= set(contractors)
    # Rows from before: no nil news, and their derived columns are unknown (NULL).
    assert query(
        conn,
        "select _nil_fields, _is_nil, fax_e164 from raw.contractors where source_record_id = 'K0'",
    ) == [([], False, None)]
    assert query(conn, "select distinct _nil_fields, _is_nil from raw.contractor_phones") == [
        ([], False)
    ]

    # The status check now accepts a skipped re-send.
    copy = tmp_path / "again.xml"
    shutil.copy(FIXTURES / "contractors-3_valid.xml", copy)
    again = load_file(conn, copy)
    assert again.status == "skipped"
    assert query(
        conn, "select status, duplicate_of_load_id from raw.loads where load_id = %s", again.load_id
    ) == [("skipped", first.load_id)]
    check = scalar(
        conn,
        "select pg_get_constraintdef(oid) from pg_constraint where conname = 'loads_status_check'",
    )
    assert all(f"'{status}'" in check for status in ("running", "loaded", "failed", "skipped"))


def test_widening_twice_changes_nothing(conn):
    conn.execute(OLD_RAW_SCHEMA)
    conn.commit()
    ensure_all_contract_tables(conn)
    before = {table: _columns(conn, table) for table in ("loads", "contractors")}
    constraints = query(conn, "select conname, oid from pg_constraint order by 1")
    ensure_all_contract_tables(conn)
    assert {table: _columns(conn, table) for table in before} == before
    assert query(conn, "select conname, oid from pg_constraint order by 1") == constraints
