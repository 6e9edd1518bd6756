"""Polish company identifiers, NIP and REGON: normalisation and checksums.

The same rules run in SQL where the CRM is built, as the dbt macros in
macros/normalization/ (normalize_nip.sql, nip_checksum_ok.sql, normalize_regon.sql,
regon_checksum_ok.sql); this module serves the Python side (generators, checks) and both
are tested against the same vectors.
"""

from __future__ import annotations

import re

NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
REGON9_WEIGHTS = (8, 9, 2, 3, 4, 5, 6, 7)
REGON14_WEIGHTS = (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)
SEPARATORS = re.compile(r"[\s\-.]")


def normalize_nip(value: str | None) -> str | None:
    """Digits of a NIP as exports write it ("PL 521-135-51-16" -> "5211355116")."""
    if value is None:
        return None
    compact = SEPARATORS.sub("", value).upper()
    if compact.startswith("PL"):
        compact = compact[2:]
    return compact or None


def nip_check_digit(first_nine: str) -> int | None:
    """The 10th digit for nine NIP digits, or None when no NIP can start with them."""
    check = sum(w * int(d) for w, d in zip(NIP_WEIGHTS, first_nine, strict=True)) % 11
    return None if check == 10 else check


def nip_is_valid(value: str | None) -> bool:
    nip = normalize_nip(value)
    if nip is None or len(nip) != 10 or not nip.isascii() or not nip.isdigit():
        return False
    return nip_check_digit(nip[:9]) == int(nip[9])


def normalize_regon(value: str | None) -> str | None:
    if value is None:
        return None
    return SEPARATORS.sub("", value) or None


def _regon_check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11 % 10


def regon_is_valid(value: str | None) -> bool:
    """9-digit REGON, or 14-digit (a local unit) whose first nine digits are valid too."""
    regon = normalize_regon(value)
    if regon is None or not regon.isascii() or not regon.isdigit() or len(regon) not in (9, 14):
        return False
    if _regon_check(regon[:8], REGON9_WEIGHTS) != int(regon[8]):
        return False
    if len(regon) == 14:
        return _regon_check(regon[:13], REGON14_WEIGHTS) == int(regon[13])
    return True
