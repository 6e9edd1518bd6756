"""Phone numbers to E.164, with the extension apart: the ``_e164`` and ``_extension``
columns the loader derives beside a column whose type is ``<c7:normalise as="phone"/>``.

The extension is what follows "wew.", "ext" or "w." at the end (the spellings the
contract's PhoneText allows); the rest is parsed by ``phonenumbers`` with default region
PL and kept when it is a possible number. ``phonenumbers.parse`` costs tens of
microseconds, a lot beside the loader's ~25 µs per record, so the common Polish forms (9
digits, the first not 0, with single spaces or dashes, optionally after +48 or 0048) take
a fast path that gives the same result; a property test proves it does.
"""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "PL"

EXTENSION = re.compile(r"\s*(?:wew\.?|ext\.?|w\.)\s*([0-9]{1,6})\s*$", re.IGNORECASE | re.ASCII)
POLISH = re.compile(r"(?:(?:\+|00)48[ -]?)?([1-9](?:[ -]?[0-9]){8})", re.ASCII)


def normalise_phone(value: str) -> tuple[str | None, str | None]:
    """(E.164 number or None, extension digits or None) of a phone number as written."""
    text, extension = split_extension(value)
    polish = POLISH.fullmatch(text)
    if polish is not None:
        return "+48" + polish[1].replace(" ", "").replace("-", ""), extension
    return parse_phone(text, extension)


def normalise_phone_slowly(value: str) -> tuple[str | None, str | None]:
    """What ``normalise_phone`` gives, always through ``phonenumbers``: the reference."""
    return parse_phone(*split_extension(value))


def split_extension(value: str) -> tuple[str, str | None]:
    """(the number, the extension's digits or None): "22 654 32 10 wew. 15" -> 15."""
    text = value.strip()
    # Every spelling of an extension has a w or an x: most numbers skip the search.
    if "w" in text or "x" in text or "W" in text or "X" in text:
        found = EXTENSION.search(text)
        if found is not None:
            return text[: found.start()], found[1]
    return text, None


def parse_phone(text: str, extension: str | None = None) -> tuple[str | None, str | None]:
    """``phonenumbers`` for any spelling; ``extension`` when already split off."""
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None, extension
    if extension is None and number.extension:
        extension = number.extension
    if not phonenumbers.is_possible_number(number):
        return None, extension
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), extension
