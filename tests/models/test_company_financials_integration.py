"""Company financials end to end: credit use per company and period, review, audit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from conftest import EXAMPLES, query

from loaders.load import load_file

NS = "urn:crm7:contract:company_financials:v1"


def financials_file(path: Path, *rows: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<companyFinancials xmlns="{NS}" sourceSystem="erp">\n'
        + "".join(rows)
        + "</companyFinancials>\n",
        encoding="utf-8",
    )
    return path


def row(company: str, current: str, overdue: str, limit: str | None = None) -> str:
    limit_element = f"<creditLimit>{limit}</creditLimit>" if limit is not None else ""
    return (
        f"  <financials><company>{company}</company><periodStart>2026-10-01</periodStart>"
        f"<periodEnd>2026-10-31</periodEnd><receivablesCurrent>{current}</receivablesCurrent>"
        f"<receivablesOverdue>{overdue}</receivablesOverdue>{limit_element}</financials>\n"
    )


def test_example_financials_show_credit_use_and_list_companies_over_their_limit(conn, crm):
    for name in ("crm_contractors.xml", "erp_contractors.xml", "erp_company_financials.xml"):
        load_file(conn, EXAMPLES / name)
    assert crm(), "the over-limit check warns; the build goes on"

    assert query(
        conn,
        "select record_no, source_line from raw.rejects where file_name = 'erp_company_financials.xml'"
        " order by record_no",
    ) == [(5, 38), (6, 45)]
    rows = query(
        conn,
        "select companies.nip, financials.credit_use, financials.is_over_credit_limit"
        " from crm.company_financials as financials"
        " left join crm.companies as companies using (company_id)"
        " order by financials.record_no",
    )
    assert rows == [
        ("3110386752", Decimal("0.4500"), False),  # ERP id KH/00017 = the CRM's C-1001
        ("3000633221", Decimal("1.2500"), True),  # by NIP
        ("6731555218", None, False),  # no credit limit
        (None, Decimal("0.0600"), False),  # KH/09999: unknown, in review
    ]
    assert query(conn, "select receivables_total from audit.company_credit_use_over_limit") == [
        (Decimal("125000.00"),)
    ]
    assert query(
        conn,
        "select reason, company_source_record_id, source_line from crm.company_financials_review",
    ) == [("unknown_company", "KH/09999", 30)]


def test_a_later_file_replaces_a_company_period_and_a_conflict_is_not_resolved(conn, crm, tmp_path):
    load_file(
        conn,
        financials_file(
            tmp_path / "a.xml",
            row("<nip>5261040828</nip>", "100", "0", "1000"),
            row("<nip>5261040829</nip>", "1", "0"),
        ),
    )
    assert crm()
    assert sorted(query(conn, "select reason from crm.company_financials_review")) == [
        ("invalid_company_nip",),
        ("unknown_company",),
    ]
    conn.commit()

    load_file(
        conn,
        financials_file(tmp_path / "b.xml", row("<nip>526-104-08-28</nip>", "900", "300", "1000")),
    )
    assert crm()
    assert query(
        conn,
        "select receivables_total, credit_use, is_over_credit_limit from crm.company_financials"
        " where company_nip_raw in ('5261040828', '526-104-08-28')",
    ) == [(Decimal("1200"), Decimal("1.2000"), True)]
