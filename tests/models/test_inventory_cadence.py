"""Inventory: the same loads give the same CRM whether built per load, once, or refreshed.

Warehouse documents whose counterparty, products, units and codes arrive after them, a
document re-sent with fewer lines, a deleted one, prices and stock snapshots loaded out of
date order: built after every batch, once at the end, and per batch then with
--full-refresh, the inventory tables and the review queue hold the same rows.
"""

from __future__ import annotations

import json

from cadence_replay import assert_same_crm, replay_at_three_cadences
from conftest import EXAMPLES
from test_inventory_integration import document, line, product, xml_file

INVENTORY_RELATIONS = (
    "warehouse_documents",
    "warehouse_document_lines",
    "products",
    "product_units",
    "product_prices",
    "current_prices",
    "stock_levels",
    "stock_history",
    "dictionary_codes",
    "inventory_review",
)


def documents_file(path, *documents: str):
    return xml_file(path, "warehouse_documents", "warehouseDocuments", "erp", *documents)


def test_documents_resolved_later_resent_and_deleted_are_the_same_at_every_cadence(
    pg_server, tmp_path
):
    counterparty = "<counterpartyId>K1</counterpartyId>"
    batches = [
        # Nothing the documents name is known yet: counterparty, products, units, codes.
        [
            documents_file(
                tmp_path / "1.xml",
                document(
                    "W1",
                    line("P1", "2", "10", "20", unit="opak"),
                    line("P2", "1", "5", "5", unit="SZTUKA"),  # an ERP code: dictionaries
                    head=counterparty,
                ),
                document("W2", line("P1", "1", "10", "10"), line("P2", "1", "5", "5")),
                document("W3", line("P2", "3", "5", "15")),
            ),
            EXAMPLES / "erp_stock_2026-11-27.xml",
        ],
        # Dictionaries and products; W2 re-sent with one line fewer.
        [
            EXAMPLES / "erp_dictionaries.xml",
            xml_file(
                tmp_path / "products.xml",
                "products",
                "products",
                "erp",
                product("P1", body="<unit><code>opak</code><factor>10</factor></unit>"),
                product("P2"),
            ),
            documents_file(tmp_path / "2.xml", document("W2", line("P2", "2", "5", "10"))),
            EXAMPLES / "erp_stock_2026-11-26.xml",
        ],
        # The counterparty; W3 deleted; prices.
        [
            xml_file(
                tmp_path / "contractors.xml",
                "contractors",
                "contractors",
                "erp",
                "<contractor><sourceRecordId>K1</sourceRecordId><name>Alfa</name>"
                "<nip>5261040828</nip></contractor>\n",
            ),
            documents_file(tmp_path / "3.xml", document("W3", deleted=True)),
            EXAMPLES / "erp_prices.xml",
        ],
    ]
    dumps = replay_at_three_cadences(
        pg_server,
        tmp_path / "target",
        batches,
        INVENTORY_RELATIONS,
        ("--vars", "{as_of_date: 2026-11-30}"),
    )
    assert_same_crm(dumps)
    documents = {
        row["source_record_id"]: row["counterparty_status"]
        for row in map(json.loads, dumps["once"]["warehouse_documents"])
    }
    assert documents == {"W1": "linked_by_id", "W2": "none"}
    lines = sorted(
        (row["is_product_known"], row["unit"])
        for row in map(json.loads, dumps["once"]["warehouse_document_lines"])
    )
    assert lines == [(True, "opak"), (True, "szt"), (True, "szt")]
