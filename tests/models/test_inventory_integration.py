"""Dictionaries, products, prices, stock and warehouse documents end to end.

Each test gets a fresh database on the embedded server, loads files with the real loader
and runs the real dbt project in-process against it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES, query, scalar

from loaders.db import ConnectionSettings
from loaders.load import load_file

CONTRACTORS = ("crm_contractors.xml", "erp_contractors.xml", "erp_contractors_rejects.xml")
INVENTORY = (
    "erp_dictionaries.xml",
    "erp_products.xml",
    "shop_products.xml",
    "erp_prices.xml",
    "erp_stock_2026-11-27.xml",
    "erp_stock_2026-11-26.xml",
    "erp_warehouse_documents.xml",
)


def xml_file(path: Path, contract: str, root: str, source_system: str, *records: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="urn:crm7:contract:{contract}:v1"'
        f' sourceSystem="{source_system}">\n' + "".join(records) + f"</{root}>\n",
        encoding="utf-8",
    )
    return path


def product(record_id: str, base_unit: str = "szt", vat: str = "23", body: str = "") -> str:
    return (
        f"<product><sourceRecordId>{record_id}</sourceRecordId><name>Produkt {record_id}</name>"
        f"<baseUnit>{base_unit}</baseUnit><vatRate>{vat}</vatRate>{body}</product>\n"
    )


def document(record_id: str, *lines: str, head: str = "", deleted: bool = False) -> str:
    flag = "<deleted>true</deleted>" if deleted else ""
    return (
        f"<document><sourceRecordId>{record_id}</sourceRecordId>{flag}<type>WZ</type>"
        f"<number>WZ/{record_id}</number><issueDate>2026-11-02</issueDate>"
        f"<warehouse>MAIN</warehouse>{head}{''.join(lines)}</document>\n"
    )


def line(product_id: str, quantity: str, price: str, value: str, unit: str = "") -> str:
    unit_element = f"<unit>{unit}</unit>" if unit else ""
    return (
        f"<line><productId>{product_id}</productId><quantity>{quantity}</quantity>{unit_element}"
        f"<unitPrice>{price}</unitPrice><value>{value}</value></line>"
    )


@pytest.fixture
def crm(database: ConnectionSettings, tmp_path_factory) -> Callable[..., bool]:
    """Returns build(*dbt_args) -> bool, running dbt against the test's database."""
    from loaders.dbt import run_dbt

    target = str(tmp_path_factory.mktemp("dbt-target"))

    def build(*args: str) -> bool:
        arguments = [*(args or ("build",)), "--target-path", target, "--log-path", target]
        return bool(run_dbt([*arguments, "--quiet"], database).success)

    return build


def review(conn) -> set[tuple]:
    return set(query(conn, "select entity, reason, code, record_ref from crm.inventory_review"))


def test_a_build_on_a_database_without_any_load_succeeds(conn, crm):
    assert crm()
    assert scalar(conn, "select count(*) from crm.canonical_vat_rates where code = '0 KR'") == 1
    assert scalar(conn, "select count(*) from crm.products") == 0


def test_demo_exports_end_to_end(conn, crm):
    for name in CONTRACTORS + INVENTORY:
        load_file(conn, EXAMPLES / name)
    conn.commit()
    assert crm()

    # Client codes map onto canonical ones; an unknown canonical code goes to review.
    codes = dict(
        query(conn, "select dictionary || ':' || code, canonical_code from crm.dictionary_codes")
    )
    assert codes["vat_rate:VAT23"] == "23"
    assert codes["vat_rate:NP1"] == "np I"
    assert codes["vat_rate:VAT99"] is None
    assert codes["unit:KART"] == "KART", "a client's own unit"

    assert review(conn) == {
        ("dictionary_code", "unknown_canonical_code", "99", "vat_rate:VAT99"),
        ("product", "unknown_vat_rate", "VAT7X", "T-104"),
        ("price", "unresolved_product", "T-999", "DETAL:T-999:2026-01-01"),
        ("stock_level", "unknown_warehouse", "MG9", "MG9:T-100"),
        ("warehouse_document", "unknown_document_type", "XX", "D-5007"),
        ("warehouse_document", "unresolved_counterparty", "KH/09999", "D-5004"),
        ("warehouse_document_line", "unresolved_product", "T-777", "D-5005:1"),
    }
    assert query(
        conn,
        "select file_name, source_line from crm.inventory_review where record_ref = 'T-104'",
    ) == [("erp_products.xml", 43)]

    # Products: several units; one GTIN held by two systems.
    products = dict(
        query(
            conn,
            "select source_record_id, gtin_source_systems from crm.products where gtin is not null",
        )
    )
    assert products == {"T-100": ["erp", "shop"], "sku-7781": ["erp", "shop"], "T-101": ["erp"]}
    units = dict(
        query(
            conn,
            "select unit, factor from crm.product_units join crm.products using (product_key) "
            "where products.source_record_id = 'T-100'",
        )
    )
    assert units == {"szt": 1, "KART": 6, "PAL": 480}
    vat_rates = dict(query(conn, "select source_record_id, vat_rate from crm.products"))
    assert vat_rates["T-100"] == "23", "client code VAT23"
    assert vat_rates["T-103"] == "np I", "KSeF code with a space, as written"
    assert vat_rates["T-104"] is None, "VAT7X: no dictionary knows it"

    # Prices: history kept, today's price, the overlap named in audit.
    assert scalar(conn, "select count(*) from crm.product_prices") == 9
    overlaps = query(
        conn,
        "select price_list, product_source_id, valid_from::text, overlapping_valid_from::text "
        "from audit.assert_price_periods_do_not_overlap",
    )
    assert overlaps == [("HURT", "T-100", "2026-01-01", "2026-10-01")]

    # Stock: the 26 November file, loaded after the 27 November one, is only history.
    assert query(
        conn,
        "select quantity_on_hand, quantity_available from crm.stock_levels "
        "where warehouse_code = 'MG' and product_source_id = 'T-100'",
    ) == [(120, 90)]
    assert scalar(conn, "select count(*) from crm.stock_history") == 7
    assert query(
        conn, "select product_source_id from audit.stock_level_available_is_not_negative"
    ) == [("T-101",)]

    # Documents: counterparties by id and by NIP, checks named in audit.
    documents = dict(
        query(conn, "select source_record_id, counterparty_status from crm.warehouse_documents")
    )
    assert documents["D-5001"] == "linked_by_id"
    assert documents["D-5002"] == "linked_by_nip"
    assert documents["D-5004"] == "unresolved"
    line_values = query(
        conn,
        "select d.source_record_id, a.line_no from audit.warehouse_document_line_value_is_quantity_times_price a "
        "join crm.warehouse_documents d using (document_key)",
    )
    assert line_values == [("D-5004", 1)]
    totals = query(
        conn,
        "select source_record_id from audit.warehouse_document_total_is_sum_of_lines order by 1",
    )
    assert totals == [("D-5002",), ("D-5004",)]
    unknown_units = query(
        conn,
        "select product_source_id, unit_code from audit.warehouse_document_line_unit_is_known_to_product",
    )
    assert unknown_units == [("T-101", "PAL")]
    assert scalar(conn, "select count(*) from audit.assert_inventory_references_resolve") == 3
    assert scalar(conn, "select count(*) from audit.assert_inventory_codes_are_known") == 4


def test_every_inventory_record_is_in_the_crm_or_rejected(conn, crm):
    for name in INVENTORY:
        load_file(conn, EXAMPLES / name)
    conn.commit()
    assert crm()
    loads = query(
        conn,
        "select contract, sum(records_read), sum(records_loaded), sum(records_rejected) "
        "from raw.loads group by contract",
    )
    counts = {contract: (read, loaded, rejected) for contract, read, loaded, rejected in loads}
    assert counts["products"] == (9, 8, 1)
    assert counts["prices"] == (10, 9, 1)
    assert counts["warehouse_documents"] == (8, 7, 1)
    assert scalar(conn, "select count(*) from raw.rejects") == 3
    # Loaded records all reach their CRM model (one row per distinct key here).
    assert scalar(conn, "select count(*) from crm.products") == 8
    assert scalar(conn, "select count(*) from crm.product_prices") == 9
    assert scalar(conn, "select count(*) from crm.stock_history") == 7
    assert scalar(conn, "select count(*) from crm.warehouse_documents") == 7
    assert scalar(conn, "select count(*) from crm.warehouse_document_lines") == 10
    assert scalar(conn, "select count(*) from crm.dictionary_codes") == 16


def test_a_resent_document_replaces_its_lines_and_a_deleted_one_leaves(conn, crm):
    for name in CONTRACTORS + INVENTORY:
        load_file(conn, EXAMPLES / name)
    conn.commit()
    assert crm()
    load_file(conn, EXAMPLES / "erp_warehouse_documents_resend.xml")
    conn.commit()
    assert crm()

    lines = query(
        conn,
        "select l.line_no, l.quantity, l.line_value from crm.warehouse_document_lines l "
        "join crm.warehouse_documents d using (document_key) where d.source_record_id = 'D-5001'",
    )
    assert lines == [(1, 9, 2700)]
    assert query(
        conn,
        "select total_value, line_count from crm.warehouse_documents where source_record_id = 'D-5001'",
    ) == [(2700, 1)]
    assert (
        scalar(
            conn, "select count(*) from crm.warehouse_documents where source_record_id = 'D-5006'"
        )
        == 0
    )
    assert scalar(conn, "select count(*) from crm.warehouse_documents") == 6
    assert scalar(conn, "select count(*) from crm.warehouse_document_lines") == 8


def test_current_prices_follow_the_as_of_date(conn, crm):
    for name in ("erp_products.xml", "erp_prices.xml"):
        load_file(conn, EXAMPLES / name)
    conn.commit()
    assert crm("build", "--vars", "{as_of_date: '2026-03-01'}")
    prices = dict(
        query(
            conn,
            "select price_list, net_price from crm.current_prices "
            "where product_source_id = 'T-100' and unit = 'szt'",
        )
    )
    assert prices == {"DETAL": 59, "HURT": 52, "EXPORT": 14}
    conn.commit()  # end the read transaction: the build replaces the view
    assert crm("build", "--vars", "{as_of_date: '2027-01-01'}")
    prices = dict(
        query(
            conn,
            "select price_list, net_price from crm.current_prices "
            "where product_source_id = 'T-100' and unit = 'szt'",
        )
    )
    assert prices == {"DETAL": 64, "HURT": 55, "EXPORT": 14}


def test_unknown_codes_go_to_review_and_never_break_the_build(conn, crm, tmp_path):
    load_file(
        conn,
        xml_file(
            tmp_path / "products.xml",
            "products",
            "products",
            "erp",
            product("P1", base_unit="beczka", vat="VAT-X"),
            product("P2", body="<unit><code>skrzynka</code><factor>20</factor></unit>"),
        ),
    )
    load_file(
        conn,
        xml_file(
            tmp_path / "docs.xml",
            "warehouse_documents",
            "warehouseDocuments",
            "erp",
            document("W1", line("P2", "1", "1", "1", unit="skrzynka"), line("P9", "1", "1", "1")),
        ),
    )
    conn.commit()
    assert crm()
    assert review(conn) == {
        ("product", "unknown_unit", "beczka", "P1"),
        ("product", "unknown_vat_rate", "VAT-X", "P1"),
        ("product", "unknown_unit", "skrzynka", "P2"),
        ("warehouse_document_line", "unresolved_product", "P9", "W1:2"),
        ("warehouse_document_line", "unknown_unit", "skrzynka", "W1:1"),
    }
    assert scalar(conn, "select count(*) from crm.products") == 2
    assert scalar(conn, "select count(*) from crm.warehouse_document_lines") == 2


def test_a_counterparty_loaded_later_resolves_the_document(conn, crm, tmp_path):
    head = "<counterpartyId>K1</counterpartyId>"
    load_file(
        conn,
        xml_file(
            tmp_path / "docs.xml",
            "warehouse_documents",
            "warehouseDocuments",
            "erp",
            document("W1", line("P1", "1", "1", "1"), head=head),
        ),
    )
    conn.commit()
    assert crm()
    assert scalar(conn, "select counterparty_status from crm.warehouse_documents") == "unresolved"
    conn.commit()

    load_file(
        conn,
        xml_file(
            tmp_path / "contractors.xml",
            "contractors",
            "contractors",
            "erp",
            "<contractor><sourceRecordId>K1</sourceRecordId><name>Alfa</name>"
            "<nip>5261040828</nip></contractor>\n",
        ),
    )
    conn.commit()
    assert crm()
    assert scalar(conn, "select counterparty_status from crm.warehouse_documents") == "linked_by_id"
    assert ("warehouse_document", "unresolved_counterparty", "K1", "W1") not in review(conn)
