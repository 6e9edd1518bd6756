"""Property: crm.* is a function of the loads, not of when dbt build ran.

Hypothesis draws small sequences of batches (2-5) over three NIPs with valid checksums and
one without, three source record ids in two source systems: NIP changes, several records
of one source sharing a NIP, deletions, left-out fields, re-sends of an earlier file, and
invoices, calendar events and financials referring to the contractors by source id and/or
NIP. Each sequence is loaded into fresh databases and built after every batch, once at
the end, and after the first ``cut`` batches then with ``--full-refresh``; the three dumps
of crm.* must be identical (cadence_harness).

The CI variant runs a few derandomized examples without shrinking (its cost stays within
minutes); ``pytest -m bench tests/cadence`` runs many random ones and shrinks a failure to
a minimal sequence: turn that into a named test in test_cadence_regressions.py.
"""

from __future__ import annotations

import pytest
from cadence_files import (
    CITIES,
    CLEARED,
    INVALID_NIP,
    INVALID_REGON,
    NAMES,
    RECORD_IDS,
    SOURCES,
    VALID_NIPS,
    VALID_REGONS,
    Contractor,
    Event,
    Financials,
    Invoice,
    calendar_file,
    contractors_file,
    financials_file,
    invoices_file,
    nillable_elements,
)
from cadence_harness import SELECT, XmlFile, assert_same_crm, compare_cadences
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# Clearing a value (contracts 1.1, xsi:nil="true"): part of the strategy for every element
# the contractors contract declares nillable. >>> CLEARED FIELDS: see optional() <<<
NILLABLE = nillable_elements()

# Dense on purpose: few values, mostly present, so that a handful of examples already
# has records changing NIP, sharing one, losing a field, and references that follow them.
nips = st.sampled_from((*VALID_NIPS[:2], *VALID_NIPS, INVALID_NIP))
maybe_nip = st.sampled_from((None, *VALID_NIPS[:2], *VALID_NIPS, INVALID_NIP))
record_ids = st.sampled_from(RECORD_IDS[:2] + RECORD_IDS)
sometimes = st.sampled_from((False, False, False, True))


def optional(element: str, *values: str) -> st.SearchStrategy[str | None]:
    """Left out (None: "no news") or a value; cleared (xsi:nil) too if ``element`` is nillable.

    >>> CLEARED FIELDS <<< nillable_elements() turns them on by itself, element by element,
    once the contractors contract declares them nillable (issue 11, contracts 1.1).
    """
    choices: list[str | None] = [None, *values]
    if element in NILLABLE:
        choices.append(CLEARED)
    return st.sampled_from(choices)


contractors = st.builds(
    Contractor,
    record_id=record_ids,
    name=st.sampled_from(NAMES),
    nip=maybe_nip,
    nip_spelling=st.integers(0, 2),
    regon=st.sampled_from((None, *VALID_REGONS, INVALID_REGON)),
    city=st.sampled_from((None, *CITIES)),
    phone=optional("phone", "+48 22 123 45 67", "(22) 765-43-21"),
    fax=optional("fax", "22 111 22 33"),
    email=optional("email", "biuro@alfa.pl", "Biuro@Alfa.PL", "info@beta.pl"),
    www=optional("www", "www.alfa.pl", "https://beta.pl"),
    deleted=sometimes,
)
invoices = st.builds(
    Invoice,
    record_id=st.sampled_from(("F1", "F2")),
    gross=st.sampled_from((123, 246)),
    buyer_source_id=st.none() | record_ids,
    buyer_nip=st.none() | nips,
    deleted=sometimes,
)
events = st.builds(
    Event,
    uid=st.sampled_from(("ev1@crm7", "ev2@crm7")),
    title=st.sampled_from(("Spotkanie", "Telefon")),
    day=st.integers(2, 3),
    company_source=st.sampled_from(SOURCES),
    company_record_id=st.none() | record_ids,
    company_nip=st.none() | nips,
    deleted=sometimes,
)
financials = st.builds(
    Financials,
    month=st.sampled_from((10, 11)),
    current=st.sampled_from((100, 200)),
    overdue=st.sampled_from((0, 50)),
    company_record_id=st.none() | record_ids,
    company_nip=st.none() | nips,
    credit_limit=st.none() | st.just(150),
)


@st.composite
def new_file(draw, name: str) -> XmlFile:
    kind = draw(
        st.sampled_from(("contractors", "contractors", "invoices", "calendar", "financials"))
    )
    source = draw(st.sampled_from(SOURCES))
    name = f"{name}_{kind}_{source}.xml"
    if kind == "contractors":
        return contractors_file(
            name, source, tuple(draw(st.lists(contractors, min_size=1, max_size=3)))
        )
    if kind == "invoices":
        return invoices_file(name, source, tuple(draw(st.lists(invoices, min_size=1, max_size=2))))
    if kind == "calendar":
        return calendar_file(name, source, tuple(draw(st.lists(events, min_size=1, max_size=2))))
    return financials_file(name, source, tuple(draw(st.lists(financials, min_size=1, max_size=2))))


@st.composite
def load_sequences(draw, max_batches: int) -> tuple[list[tuple[XmlFile, ...]], int]:
    """(batches, cut): 2..max_batches batches of 1-3 files, some re-sending an earlier file
    unchanged; the full-refresh cadence builds after the first ``cut`` of them."""
    batches: list[tuple[XmlFile, ...]] = []
    sent: list[XmlFile] = []
    for number in range(draw(st.integers(2, max_batches))):
        files = []
        for position in range(draw(st.integers(1, 3))):
            if sent and draw(st.integers(0, 4)) == 0:
                files.append(draw(st.sampled_from(sent)))  # the same file again: skipped
            else:
                files.append(draw(new_file(f"b{number + 1}f{position + 1}")))
        batches.append(tuple(files))
        sent.extend(files)
    return batches, draw(st.integers(0, len(batches)))


def check_same_crm(pg_server, workdir, sequence) -> None:
    batches, cut = sequence
    dumps = compare_cadences(pg_server, batches, workdir, cut=cut, select=SELECT)
    assert_same_crm(dumps)


@pytest.fixture(scope="module")
def cadence_workdir(tmp_path_factory):
    """One directory for every example: each cadence's dbt target (and its partial parse)
    carries over from one example to the next."""
    return tmp_path_factory.mktemp("cadence")


@pytest.mark.slow
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow,),
)
@given(sequence=load_sequences(max_batches=3))
def test_crm_is_the_same_whatever_the_build_cadence(pg_server, cadence_workdir, sequence):
    check_same_crm(pg_server, cadence_workdir, sequence)


@pytest.mark.bench
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=(HealthCheck.too_slow,),
)
@given(sequence=load_sequences(max_batches=5))
def test_crm_is_the_same_whatever_the_build_cadence_many_examples(
    pg_server, cadence_workdir, sequence
):
    check_same_crm(pg_server, cadence_workdir, sequence)
