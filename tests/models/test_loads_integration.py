"""crm.load_reconciliation end to end: files of several contracts loaded and built at
several moments, every record of every load accounted for.

Each test gets a fresh database on the embedded server, loads files with the real loader
and runs the real dbt project in-process against it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from conftest import EXAMPLES, FIXTURES, query, scalar

from loaders.load import load_file

NS = "urn:crm7:contract:contractors:v1"
COUNTS = (
    "file_name, status, records_read, records_rejected, records_current, records_superseded, "
    "records_deleted, records_not_yet_built, records_in_review"
)


def reconciliation(conn: psycopg.Connection) -> list[tuple]:
    return query(conn, f"select {COUNTS} from crm.load_reconciliation order by load_id")


def contractors_file(path: Path, *records: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<contractors xmlns="{NS}" sourceSystem="crm">\n'
        + "".join(records)
        + "</contractors>\n",
        encoding="utf-8",
    )
    return path


def record_skipped_resend(conn: psycopg.Connection, path: Path, earlier_load_id: int) -> None:
    """The raw.loads row of a skipped re-send, as the loader writes it (status 'skipped',
    duplicate_of_load_id): written here only while this loader version does not."""
    if scalar(conn, "select count(*) from raw.loads where status = 'skipped'"):
        return
    conn.execute("alter table raw.loads add column if not exists duplicate_of_load_id bigint")
    conn.execute("alter table raw.loads drop constraint if exists loads_status_check")
    conn.execute(
        "alter table raw.loads add constraint loads_status_check"
        " check (status in ('running', 'loaded', 'failed', 'skipped'))"
    )
    conn.execute(
        """
        insert into raw.loads (
            file_name, file_path, file_sha256, file_size_bytes, source_system, contract,
            contract_version, contract_namespace, status, started_at, finished_at,
            records_read, records_loaded, records_rejected, duplicate_of_load_id
        )
        select
            file_name, %s, file_sha256, file_size_bytes, source_system, contract,
            contract_version, contract_namespace, 'skipped', now(), now(), 0, 0, 0, load_id
        from raw.loads where load_id = %s
        """,
        (str(path), earlier_load_id),
    )
    conn.commit()


def test_every_record_of_every_load_is_counted_once(conn, crm, tmp_path):
    for name in (
        "crm_contractors.xml",
        "erp_contractors.xml",
        "erp_contractors_rejects.xml",
        "erp_dictionaries.xml",
        "erp_products.xml",
        "erp_invoices.xml",
        "calendar_events.xml",
        "erp_company_financials.xml",
    ):
        assert load_file(conn, EXAMPLES / name).status == "loaded"
    assert load_file(conn, FIXTURES / "contractors-broken_at_line_7.xml").status == "failed"
    conn.commit()
    assert crm()

    # A changed re-send of invoices (2 replaced, 1 deleted), the same contractors file sent
    # again on purpose (--force: every record repeated), both built.
    assert load_file(conn, EXAMPLES / "erp_invoices_resend.xml").status == "loaded"
    assert load_file(conn, EXAMPLES / "crm_contractors.xml", force=True).status == "loaded"
    conn.commit()
    assert crm()

    # The same file once more (same sha256): skipped, naming the load it repeats.
    skipped = load_file(conn, EXAMPLES / "crm_contractors.xml")
    assert (skipped.status, skipped.previous_load_id) == ("skipped", 11)
    record_skipped_resend(conn, EXAMPLES / "crm_contractors.xml", earlier_load_id=11)
    # A contractors file loaded after the last build: one new record, one new version.
    changed = scalar(
        conn, "select source_record_id from raw.contractors where _load_id = 1 order by 1 limit 1"
    )
    late = contractors_file(
        tmp_path / "late.xml",
        f"  <contractor><sourceRecordId>{changed}</sourceRecordId><name>Renamed</name>"
        "<nip>5261040828</nip></contractor>\n",
        "  <contractor><sourceRecordId>NEW-1</sourceRecordId><name>New</name></contractor>\n",
    )
    assert load_file(conn, late).status == "loaded"
    conn.commit()

    # read = rejected + current + superseded + deleted + not yet built; in review of current.
    assert reconciliation(conn) == [
        ("crm_contractors.xml", "loaded", 12, 0, 0, 12, 0, 0, 0),
        ("erp_contractors.xml", "loaded", 20, 0, 19, 1, 0, 0, 4),
        ("erp_contractors_rejects.xml", "loaded", 5, 2, 3, 0, 0, 0, 0),
        ("erp_dictionaries.xml", "loaded", 16, 0, 16, 0, 0, 0, 1),
        ("erp_products.xml", "loaded", 7, 1, 6, 0, 0, 0, 1),
        ("erp_invoices.xml", "loaded", 21, 2, 17, 2, 0, 0, 6),
        ("calendar_events.xml", "loaded", 12, 3, 8, 1, 0, 0, 3),
        ("erp_company_financials.xml", "loaded", 6, 2, 4, 0, 0, 0, 1),
        ("contractors-broken_at_line_7.xml", "failed", 0, 0, 0, 0, 0, 0, 0),
        ("erp_invoices_resend.xml", "loaded", 3, 0, 2, 0, 1, 0, 0),
        ("crm_contractors.xml", "loaded", 12, 0, 12, 0, 0, 0, 0),
        ("crm_contractors.xml", "skipped", 0, 0, 0, 0, 0, 0, 0),
        ("late.xml", "loaded", 2, 0, 0, 0, 0, 2, 0),
    ]
    conn.commit()  # end the reading transaction: the build replaces the views it read
    # The rule holds on every row, as the data test checks.
    assert crm("test", "--select", "load_reconciliation")

    # Built: the late file's records become a new version and a new record.
    assert crm()
    rows = {row[0]: row for row in reconciliation(conn) if row[1] == "loaded"}
    assert rows["late.xml"][4:8] == (2, 0, 0, 0)
    assert query(
        conn,
        "select records_current, records_superseded from crm.load_reconciliation where load_id = 11",
    ) == [(11, 1)]
    # stg_raw__loads reads duplicate_of_load_id once raw.loads has it (from this build on).
    assert query(
        conn,
        "select status, is_built, duplicate_of_load_id from crm.load_reconciliation"
        " where file_name = 'crm_contractors.xml' order by load_id",
    ) == [("loaded", True, None), ("loaded", True, None), ("skipped", False, 11)]
