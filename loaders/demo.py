"""``crm7 demo``: the whole job on the sample exports in examples/.

Runs in its own database, ``crm7_demo``, recreated on every run so the demo always tells
the same story and never touches the user's data: the CRM's own export is loaded and
built first, then the ERP's exports (with a few bad records) are matched against it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import psycopg

from loaders.db import ConnectionSettings, connect, connection_settings
from loaders.dbt import run_dbt
from loaders.load import load_file
from loaders.settings import project_root

DEMO_DATABASE = "crm7_demo"
STEPS = (
    ("The CRM's own companies", ("crm_contractors.xml",)),
    (
        "The ERP's contractors, then a later ERP file with 2 records that break the contract",
        ("erp_contractors.xml", "erp_contractors_rejects.xml"),
    ),
    (
        "The CRM's calendar (after the contractors, so that companies resolve), "
        "with 3 records that break the contract",
        ("calendar_events.xml",),
    ),
    ("The ERP's receivables and credit limits", ("erp_company_financials.xml",)),
    (
        "The ERP's dictionaries (its codes mapped onto canonical ones), products of two "
        "systems and price lists",
        ("erp_dictionaries.xml", "erp_products.xml", "shop_products.xml", "erp_prices.xml"),
    ),
    (
        "Stock on 27 November, then the 26 November file loaded late",
        ("erp_stock_2026-11-27.xml", "erp_stock_2026-11-26.xml"),
    ),
    ("The ERP's warehouse documents", ("erp_warehouse_documents.xml",)),
    (
        "A later file re-sending one document with changed lines and deleting another",
        ("erp_warehouse_documents_resend.xml",),
    ),
    (
        "The ERP's invoices: EUR, a correction of a correction, buyers without a NIP, partial "
        "payments and an overpayment, with 2 records that break the contract",
        ("erp_invoices.xml",),
    ),
    (
        "A later file re-sending an invoice with a payment, deleting a pro forma and adding a "
        "third correction",
        ("erp_invoices_resend.xml",),
    ),
)

# Receivables are computed as of this day, so that the demo always tells the same story.
DEMO_AS_OF_DATE = "2026-11-30"

INVENTORY_COUNTS = """
select
    (select count(*) from crm.products) as products,
    (select count(*) from crm.products where is_gtin_shared) as products_gtin_shared,
    (select count(*) from crm.product_prices) as price_periods,
    (select count(*) from crm.current_prices) as prices_today,
    (select count(*) from crm.stock_levels) as stock_levels,
    (select count(*) from crm.stock_history) as stock_history,
    (select count(*) from crm.warehouse_documents) as documents,
    (select count(*) from crm.warehouse_document_lines) as document_lines
"""

# Row counts of every table in audit (rows behind failing data tests), largest first.
AUDIT_TABLES = """
select table_name from information_schema.tables
where table_schema = 'audit' and table_name <> 'crm7_build_state'
order by table_name
"""


def _recreate_database(settings: ConnectionSettings) -> ConnectionSettings:
    with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{DEMO_DATABASE}" with (force)')
        admin.execute(f'create database "{DEMO_DATABASE}"')
    return replace(settings, dbname=DEMO_DATABASE)


def _build(settings: ConnectionSettings) -> bool:
    result = run_dbt(["build", "--quiet", "--vars", f"{{as_of_date: {DEMO_AS_OF_DATE}}}"], settings)
    statuses = Counter(
        str(getattr(node, "status", "")) for node in (getattr(result.result, "results", None) or [])
    )
    shown = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    print(f"   dbt build: {shown or 'no result'}" + ("" if result.success else "  <-- FAILED"))
    return bool(result.success)


def _report(settings: ConnectionSettings, files: tuple[str, ...]) -> None:
    if any("invoices" in name for name in files):
        _report_invoices(settings)
    elif all("contractors" in name for name in files):
        _report_contractors(settings)
    elif any("calendar" in name or "financials" in name for name in files):
        _report_calendar_and_financials(settings)
    else:
        _report_inventory(settings)


def _report_contractors(settings: ConnectionSettings) -> None:
    with connect(settings) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        summary = cursor.execute("select * from audit.import_summary").fetchone()
        reasons = cursor.execute(
            "select reason, count(*) as n from crm.contractor_review group by reason order by reason"
        ).fetchall()
    print(
        f"   companies: {summary['companies_created']} new, "
        f"{summary['records_linked']} source records linked to existing companies, "
        f"{summary['companies_updated']} updated, {summary['companies_unchanged']} unchanged "
        f"-> {summary['companies_total']} companies, {summary['links_total']} links"
    )
    print(
        f"   records: {summary['records_read']} read, {summary['records_loaded']} loaded, "
        f"{summary['records_rejected']} rejected by the contract (raw.rejects)"
    )
    queue = ", ".join(f"{row['n']} {row['reason']}" for row in reasons) or "empty"
    print(f"   review queue: {summary['review_items']} ({queue})")
    _report_calendar_and_financials(settings)


def _report_calendar_and_financials(settings: ConnectionSettings) -> None:
    with connect(settings) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        events = cursor.execute(
            "select count(*) as total, count(company_id) as with_company,"
            " (select count(*) from crm.calendar_attendees) as attendees"
            " from crm.calendar_events"
        ).fetchone()
        reasons = cursor.execute(
            "select reason, count(*) as n from crm.calendar_review group by reason order by reason"
        ).fetchall()
    if events["total"]:
        queue = ", ".join(f"{row['n']} {row['reason']}" for row in reasons) or "empty"
        print(
            f"   calendar: {events['total']} events ({events['with_company']} with a company), "
            f"{events['attendees']} attendees; calendar review: {queue}"
        )
    with connect(settings) as conn:
        total, over, in_review = conn.execute(
            "select count(*), count(*) filter (where is_over_credit_limit),"
            " count(*) filter (where is_in_review) from crm.company_financials"
        ).fetchone()
    if total:
        print(
            f"   financials: {total} company periods, {over} over their credit limit "
            f"(audit.company_credit_use_over_limit), {in_review} in company_financials_review"
        )


def _failing_checks(cursor: psycopg.Cursor, name_contains: str = "") -> list[str]:
    """'table (rows)' for every audit table holding rows: the checks failing now."""
    failing = []
    for row in cursor.execute(AUDIT_TABLES).fetchall():
        if name_contains not in row["table_name"]:
            continue
        table = psycopg.sql.Identifier("audit", row["table_name"])
        query = psycopg.sql.SQL("select count(*) as n from {}").format(table)
        rows = cursor.execute(query).fetchone()["n"]
        if rows:
            failing.append(f"{row['table_name']} ({rows})")
    return failing


def _report_inventory(settings: ConnectionSettings) -> None:
    with connect(settings) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        counts = cursor.execute(INVENTORY_COUNTS).fetchone()
        reasons = cursor.execute(
            "select reason, count(*) as n from crm.inventory_review group by reason order by reason"
        ).fetchall()
        failing = _failing_checks(cursor)
    print(
        f"   inventory: {counts['products']} products ({counts['products_gtin_shared']} share a "
        f"GTIN with another system), {counts['price_periods']} price periods "
        f"({counts['prices_today']} valid today), {counts['stock_levels']} stock levels "
        f"({counts['stock_history']} in history), {counts['documents']} warehouse documents "
        f"with {counts['document_lines']} lines"
    )
    queue = ", ".join(f"{row['n']} {row['reason']}" for row in reasons) or "empty"
    print(f"   inventory review: {sum(row['n'] for row in reasons)} ({queue})")
    print("   checks failing (rows in audit.*): " + (", ".join(failing) or "none"))


def _report_invoices(settings: ConnectionSettings) -> None:
    with connect(settings) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        invoices = cursor.execute(
            "select count(*) as total, count(*) filter (where is_correction) as corrections,"
            " count(*) filter (where currency_code <> 'PLN') as foreign_currency,"
            " count(company_id) as with_company,"
            " (select count(*) from crm.invoice_lines) as lines,"
            " (select count(*) from crm.invoice_payments) as payments"
            " from crm.invoices"
        ).fetchone()
        reasons = cursor.execute(
            "select reason, count(*) as n from crm.invoice_review group by reason order by reason"
        ).fetchall()
        ageing = cursor.execute(
            "select count(*) as companies, coalesce(sum(receivables_current_pln), 0) as current,"
            " coalesce(sum(receivables_overdue_pln), 0) as overdue,"
            " coalesce(sum(overdue_over_90_pln), 0) as over_90"
            " from crm.receivables_ageing"
        ).fetchone()
        comparison = cursor.execute(
            "select comparison_status, count(*) as n from crm.company_financials"
            " group by comparison_status order by comparison_status"
        ).fetchall()
        disagreements = cursor.execute(
            "select count(*) as n from crm.company_financials_disagreements"
        ).fetchone()
        failing = _failing_checks(cursor, name_contains="invoice")
    print(
        f"   invoices: {invoices['total']} ({invoices['corrections']} corrections, "
        f"{invoices['foreign_currency']} in a foreign currency, {invoices['with_company']} with "
        f"a company), {invoices['lines']} lines, {invoices['payments']} payments"
    )
    queue = ", ".join(f"{row['n']} {row['reason']}" for row in reasons) or "empty"
    print(f"   invoice review: {sum(row['n'] for row in reasons)} ({queue})")
    print(
        f"   receivables on {DEMO_AS_OF_DATE}: {ageing['companies']} companies, "
        f"{ageing['current']} PLN not yet due, {ageing['overdue']} PLN overdue "
        f"({ageing['over_90']} PLN more than 90 days)"
    )
    statuses = ", ".join(f"{row['n']} {row['comparison_status']}" for row in comparison)
    print(
        f"   sent financials vs invoices: {statuses or 'none sent'}; "
        f"{disagreements['n']} figures in crm.company_financials_disagreements"
    )
    print("   invoice checks failing (rows in audit.*): " + (", ".join(failing) or "none"))


CONVERTED_EXAMPLE = "converters/subiekt_export.epp"


def _converted_step(settings: ConnectionSettings, conn, root, number: int) -> bool:
    """A Subiekt-style EDI++ export: crm7 convert edipp, then load what it wrote."""
    import tempfile
    from pathlib import Path

    from loaders.convert.edipp import convert_files

    print(f"\n== {number}. A Subiekt EDI++ export, converted (crm7 convert edipp) and loaded ==")
    with tempfile.TemporaryDirectory(prefix="crm7-demo-") as folder:
        result = convert_files([root / "examples" / CONVERTED_EXAMPLE], folder, "subiekt")
        print(
            "   convert: "
            + ", ".join(f"{name} {count}" for name, count in result.written.items())
            + f" ({len(result.notes)} notes)"
        )
        for name in ("contractors.xml", "products.xml", "invoices.xml"):
            print("   load " + load_file(conn, Path(folder) / name).summary())
    ok = _build(settings)
    _report_invoices(settings)
    return ok


def run_demo() -> int:
    root = project_root()
    server = connection_settings(root)
    settings = _recreate_database(server)
    print(f"crm7 demo: PostgreSQL {settings.describe()}, recreated for this run")
    ok = True
    with connect(settings) as conn:
        for number, (title, files) in enumerate(STEPS, start=1):
            print(f"\n== {number}. {title} ==")
            for name in files:
                print("   load " + load_file(conn, root / "examples" / name).summary())
            ok = _build(settings) and ok
            _report(settings, files)

        ok = _converted_step(settings, conn, root, len(STEPS) + 1) and ok

    print(
        "\n== Where to look ==\n"
        "   crm.companies            one row per company; company_id never changes\n"
        "   crm.company_links        (source system, source id) -> company, first and last load\n"
        "   crm.contractor_review    records not merged, with reason, file and line\n"
        "   crm.load_reconciliation  per file, every contract: read = rejected + current +\n"
        "                            superseded + deleted + not yet built; in review\n"
        "   crm.calendar_events      one row per event (source system, uid), latest version\n"
        "   crm.calendar_review      events whose company or times need a look, with file and line\n"
        "   crm.company_financials   receivables and credit use per company and period\n"
        "   crm.dictionary_codes     a client's codes -> canonical codes (seeds crm.canonical_*)\n"
        "   crm.products, crm.product_units, crm.product_prices, crm.current_prices\n"
        "   crm.stock_levels, crm.stock_history, crm.warehouse_documents(_lines)\n"
        "   crm.inventory_review     unknown codes and unresolved references, with file and line\n"
        "   crm.invoices             invoices and corrections; an original's state after them\n"
        "   crm.invoice_lines, crm.invoice_payments, crm.invoice_review\n"
        "   crm.receivables_ageing   receivables per company by days overdue, credit use\n"
        "   crm.company_financials_disagreements  sent figures that the invoices contradict\n"
        "   raw.loads, raw.rejects   every load; records that broke the contract, with line\n"
        "   audit.*                  rows behind any failing data test\n"
        f"   e.g.  crm7 db psql -d {DEMO_DATABASE} -c 'select * from crm.contractor_review'"
    )
    return 0 if ok else 1
