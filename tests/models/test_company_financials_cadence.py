"""Company financials: the same loads give the same CRM whether built per load, once, or
refreshed.

A company period sent again (the latest version by load and record wins, also within one
window), a company loaded after its figures, a company named by id and NIP that disagree,
and the invoices the figures are checked against: built after every batch, once at the
end, and per batch then with --full-refresh, crm.company_financials, the disagreements
and the review queue hold the same rows.
"""

from __future__ import annotations

import json

from cadence_replay import assert_same_crm, replay_at_three_cadences
from test_calendar_integration import contractors_file
from test_company_financials_integration import financials_file, row
from test_invoices_integration import invoice, invoices_file

FINANCIALS_RELATIONS = (
    "company_financials",
    "company_financials_disagreements",
    "company_financials_review",
)
OMEGA = "<nip>5261040828</nip>"
BY_ID_AND_OTHER_NIP = (
    "<sourceSystem>erp</sourceSystem><sourceRecordId>KH/7</sourceRecordId><nip>3000633221</nip>"
)


def test_resent_periods_and_companies_loaded_later_are_the_same_at_every_cadence(
    pg_server, tmp_path
):
    batches = [
        [financials_file(tmp_path / "1.xml", row(OMEGA, "100", "0", "1000"))],
        [
            financials_file(
                tmp_path / "2.xml",
                row(OMEGA, "500", "0", "1000"),
                row(OMEGA, "900", "300", "1000"),  # the same period twice in one file
                row(BY_ID_AND_OTHER_NIP, "1", "0"),
            ),
            contractors_file(tmp_path / "erp.xml", "erp", ("KH/7", "Omega", "5261040828")),
        ],
        [
            invoices_file(
                tmp_path / "3.xml",
                invoice("F-1", "123.00", buyer="<sourceId>KH/7</sourceId>", issued="2026-10-05"),
            ),
            financials_file(tmp_path / "4.xml", row(OMEGA, "900", "300", "2000")),
        ],
    ]
    dumps = replay_at_three_cadences(
        pg_server,
        tmp_path / "target",
        batches,
        FINANCIALS_RELATIONS,
        ("--vars", "{as_of_date: 2026-11-30}"),
    )
    assert_same_crm(dumps)
    figures = sorted(
        (row["receivables_total"], row["credit_limit"], row["company_id"] is not None)
        for row in map(json.loads, dumps["once"]["company_financials"])
    )
    assert figures == [(1, None, False), (1200, 2000, True)]
