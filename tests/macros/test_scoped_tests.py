"""Data tests on the big incremental models check the rows written since the last
all-green build (macros/testing/scoped_tests.sql): a bad row written after it is still caught,
a failing build keeps the watermark, and --full-refresh tests everything again."""

from __future__ import annotations

import json

import psycopg
from conftest import EXAMPLES, query, scalar

from loaders.load import load_file

# Staging views over raw tables: watermark = the last load that ended.
SCOPED_RAW_VIEWS = {
    "stg_raw__contractors",
    "stg_raw__contractor_addresses",
    "stg_raw__contractor_phones",
    "stg_raw__contractor_emails",
    "stg_raw__warehouse_documents",
    "stg_raw__warehouse_document_lines",
    "stg_raw__invoices",
    "stg_raw__invoice_lines",
    "stg_raw__invoice_vat_totals",
    "stg_raw__invoice_payments",
}
# Incremental tables: watermark = the highest load id stamped on their rows.
SCOPED_CONTRACTOR_TABLES = {
    "int_contractors_deduplicated",
    "int_contractors_matched",
    "companies",
    "company_links",
}
SCOPED_WAREHOUSE_TABLES = {
    "int_warehouse_documents_deduplicated",
    "warehouse_documents",
    "warehouse_document_lines",
}
SCOPED_INVOICE_TABLES = {
    "int_invoices_deduplicated",
    "invoices",
    "invoice_lines",
    "invoice_payments",
}
# The latest built version of every key, for load_reconciliation: rows of every contract.
SCOPED_LOAD_TABLES = {"int_loaded_records_deduplicated"}
SCOPED_MODELS = (
    SCOPED_RAW_VIEWS
    | SCOPED_CONTRACTOR_TABLES
    | SCOPED_WAREHOUSE_TABLES
    | SCOPED_INVOICE_TABLES
    | SCOPED_LOAD_TABLES
)


def watermarks(conn: psycopg.Connection) -> dict[str, int]:
    return dict(query(conn, "select model_name, tested_load_id from audit.crm7_build_state"))


def failing_tests(conn: psycopg.Connection) -> set[str]:
    """audit tables that hold rows: the failures of the latest build's tests."""
    names = [
        name
        for (name,) in query(
            conn,
            "select table_name from information_schema.tables where table_schema = 'audit' "
            "and table_name <> 'crm7_build_state'",
        )
    ]
    return {name for name in names if scalar(conn, f'select count(*) from audit."{name}"')}


def test_an_all_green_build_moves_the_watermark_to_its_load(conn, crm):
    load = load_file(conn, EXAMPLES / "crm_contractors.xml")
    assert crm()
    assert watermarks(conn) == {
        **dict.fromkeys(
            SCOPED_RAW_VIEWS | SCOPED_CONTRACTOR_TABLES | SCOPED_LOAD_TABLES, load.load_id
        ),
        # No warehouse document or invoice loaded yet: their (empty) tables stay at 0.
        **dict.fromkeys(SCOPED_WAREHOUSE_TABLES | SCOPED_INVOICE_TABLES, 0),
    }


def test_a_bad_row_written_after_the_watermark_is_caught_and_keeps_it(conn, crm):
    load_file(conn, EXAMPLES / "crm_contractors.xml")
    assert crm()
    before = watermarks(conn)
    # A company row rewritten by a later build with a NIP failing its checksum, and a
    # link that left review without a company decision: both above the watermark.
    conn.execute(
        "update crm.companies set nip = '1234567890', updated_load_id = 99 "
        "where nip = (select min(nip) from crm.companies)"
    )
    conn.execute(
        "update crm.company_links set is_in_review = true, last_load_id = 99 "
        "where link_id = (select min(link_id) from crm.company_links)"
    )
    conn.commit()

    assert not crm()

    failures = failing_tests(conn)
    assert "valid_nip_companies_nip" in failures
    assert "assert_every_source_record_linked_or_in_review" in failures
    assert watermarks(conn) == before, "a failing build does not move the watermark"


def test_full_refresh_tests_every_row_again(conn, crm):
    load_file(conn, EXAMPLES / "crm_contractors.xml")
    assert crm()
    # Below the watermark: not re-tested by an incremental build...
    conn.execute(
        "update crm.companies set nip = '1234567890' "
        "where nip = (select min(nip) from crm.companies)"
    )
    conn.commit()
    assert crm()
    # ...but a full refresh forgets the watermark and rebuilds from the raw rows.
    assert crm("build", "--full-refresh")
    assert scalar(conn, "select count(*) from crm.companies where nip = '1234567890'") == 0
    assert set(watermarks(conn)) == SCOPED_MODELS


# What the hand-written crm7_scoped_models() list held before each scoped model
# stated its load-id column in its own meta and its keys in its constraints.
SCOPED_BEFORE = {
    "int_contractors_deduplicated": ("last_load_id", False, [["contractor_key"]]),
    "int_contractors_matched": ("matched_load_id", False, [["contractor_key"]]),
    "companies": ("updated_load_id", False, [["company_id"], ["nip"]]),
    "company_links": (
        "last_load_id",
        False,
        [["link_id"], ["source_system", "source_record_id"]],
    ),
    "int_warehouse_documents_deduplicated": ("deduplicated_load_id", False, [["document_key"]]),
    "warehouse_documents": ("updated_load_id", False, [["document_key"]]),
    "warehouse_document_lines": ("document_load_id", False, [["line_id"]]),
    "int_invoices_deduplicated": ("deduplicated_load_id", False, [["invoice_key"]]),
    "invoices": ("updated_load_id", False, [["invoice_key"]]),
    "invoice_lines": ("invoice_load_id", False, [["line_id"]]),
    "invoice_payments": ("invoice_load_id", False, [["payment_id"]]),
    "stg_raw__invoices": ("load_id", True, [["invoice_record_id"]]),
    "stg_raw__invoice_lines": ("load_id", True, [["load_id", "record_no", "line_no"]]),
    "stg_raw__invoice_vat_totals": ("load_id", True, [["load_id", "record_no", "vat_total_no"]]),
    "stg_raw__invoice_payments": ("load_id", True, [["load_id", "record_no", "payment_no"]]),
    "stg_raw__warehouse_documents": ("load_id", True, [["document_record_id"]]),
    "stg_raw__warehouse_document_lines": ("load_id", True, [["load_id", "record_no", "line_no"]]),
    "stg_raw__contractors": ("load_id", True, [["contractor_record_id"]]),
    "stg_raw__contractor_addresses": (
        "load_id",
        True,
        [["load_id", "record_no", "address_position"]],
    ),
    "stg_raw__contractor_phones": ("load_id", True, [["load_id", "record_no", "phone_position"]]),
    "stg_raw__contractor_emails": ("load_id", True, [["load_id", "record_no", "email_position"]]),
    # Scoped from the start (issue 11), by its meta and its constraint like the rest.
    "int_loaded_records_deduplicated": ("load_id", False, [["contract", "source_key"]]),
}


def test_scoped_models_are_read_from_meta_and_constraints(pg_server, tmp_path):
    """crm7_scoped_models() finds, from each model's meta and constraints, the same 22
    models, load-id columns and unique keys the central list named, and the one added since."""
    from loaders.dbt import run_dbt

    target = str(tmp_path)
    inline = "{{ tojson(crm7_scoped_models()) }}"
    result = run_dbt(
        ["compile", "--inline", inline, "--target-path", target, "--log-path", target, "--quiet"],
        pg_server,
    )
    assert result.success, result.exception
    scoped = json.loads(result.result.results[0].node.compiled_code)
    found = {
        name: (entry["load_id_column"], entry["raw"], sorted(entry["unique_keys"]))
        for name, entry in scoped.items()
    }
    assert found == {
        name: (column, raw, sorted(keys)) for name, (column, raw, keys) in SCOPED_BEFORE.items()
    }
    assert set(found) == SCOPED_MODELS
