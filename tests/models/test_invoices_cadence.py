"""Invoices: the same loads give the same CRM whether built per load, once, or refreshed.

Counterparties, currencies, VAT rates and products that arrive after the invoices naming
them, a correction before its original, a re-sent invoice, a deletion and a re-send after
it, an identical re-send: built after every batch, once at the end, and per batch then
with --full-refresh, crm.invoices, its lines and payments, receivables and the review
queue hold the same rows (build timestamps and watermarks aside).
"""

from __future__ import annotations

import json

from cadence_replay import assert_same_crm, replay_at_three_cadences
from conftest import EXAMPLES
from test_invoices_integration import invoice, invoices_file

INVOICE_RELATIONS = (
    "invoices",
    "invoice_lines",
    "invoice_payments",
    "receivables_ageing",
    "invoice_review",
)
EUR = "<currency>EUR</currency><exchangeRate>4.2817</exchangeRate>"


def erp_coded_invoice(record_id: str, gross: str) -> str:
    """An invoice in the ERP's own codes (payment form PRZ14, VAT rate VAT23) for its
    product T-100: they resolve only once the ERP's dictionaries and products are loaded."""
    return (
        invoice(record_id, gross, currency="<paymentForm>PRZ14</paymentForm>")
        .replace("<vatRate>23</vatRate>", "<vatRate>VAT23</vatRate>")
        .replace("<line><name>", "<line><productId>T-100</productId><name>")
    )


def test_invoices_resolved_later_resent_and_deleted_are_the_same_at_every_cadence(
    pg_server, tmp_path
):
    by_nip = "<nip>3000633221</nip>"  # a crm contractor, loaded in the third batch
    batches = [
        # Nothing the invoices name is known yet: counterparty, currency, VAT rate, product.
        [
            invoices_file(
                tmp_path / "1.xml",
                invoice("F-1", "123.00"),
                invoice("F-2", "246.00", currency=EUR),
                invoice("K-1", "-24.60", kind="KOR", issued="2026-10-20", corrects="F-9"),
                erp_coded_invoice("F-4", "61.50"),
            )
        ],
        # The ERP's contractors, dictionaries and products; the original of K-1; F-1 again.
        [
            EXAMPLES / "erp_contractors.xml",
            EXAMPLES / "erp_dictionaries.xml",
            EXAMPLES / "erp_products.xml",
            invoices_file(
                tmp_path / "2.xml",
                invoice("F-9", "246.00"),
                invoice("F-1", "369.00", payments=(("2026-10-10", "100.00"),)),
            ),
        ],
        # A counterparty by NIP that resolves only now; F-2 deleted; K-1 re-sent as is.
        [
            invoices_file(
                tmp_path / "3.xml",
                invoice("F-3", "61.50", buyer=by_nip),
                invoice("F-2", "246.00", currency=EUR, deleted=True),
                invoice("K-1", "-24.60", kind="KOR", issued="2026-10-20", corrects="F-9"),
            ),
            EXAMPLES / "crm_contractors.xml",
        ],
        # F-2 back after its deletion; a correction of the correction.
        [
            invoices_file(
                tmp_path / "4.xml",
                invoice("F-2", "492.00", currency=EUR),
                invoice("K-2", "-12.30", kind="KOR", issued="2026-10-25", corrects="K-1"),
            )
        ],
    ]
    dumps = replay_at_three_cadences(
        pg_server,
        tmp_path / "target",
        batches,
        INVOICE_RELATIONS,
        ("--vars", "{as_of_date: 2026-11-30}"),
    )
    assert_same_crm(dumps)
    invoices = {
        row["source_record_id"]: (row["counterparty_status"], row["payment_form"])
        for row in map(json.loads, dumps["once"]["invoices"])
    }
    assert sorted(invoices) == ["F-1", "F-2", "F-3", "F-4", "F-9", "K-1", "K-2"]
    assert invoices["F-3"] == ("linked_by_nip", None)
    assert invoices["F-4"] == ("linked_by_id", "6")
    assert [json.loads(row)["record_ref"] for row in dumps["once"]["invoice_review"]] == []
