"""Named cadence cases: minimal load sequences (found by hand from issue 11 and by the
property test) that once gave a CRM depending on when dbt build ran. Each is loaded into
fresh databases and built after every batch, once at the end, and after the first batch
then with ``--full-refresh``; the three dumps of crm.* must be identical.
"""

from __future__ import annotations

import pytest
from cadence_files import (
    VALID_NIPS,
    Contractor,
    Event,
    Financials,
    Invoice,
    calendar_file,
    financials_file,
    invoices_file,
)
from cadence_files import contractors_file as contractors
from cadence_harness import CONTRACTORS_SELECT, SELECT, assert_same_crm, compare_cadences

pytestmark = pytest.mark.slow

NIP_A, NIP_B = VALID_NIPS[:2]


@pytest.fixture(scope="module")
def dbt_targets(tmp_path_factory):
    """dbt's target folders, shared by the tests here so that dbt parses the project once."""
    return tmp_path_factory.mktemp("cadence-targets")


def same_crm_at_every_cadence(
    pg_server, tmp_path, targets, batches, *, cut: int = 1, select=CONTRACTORS_SELECT
) -> None:
    dumps = compare_cadences(pg_server, batches, tmp_path, cut=cut, select=select, targets=targets)
    assert_same_crm(dumps)


def test_nip_change_between_unbuilt_loads_reviews_nip_changed(pg_server, tmp_path, dbt_targets):
    batches = [
        (contractors("c1.xml", "crm", (Contractor("K1", "Alfa", NIP_A, email="a@alfa.pl"),)),),
        (
            contractors("c2.xml", "crm", (Contractor("K1", "Alfa", NIP_B),)),
            invoices_file("i.xml", "crm", (Invoice("F1", 123, buyer_source_id="K1"),)),
            calendar_file("e.xml", "crm", (Event("ev1@crm7", "Spotkanie", 3, "crm", "K1"),)),
            financials_file("f.xml", "crm", (Financials(10, 100, 5, company_record_id="K1"),)),
        ),
    ]
    same_crm_at_every_cadence(pg_server, tmp_path, dbt_targets, batches, select=SELECT)


def test_field_a_later_version_leaves_out_keeps_its_value_at_every_cadence(
    pg_server, tmp_path, dbt_targets
):
    first = Contractor(
        "K1",
        "Alfa",
        NIP_A,
        city="Warszawa",
        phone="+48 22 123 45 67",
        email="biuro@alfa.pl",
        www="www.alfa.pl",
    )
    batches = [
        (contractors("c1.xml", "crm", (first,)),),
        (contractors("c2.xml", "crm", (Contractor("K1", "Alfa Sp. z o.o.", NIP_A),)),),
    ]
    same_crm_at_every_cadence(pg_server, tmp_path, dbt_targets, batches)


def test_link_last_load_id_is_the_same_after_an_unchanged_record_at_every_cadence(
    pg_server, tmp_path, dbt_targets
):
    record = Contractor("K1", "Alfa", NIP_A)
    batches = [
        (contractors("c1.xml", "erp", (record,)),),
        # The same record again in another file (another record beside it): not a re-send.
        (contractors("c2.xml", "erp", (record, Contractor("K2", "Beta", NIP_B))),),
    ]
    same_crm_at_every_cadence(pg_server, tmp_path, dbt_targets, batches)


def test_second_record_of_a_source_with_the_same_nip_reviews_alike_at_every_cadence(
    pg_server, tmp_path, dbt_targets
):
    batches = [
        (contractors("c1.xml", "erp", (Contractor("K1", "Alfa", NIP_A),)),),
        (contractors("c2.xml", "erp", (Contractor("K2", "Alfa bis", NIP_A),)),),
    ]
    same_crm_at_every_cadence(pg_server, tmp_path, dbt_targets, batches)
