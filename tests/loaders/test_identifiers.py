"""NIP and REGON rules in Python, against the shared vectors, with python-stdnum as the oracle."""

from __future__ import annotations

import csv

import pytest
from conftest import REFERENCE
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import regon as stdnum_regon

from loaders.identifiers import nip_is_valid, normalize_nip, normalize_regon, regon_is_valid

VECTORS = REFERENCE / "nip_regon" / "nip_regon_vectors.csv"


def vectors(kind: str) -> list[dict[str, str]]:
    with open(VECTORS, newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["kind"] == kind]


def test_the_vectors_cover_both_outcomes():
    for kind in ("NIP", "REGON"):
        outcomes = {row["expected"].startswith("valid") for row in vectors(kind)}
        assert outcomes == {True, False}, kind


@pytest.mark.parametrize("row", vectors("NIP"), ids=lambda row: row["value_raw"] or "<empty>")
def test_nip_agrees_with_stdnum(row):
    assert nip_is_valid(row["value_raw"]) is stdnum_nip.is_valid(row["value_raw"])
    assert nip_is_valid(row["value_raw"]) is (row["expected"] == "valid")


@pytest.mark.parametrize("row", vectors("REGON"), ids=lambda row: row["value_raw"] or "<empty>")
def test_regon_agrees_with_stdnum(row):
    assert regon_is_valid(row["value_raw"]) is stdnum_regon.is_valid(row["value_raw"])
    assert regon_is_valid(row["value_raw"]) is (row["expected"] == "valid")


@pytest.mark.parametrize(
    ("spelling", "digits"),
    [
        ("PL 521-135-51-16", "5211355116"),
        ("pl5211355116", "5211355116"),
        ("521-13-55-116", "5211355116"),
        (" 521 135 51 16 ", "5211355116"),
        ("", None),
        (None, None),
    ],
)
def test_nip_spellings_from_real_exports_normalise(spelling, digits):
    assert normalize_nip(spelling) == digits


def test_regon_spellings_normalise():
    assert normalize_regon("123-456-785") == "123456785"
    assert normalize_regon("12345678512347") == "12345678512347"
