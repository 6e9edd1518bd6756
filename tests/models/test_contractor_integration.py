"""Contractors end to end: loads, then dbt build, then what the CRM holds.

Each test gets a fresh database on the embedded server and runs the real dbt project
in-process against it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from conftest import EXAMPLES, query, scalar

from loaders.load import load_file

NS = "urn:crm7:contract:contractors:v1"


def contractors_file(path: Path, source_system: str, *records: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<contractors xmlns="{NS}" sourceSystem="{source_system}">\n'
        + "".join(records)
        + "</contractors>\n",
        encoding="utf-8",
    )
    return path


def contractor(
    record_id: str, name: str, nip: str | None = None, body: str = "", deleted: bool = False
) -> str:
    parts = [f"<sourceRecordId>{record_id}</sourceRecordId>"]
    if deleted:
        parts.append("<deleted>true</deleted>")
    parts.append(f"<name>{name}</name>")
    if nip is not None:
        parts.append(f"<nip>{nip}</nip>")
    return "  <contractor>" + "".join(parts) + body + "</contractor>\n"


def companies(conn: psycopg.Connection) -> dict[str, tuple]:
    rows = query(
        conn, "select nip, company_id::text, name, main_email, registered_city from crm.companies"
    )
    return {row[0]: row[1:] for row in rows}


def row_versions(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """xmin of each row: it changes exactly when a row is rewritten."""
    key = {"crm.companies": "company_id", "crm.company_links": "link_id"}[table]
    return dict(query(conn, f"select {key}::text, xmin::text from {table}"))


def test_demo_exports_merge_into_companies_links_and_review(conn, crm):
    load_file(conn, EXAMPLES / "crm_contractors.xml")
    assert crm()
    assert scalar(conn, "select count(*) from crm.companies") == 12
    first_ids = {nip: values[0] for nip, values in companies(conn).items()}

    for name in ("erp_contractors.xml", "erp_contractors_rejects.xml"):
        load_file(conn, EXAMPLES / name)
    assert crm()

    after = companies(conn)
    # 22 NIPs with a record free of review, plus the NIP of the two erp duplicates: both
    # stay linked to its company while the review decides which one to keep.
    assert len(after) == 23
    assert {nip: after[nip][0] for nip in first_ids} == first_ids, "company_id never changes"
    # 12 crm + 20 erp + 3 valid in the rejects file - 1 update of the same id - 4 in review
    assert scalar(conn, "select count(*) from crm.company_links where not is_in_review") == 30
    assert dict(query(conn, "select reason, count(*) from crm.contractor_review group by 1")) == {
        "missing_nip": 1,
        "invalid_nip": 1,
        "duplicate_nip_in_source": 2,
    }
    review = query(
        conn,
        "select source_record_id, file_name, source_line from crm.contractor_review where reason = 'missing_nip'",
    )
    assert review == [("KH/00110", "erp_contractors.xml", 229)]
    # Every company NIP passes its checksum; every loaded record is linked or in review.
    assert scalar(conn, "select count(*) from crm.companies where nip !~ '^[0-9]{10}$'") == 0
    unaccounted = scalar(
        conn,
        """
        select count(*) from (
            select distinct _source_system, source_record_id from raw.contractors
        ) as records
        where not exists (
            select 1 from crm.company_links as links
            where links.source_system = records._source_system
              and links.source_record_id = records.source_record_id and not links.is_in_review
        ) and not exists (
            select 1 from crm.contractor_review as review
            where review.source_system = records._source_system
              and review.source_record_id = records.source_record_id
        )
        """,
    )
    assert unaccounted == 0


def test_latest_value_wins_per_field_and_null_never_overwrites(conn, crm, tmp_path):
    first = contractors_file(
        tmp_path / "crm.xml",
        "crm",
        contractor(
            "C1",
            "Alfa Sp. z o.o.",
            "5261040828",
            '<address type="registered"><city>Warszawa</city></address><email>biuro@alfa.pl</email>',
        ),
    )
    load_file(conn, first)
    assert crm()
    company_id = companies(conn)["5261040828"][0]

    update = contractors_file(
        tmp_path / "erp.xml", "erp", contractor("E7", "ALFA SPÓŁKA Z O.O.", "PL 526-104-08-28")
    )
    load_file(conn, update)
    assert crm()
    assert companies(conn)["5261040828"] == (
        company_id,
        "ALFA SPÓŁKA Z O.O.",
        "biuro@alfa.pl",
        "Warszawa",
    )
    links = query(
        conn,
        "select source_system, source_record_id, company_id::text from crm.company_links order by 1",
    )
    assert links == [("crm", "C1", company_id), ("erp", "E7", company_id)]


def test_a_build_without_new_data_rewrites_nothing(conn, crm):
    load_file(conn, EXAMPLES / "crm_contractors.xml")
    load_file(conn, EXAMPLES / "erp_contractors.xml")
    assert crm()
    before = {table: row_versions(conn, table) for table in ("crm.companies", "crm.company_links")}
    conn.commit()

    again = load_file(conn, EXAMPLES / "erp_contractors.xml")
    assert again.status == "skipped"
    assert crm()
    after = {table: row_versions(conn, table) for table in ("crm.companies", "crm.company_links")}
    assert after == before


def test_a_change_rewrites_only_the_changed_company(conn, crm, tmp_path):
    records = [
        contractor(f"C{n}", f"Firma {n}", nip)
        for n, nip in enumerate(("5261040828", "7740001454", "5252248481", "1132191233"), start=1)
    ]
    load_file(conn, contractors_file(tmp_path / "v1.xml", "crm", *records))
    assert crm()
    before = row_versions(conn, "crm.companies")
    ids = {nip: values[0] for nip, values in companies(conn).items()}
    conn.commit()

    changed = [*records]
    changed[1] = contractor("C2", "Firma 2 po zmianie", "7740001454")
    load_file(conn, contractors_file(tmp_path / "v2.xml", "crm", *changed))
    assert crm()
    after = row_versions(conn, "crm.companies")
    rewritten = {company for company in after if after[company] != before[company]}
    assert rewritten == {ids["7740001454"]}
    assert companies(conn)["7740001454"][1] == "Firma 2 po zmianie"


def test_full_refresh_keeps_company_ids(conn, crm):
    load_file(conn, EXAMPLES / "crm_contractors.xml")
    load_file(conn, EXAMPLES / "erp_contractors.xml")
    assert crm()
    before = companies(conn)
    conn.commit()
    assert crm("build", "--full-refresh")
    assert companies(conn) == before


def test_a_source_record_whose_nip_changed_goes_to_review_and_keeps_its_link(conn, crm, tmp_path):
    load_file(
        conn, contractors_file(tmp_path / "a.xml", "erp", contractor("E1", "Beta", "5261040828"))
    )
    assert crm()
    original = companies(conn)["5261040828"][0]
    conn.commit()

    load_file(
        conn,
        contractors_file(
            tmp_path / "b.xml", "erp", contractor("E1", "Beta zmieniona", "7740001454")
        ),
    )
    assert crm()
    review = query(conn, "select source_record_id, reason, nip from crm.contractor_review")
    assert review == [("E1", "nip_changed", "7740001454")]
    assert query(
        conn, "select company_id::text from crm.company_links where source_record_id = 'E1'"
    ) == [(original,)]
    assert "7740001454" not in companies(conn), "no company is created from a record under review"
    assert companies(conn)["5261040828"][1] == "Beta", (
        "a record under review never updates its company"
    )


def test_two_source_records_with_one_nip_go_to_review_on_the_company_of_their_nip(
    conn, crm, tmp_path
):
    load_file(
        conn,
        contractors_file(
            tmp_path / "dup.xml",
            "erp",
            contractor("E1", "Gamma oddział 1", "5261040828"),
            contractor("E2", "Gamma oddział 2", "526-104-08-28"),
            contractor("E3", "Bez NIP"),
            contractor("E4", "Zły NIP", "5261040829"),
        ),
    )
    assert crm()
    # The NIP names one company whichever record is kept: it exists, both records stay
    # linked to it and in review until a person decides (the same at every build cadence).
    assert query(conn, "select nip from crm.companies") == [("5261040828",)]
    assert sorted(query(conn, "select source_record_id, is_in_review from crm.company_links")) == [
        ("E1", True),
        ("E2", True),
    ]
    assert sorted(query(conn, "select source_record_id, reason from crm.contractor_review")) == [
        ("E1", "duplicate_nip_in_source"),
        ("E2", "duplicate_nip_in_source"),
        ("E3", "missing_nip"),
        ("E4", "invalid_nip"),
    ]


def test_a_deleted_source_record_marks_its_link_not_the_company(conn, crm, tmp_path):
    load_file(
        conn, contractors_file(tmp_path / "a.xml", "erp", contractor("E1", "Delta", "5261040828"))
    )
    assert crm()
    conn.commit()
    load_file(
        conn,
        contractors_file(
            tmp_path / "b.xml", "erp", contractor("E1", "Delta", "5261040828", deleted=True)
        ),
    )
    assert crm()
    assert query(
        conn, "select is_deleted from crm.company_links where source_record_id = 'E1'"
    ) == [(True,)]
    assert "5261040828" in companies(conn)


def test_reconciliation_per_load(conn, crm):
    for name in ("crm_contractors.xml", "erp_contractors.xml", "erp_contractors_rejects.xml"):
        load_file(conn, EXAMPLES / name)
    assert crm()
    rows = query(
        conn,
        "select file_name, records_read, records_loaded, records_rejected from crm.load_reconciliation order by load_id",
    )
    assert rows == [
        ("crm_contractors.xml", 12, 12, 0),
        ("erp_contractors.xml", 20, 20, 0),
        ("erp_contractors_rejects.xml", 5, 3, 2),
    ]


def test_a_slow_load_overtaken_by_a_newer_one_is_still_built(
    database, conn, crm, tmp_path, monkeypatch
):
    from conftest import paused_load

    slow = contractors_file(tmp_path / "slow.xml", "erp", contractor("E1", "Slow", "5261040828"))
    fast = contractors_file(tmp_path / "fast.xml", "crm", contractor("C1", "Fast", "7740001454"))
    with paused_load(database, slow, monkeypatch):
        assert load_file(conn, fast).status == "loaded"
        conn.commit()
        assert crm()
        # The newer load waits for the older one still in flight: building it now would
        # move the watermark past the older load, whose rows would then never be read.
        assert companies(conn) == {}
    assert crm()
    assert set(companies(conn)) == {"5261040828", "7740001454"}
