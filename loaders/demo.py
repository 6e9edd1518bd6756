"""``crm7 demo``: the whole job on the sample exports in examples/.

Runs in its own database, ``crm7_demo``, recreated on every run so the demo always tells
the same story and never touches the user's data: the CRM's own export is loaded and
built first, then the ERP's exports (with a few bad records) are matched against it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import psycopg

from loaders.db import ConnectionSettings, connect, connection_settings, project_root
from loaders.load import load_file

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
)


def _recreate_database(settings: ConnectionSettings) -> ConnectionSettings:
    with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{DEMO_DATABASE}" with (force)')
        admin.execute(f'create database "{DEMO_DATABASE}"')
    return replace(settings, dbname=DEMO_DATABASE)


def _build(settings: ConnectionSettings) -> bool:
    from loaders.cli import run_dbt

    result = run_dbt(["build", "--quiet"], settings)
    statuses = Counter(
        str(getattr(node, "status", "")) for node in (getattr(result.result, "results", None) or [])
    )
    shown = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    print(f"   dbt build: {shown or 'no result'}" + ("" if result.success else "  <-- FAILED"))
    return bool(result.success)


def _report(settings: ConnectionSettings) -> None:
    with connect(settings) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        summary = cursor.execute("select * from crm.import_summary").fetchone()
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
            _report(settings)

    print(
        "\n== Where to look ==\n"
        "   crm.companies            one row per company; company_id never changes\n"
        "   crm.company_links        (source system, source id) -> company, first and last load\n"
        "   crm.contractor_review    records not merged, with reason, file and line\n"
        "   crm.load_reconciliation  per file: read = loaded + rejected, linked, in review\n"
        "   crm.calendar_events      one row per event (source system, uid), latest version\n"
        "   crm.calendar_review      events whose company or times need a look, with file and line\n"
        "   crm.company_financials   receivables and credit use per company and period\n"
        "   raw.loads, raw.rejects   every load; records that broke the contract, with line\n"
        "   audit.*                  rows behind any failing data test\n"
        f"   e.g.  crm7 db psql -d {DEMO_DATABASE} -c 'select * from crm.contractor_review'"
    )
    return 0 if ok else 1
