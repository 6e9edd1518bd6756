"""Small value rules the EDI++ and table converters share (one place for each)."""

from __future__ import annotations

import re

from loaders.convert.output import Target, contract_field

# "ul. Świętojańska 12, lok. 4", "Lipowa 1/8", "Fiktivstraße 12", "Rynek 5 m. 3"
STREET = re.compile(
    r"^(?P<street>.*?\S)\s+(?P<building>[0-9]+[A-Za-z]?(?:-[0-9]+[A-Za-z]?)?)"
    r"(?:\s*(?:/|,?\s*(?:lok\.?|m\.|lokal|apt\.?))\s*(?P<flat>[0-9A-Za-z]+))?$"
)
PAYMENT_FORMS = {  # payment_type codes (seeds/canonical_payment_types.csv) by name
    "gotówka": "1",
    "gotowka": "1",
    "karta": "2",
    "bon": "3",
    "czek": "4",
    "kredyt": "5",
    "przelew": "6",
    "płatność mobilna": "7",
}


def split_street(value: str) -> tuple[str | None, str | None, str | None]:
    """(street, building number, flat number) of "street building/flat"; the whole text as
    the street when it does not end in a number."""
    text = " ".join(value.split())
    match = STREET.match(text)
    if match is None:
        return (text or None), None, None
    return match["street"], match["building"], match["flat"]


def accepted(target: Target, path: str, value: str | None) -> str | None:
    """``value`` when the contract's field at ``path`` takes it as written, else None."""
    if value is None:
        return None
    return value if contract_field(target, path).accepts(value) else None


def payment_form(name: str | None) -> str | None:
    """The payment_type code of a payment method's name (Przelew -> 6), or None."""
    if not name:
        return None
    return PAYMENT_FORMS.get(" ".join(name.lower().split()))
