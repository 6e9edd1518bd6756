"""A contract's field limits, read from its XSD for the code that writes contract files."""

from __future__ import annotations

import pytest

from loaders.contracts import all_contracts
from loaders.contracts.facets import field_facets
from loaders.errors import ContractError

INVOICES = "urn:crm7:contract:invoices:v1"


@pytest.fixture(scope="module")
def invoices():
    return all_contracts()[INVOICES]


def test_lengths_digits_and_values_come_from_the_xsd(invoices):
    assert field_facets(invoices, "invoice/number").max_length == 100
    assert field_facets(invoices, "invoice/seller/name").max_length == 500
    quantity = field_facets(invoices, "invoice/line/quantity")
    assert (quantity.fraction_digits, quantity.total_digits) == (6, 18)
    # PositiveAmount restricts Amount: the digits are the base type's.
    amount = field_facets(invoices, "invoice/payment/amount")
    assert (amount.fraction_digits, amount.total_digits) == (2, 18)
    assert "PRO" in field_facets(invoices, "invoice/kind").enumeration
    assert field_facets(invoices, "invoice/bankAccount").patterns == ("[0-9A-Z ]{10,42}",)


def test_accepts_a_value_as_written(invoices):
    country = field_facets(invoices, "invoice/buyer/countryCode")
    assert country.accepts("DE") and not country.accepts("de")
    source_system = field_facets(invoices, "invoices/@sourceSystem")
    assert source_system.accepts("ksef")
    assert not source_system.accepts(" ksef"), "the XSD collapses it; a writer writes it as is"
    assert not source_system.accepts("KSeF")


def test_a_field_the_contract_does_not_have_is_a_named_error(invoices):
    with pytest.raises(ContractError, match="no field 'invoice/seller/fax'"):
        field_facets(invoices, "invoice/seller/fax")
    with pytest.raises(ContractError, match="not a simple-typed field"):
        field_facets(invoices, "invoice/seller")
