"""Invoices, their corrections and payments, receivables and the financials check, end to end.

Each test gets a fresh database on the embedded server, loads files with the real loader
and runs the real dbt project in-process against it, with a fixed as_of_date.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from conftest import EXAMPLES, query, scalar

from loaders.load import load_file

AS_OF = ("--vars", "{as_of_date: 2026-11-30}")
REFERENCES = (
    "crm_contractors.xml",
    "erp_contractors.xml",
    "erp_dictionaries.xml",
    "erp_products.xml",
)
SELLER = "<seller><nip>5271234563</nip><name>Hurtownia Przykład Sp. z o.o.</name></seller>"


def invoices_file(path: Path, *records: str, source_system: str = "erp") -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<invoices xmlns="urn:crm7:contract:invoices:v1" sourceSystem="{source_system}">\n'
        + "".join(records)
        + "</invoices>\n",
        encoding="utf-8",
    )
    return path


def invoice(
    record_id: str,
    gross: str,
    *,
    kind: str = "VAT",
    issued: str = "2026-10-01",
    due: str = "2026-10-15",
    buyer: str = "<sourceId>KH/00017</sourceId>",
    corrects: str = "",
    currency: str = "",
    payments: tuple[tuple[str, str], ...] = (),
    deleted: bool = False,
) -> str:
    """An invoice with one 23% line whose gross is ``gross`` (net and VAT derived)."""
    gross_amount = Decimal(gross)
    net = (gross_amount / Decimal("1.23")).quantize(Decimal("0.01"))
    vat = gross_amount - net
    return (
        f"<invoice><sourceRecordId>{record_id}</sourceRecordId>"
        + ("<deleted>true</deleted>" if deleted else "")
        + f"<number>N/{record_id}</number><kind>{kind}</kind><issueDate>{issued}</issueDate>"
        + (f"<correctedInvoiceId>{corrects}</correctedInvoiceId>" if corrects else "")
        + f"{SELLER}<buyer>{buyer}<name>Nabywca</name></buyer>{currency}"
        + f"<dueDate>{due}</dueDate><totalGross>{gross}</totalGross>"
        + f"<line><name>Towar</name><net>{net}</net><vatRate>23</vatRate><vat>{vat}</vat>"
        + f"<gross>{gross}</gross></line>"
        + "".join(f"<payment><date>{d}</date><amount>{a}</amount></payment>" for d, a in payments)
        + "</invoice>\n"
    )


def load(conn, *paths: Path) -> None:
    for path in paths:
        load_file(conn, path)
    conn.commit()


def by_id(conn, columns: str) -> dict[str, tuple]:
    rows = query(conn, f"select source_record_id, {columns} from crm.invoices")
    return {row[0]: row[1:] for row in rows}


def company_of(conn, nip: str) -> str:
    return scalar(conn, "select company_id::text from crm.companies where nip = %s", nip)


def test_example_invoices_end_to_end(conn, crm):
    load(conn, *(EXAMPLES / name for name in (*REFERENCES, "erp_company_financials.xml")))
    load(conn, EXAMPLES / "erp_invoices.xml")
    assert crm("build", *AS_OF)

    # Every record is accounted for: 19 in crm.invoices, 2 rejected with file, line, field.
    assert query(
        conn,
        "select records_read, records_loaded, records_rejected from raw.loads "
        "where contract = 'invoices'",
    ) == [(21, 19, 2)]
    assert scalar(conn, "select count(*) from crm.invoices") == 19
    rejects = query(conn, "select file_name, source_line, reason from raw.rejects order by 2")
    invoice_rejects = [r for r in rejects if r[0] == "erp_invoices.xml"]
    assert [(r[1], "currency" in r[2] or "'gross'" in r[2]) for r in invoice_rejects] == [
        (496, True),
        (507, True),
    ]

    # Counterparties: by id, by NIP, none to go by, unknown.
    statuses = by_id(conn, "counterparty_status")
    assert statuses["F-1001"] == ("linked_by_id",)
    assert statuses["F-1002"] == ("linked_by_nip",)
    assert statuses["F-1004"] == ("not_identified",), "a consumer without NIP"
    assert statuses["F-1005"] == ("not_identified",), "a German buyer: EU VAT number only"
    assert statuses["F-1016"] == ("unresolved",)
    assert statuses["Z-2001"] == ("linked_by_nip",), "purchase: the seller is the counterparty"

    # Foreign currency: amounts in EUR and in PLN at the invoice's rate.
    assert by_id(conn, "currency, exchange_rate, total_gross, total_gross_pln")["F-1002"] == (
        "EUR",
        Decimal("4.2817"),
        Decimal("1426.80"),
        Decimal("6109.13"),
    )

    # A correction of a correction: both end at the original, which shows the state after.
    chains = by_id(conn, "correction_depth, correction_chain_status, original_invoice_key")
    original = scalar(
        conn, "select invoice_key from crm.invoices where source_record_id = 'F-1003'"
    )
    assert chains["F-1003-K1"] == (1, "ok", original)
    assert chains["F-1003-K2"] == (2, "ok", original)
    assert by_id(conn, "correction_count, gross_after_corrections, outstanding_amount")[
        "F-1003"
    ] == (2, Decimal("3075.00"), Decimal("3075.00"))

    # Partial payments, a flagged overpayment, a pro forma.
    payments = by_id(conn, "paid_after_corrections, outstanding_amount, payment_status")
    assert payments["F-1006"] == (Decimal("1500.00"), Decimal("1575.00"), "partially_paid")
    assert payments["F-1007"] == (Decimal("150.00"), Decimal("-20.62"), "overpaid")
    assert payments["F-1015"][2] == "pro_forma"

    # The review queue names every invoice and line that needs a person.
    assert set(query(conn, "select record_ref, reason, code from crm.invoice_review")) == {
        ("F-1004", "counterparty_not_identified", "Jan Kowalski"),
        ("F-1005", "counterparty_not_identified", "DE811907980"),
        ("F-1012", "corrected_invoice_unknown", "F-0999"),
        ("F-1013", "correction_without_reference", None),
        ("F-1014", "missing_exchange_rate", "USD"),
        ("F-1016", "unresolved_counterparty", "5261010106"),
        ("F-1016:1", "unknown_vat_rate", "VAT77"),
        ("F-1016:1", "unresolved_product", "T-999"),
    }
    assert query(
        conn, "select file_name, source_line from crm.invoice_review where record_ref = 'F-1014'"
    ) == [("erp_invoices.xml", 397)]

    # Every check names its invoices in audit.
    def audit(table: str) -> list[str]:
        rows = query(
            conn,
            f"select i.source_record_id from audit.{table} a "
            "join crm.invoices i using (invoice_key) order by 1",
        )
        return [row[0] for row in rows]

    assert audit("invoice_due_date_not_before_issue_date") == ["F-1011"]
    assert audit("invoice_correction_chain_ends_at_an_original") == ["F-1012", "F-1013"]
    assert audit("invoice_payments_within_gross_unless_overpayment") == ["F-1008"]
    assert audit("invoice_line_gross_is_net_plus_vat") == ["F-1009"]
    assert audit("invoice_totals_match_lines") == ["F-1009", "F-1010"]
    assert audit("invoice_vat_totals_match_lines") == []

    # Receivables of KH/00017 (C-1001) on 30 November: F-1001 is 46 days overdue, F-1009
    # and F-1010 are not due; the pro forma counts for nothing.
    ageing = query(
        conn,
        "select receivables_current_pln, overdue_1_30_pln, overdue_31_60_pln, "
        "overdue_over_90_pln, credit_limit_pln, credit_use from crm.receivables_ageing "
        "where company_id::text = %s",
        company_of(conn, "3110386752"),
    )
    assert ageing == [
        (
            Decimal("502.50"),
            Decimal("0"),
            Decimal("1184.42"),
            Decimal("0"),
            Decimal("100000.00"),
            Decimal("0.0169"),
        )
    ]

    # The ERP's October figures against its invoices: every difference is named.
    differences = query(
        conn,
        "select f.company_source_record_id, d.figure, d.sent_value, d.computed_value "
        "from crm.company_financials_disagreements d join crm.company_financials f "
        "using (financials_id) where f.company_source_record_id = 'KH/00017' order by 2",
    )
    assert differences == [
        ("KH/00017", "receivables_current", Decimal("40000.00"), Decimal("0")),
        ("KH/00017", "receivables_overdue", Decimal("5000.00"), Decimal("1184.42")),
        ("KH/00017", "turnover", Decimal("182340.50"), Decimal("1849.00")),
    ]


def test_a_resent_invoice_replaces_the_previous_one_and_incremental_equals_full(conn, crm):
    load(conn, *(EXAMPLES / name for name in REFERENCES), EXAMPLES / "erp_invoices.xml")
    assert crm("build", *AS_OF)
    load(conn, EXAMPLES / "erp_invoices_resend.xml")
    assert crm("build", *AS_OF)

    state = by_id(conn, "paid_amount, payment_status, correction_count, gross_after_corrections")
    assert state["F-1002"] == (Decimal("500.00"), "partially_paid", 0, Decimal("1426.80"))
    assert "F-1015" not in state, "deleted at the source"
    assert state["F-1003"][2:] == (3, Decimal("3013.50")), "a third correction, later"
    assert scalar(conn, "select count(*) from crm.invoice_payments") == 9
    # Every record of every load is accounted for, record by record.
    assert query(
        conn,
        "select file_name, records_read, records_rejected, records_current, records_deleted, "
        "records_superseded, records_not_yet_built from crm.load_reconciliation "
        "where contract = 'invoices' order by load_id",
    ) == [("erp_invoices.xml", 21, 2, 17, 0, 2, 0), ("erp_invoices_resend.xml", 3, 0, 2, 1, 0, 0)]
    assert (
        scalar(
            conn,
            "select count(*) from crm.invoice_lines l left join crm.invoices i "
            "using (invoice_key) where i.invoice_key is null",
        )
        == 0
    ), "the deleted invoice's lines left with it"

    compared = (
        "select * from crm.invoices",
        "select * from crm.invoice_lines",
        "select * from crm.invoice_payments",
        "select * from crm.receivables_ageing",
    )

    def snapshot() -> list[set]:
        result = []
        for statement in compared:
            cursor = conn.execute(statement)
            names = [column.name for column in cursor.description]
            kept = [i for i, name in enumerate(names) if not name.startswith("updated_")]
            result.append({tuple(row[i] for i in kept) for row in cursor.fetchall()})
        return result

    incremental = snapshot()
    conn.commit()
    assert crm("build", "--full-refresh", *AS_OF)
    assert snapshot() == incremental


def test_a_correction_loaded_before_its_original_waits_for_it(conn, crm, tmp_path):
    load(conn, *(EXAMPLES / name for name in REFERENCES))
    correction = invoice("K-2", "-24.60", kind="KOR", issued="2026-10-20", corrects="K-1")
    correction_of_it = invoice("K-3", "-12.30", kind="KOR", issued="2026-10-25", corrects="K-2")
    load(conn, invoices_file(tmp_path / "corrections.xml", correction, correction_of_it))
    assert crm("build", *AS_OF)
    assert by_id(conn, "correction_chain_status") == {
        "K-2": ("corrected_invoice_unknown",),
        "K-3": ("corrected_invoice_unknown",),
    }

    load(conn, invoices_file(tmp_path / "original.xml", invoice("K-1", "246.00")))
    assert crm("build", *AS_OF)
    assert by_id(conn, "correction_chain_status, correction_depth") == {
        "K-1": (None, 0),
        "K-2": ("ok", 1),
        "K-3": ("ok", 2),
    }
    assert by_id(conn, "gross_after_corrections")["K-1"] == (Decimal("209.10"),)
    assert scalar(conn, "select count(*) from crm.invoice_review") == 0


def test_a_cycle_of_corrections_is_named_not_followed(conn, crm, tmp_path):
    load(conn, *(EXAMPLES / name for name in REFERENCES))
    first = invoice("C-1", "-12.30", kind="KOR", corrects="C-2")
    second = invoice("C-2", "-12.30", kind="KOR", corrects="C-1")
    load(conn, invoices_file(tmp_path / "cycle.xml", first, second))
    assert crm("build", *AS_OF)
    assert by_id(conn, "correction_chain_status, original_invoice_key") == {
        "C-1": ("correction_cycle", None),
        "C-2": ("correction_cycle", None),
    }
    assert {row[0] for row in query(conn, "select reason from crm.invoice_review")} == {
        "correction_cycle"
    }


def test_ageing_buckets_follow_the_as_of_date(conn, crm, tmp_path):
    load(conn, *(EXAMPLES / name for name in REFERENCES))
    records = (
        invoice("A-1", "100.00", issued="2026-06-01", due="2026-06-15"),
        invoice("A-2", "200.00", issued="2026-09-01", due="2026-09-15"),
        invoice("A-3", "300.00", issued="2026-10-20", due="2026-11-03"),
        invoice("A-4", "400.00", issued="2026-11-20", due="2026-12-04"),
        # Paid in part before 30 November and the rest after.
        invoice(
            "A-5",
            "500.00",
            issued="2026-11-01",
            due="2026-11-10",
            payments=(("2026-11-15", "200.00"), ("2026-12-10", "300.00")),
        ),
    )
    load(conn, invoices_file(tmp_path / "ageing.xml", *records))
    columns = (
        "receivables_current_pln, overdue_1_30_pln, overdue_31_60_pln, overdue_61_90_pln, "
        "overdue_over_90_pln, receivables_total_pln"
    )
    statement = f"select {columns} from crm.receivables_ageing"

    assert crm("build", *AS_OF)
    amounts = [Decimal(x) for x in ("400.00", "600.00", "0", "200.00", "100.00", "1300.00")]
    assert query(conn, statement) == [tuple(amounts)]
    conn.commit()  # ends the read, which would block dbt from replacing the table

    assert crm("run", "--select", "receivables_ageing", "--vars", "{as_of_date: 2026-12-31}")
    amounts = [Decimal(x) for x in ("0", "400.00", "300.00", "0", "300.00", "1000.00")]
    assert query(conn, statement) == [tuple(amounts)]


def test_sent_figures_that_match_the_invoices_agree(conn, crm, tmp_path):
    load(conn, *(EXAMPLES / name for name in REFERENCES))
    load(
        conn,
        invoices_file(
            tmp_path / "invoices.xml",
            invoice("M-1", "123.00", issued="2026-10-05", due="2026-10-20"),
            invoice("M-2", "246.00", issued="2026-10-25", due="2026-11-08"),
            invoice("M-3", "-23.00", kind="KOR", issued="2026-10-28", corrects="M-1"),
            # PL + NIP as an EU VAT number resolves like the NIP.
            invoice(
                "M-4",
                "10.00",
                buyer="<euVatId>PL3110386752</euVatId>",
                issued="2026-11-02",
                due="2026-12-02",
            ),
        ),
    )
    financials = tmp_path / "financials.xml"
    financials.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<companyFinancials xmlns="urn:crm7:contract:company_financials:v1" sourceSystem="erp">'
        "<financials><company><sourceRecordId>KH/00017</sourceRecordId></company>"
        "<periodStart>2026-10-01</periodStart><periodEnd>2026-10-31</periodEnd>"
        "<turnover>281.30</turnover><receivablesCurrent>246.00</receivablesCurrent>"
        "<receivablesOverdue>100.00</receivablesOverdue></financials>"
        "<financials><company><sourceRecordId>KH/00017</sourceRecordId></company>"
        "<periodStart>2026-11-01</periodStart><periodEnd>2026-11-30</periodEnd>"
        "<turnover>8.13</turnover><receivablesCurrent>0</receivablesCurrent>"
        "<receivablesOverdue>356.00</receivablesOverdue></financials>"
        "</companyFinancials>\n",
        encoding="utf-8",
    )
    load(conn, financials)
    assert crm("build", *AS_OF)
    assert by_id(conn, "counterparty_status")["M-4"] == ("linked_by_nip",)
    assert query(
        conn,
        "select period_start::text, comparison_status, computed_turnover_pln, "
        "computed_receivables_current_pln, computed_receivables_overdue_pln "
        "from crm.company_financials order by 1",
    ) == [
        ("2026-10-01", "agrees", Decimal("281.30"), Decimal("246.00"), Decimal("100.00")),
        ("2026-11-01", "disagrees", Decimal("8.13"), Decimal("10.00"), Decimal("346.00")),
    ]
    assert query(
        conn,
        "select figure, sent_value - computed_value from crm.company_financials_disagreements "
        "order by 1",
    ) == [("receivables_current", Decimal("-10.00")), ("receivables_overdue", Decimal("10.00"))]


def test_totals_per_vat_rate_are_checked_against_their_lines(conn, crm, tmp_path):
    load(conn, *(EXAMPLES / name for name in REFERENCES))
    lines = (
        "<line><name>A</name><net>100.00</net><vatRate>23</vatRate><vat>23.00</vat>"
        "<gross>123.00</gross></line>"
        "<line><name>B</name><net>50.00</net><vatRate>8</vatRate><vat>4.00</vat>"
        "<gross>54.00</gross></line>"
    )
    record = (
        f"<invoice><sourceRecordId>R-1</sourceRecordId><number>R/1</number><kind>VAT</kind>"
        f"<issueDate>2026-11-02</issueDate>{SELLER}"
        "<buyer><sourceId>KH/00017</sourceId><name>Nabywca</name></buyer>"
        "<dueDate>2026-11-16</dueDate><totalNet>150.00</totalNet><totalVat>27.00</totalVat>"
        "<totalGross>177.00</totalGross>"
        # 23%: net 101.00 against lines of 100.00; 8%: lines but no total.
        "<vatTotal><vatRate>23</vatRate><net>101.00</net><vat>23.00</vat></vatTotal>"
        f"{lines}</invoice>\n"
    )
    load(conn, invoices_file(tmp_path / "rates.xml", record))
    assert crm("build", *AS_OF)
    assert by_id(conn, "vat_rate_problems") == {
        "R-1": ("23: total differs from its lines; 8: rate without a total",)
    }
    assert query(conn, "select source_record_id from audit.invoice_vat_totals_match_lines") == [
        ("R-1",)
    ]
    assert query(conn, "select source_record_id from audit.invoice_totals_match_lines") == [
        ("R-1",)
    ], "the header's net (150.00) is not the per-rate totals' (101.00)"
