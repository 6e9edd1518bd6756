"""Phone numbers to E.164: the fast path for Polish forms gives what phonenumbers gives."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from loaders.load.phones import (
    POLISH,
    normalise_phone,
    normalise_phone_slowly,
    split_extension,
)

SEPARATOR = st.sampled_from(["", "", "", " ", "-"])
PREFIX = st.sampled_from(["", "", "+48", "0048", "+48 ", "0048 ", "+48-", "0048-"])
EXTENSION = st.sampled_from(["", "", " wew. 15", " wew 7", " ext 15", " ext.123456", " w. 3"])


@st.composite
def polish_numbers(draw) -> str:
    """9 digits, the first not 0, single spaces or dashes between digits, +48/0048 or not."""
    digits = [draw(st.sampled_from("123456789"))]
    digits += draw(st.lists(st.sampled_from("0123456789"), min_size=8, max_size=8))
    number = digits[0] + "".join(draw(SEPARATOR) + digit for digit in digits[1:])
    return draw(PREFIX) + number + draw(EXTENSION)


@settings(max_examples=400, deadline=None)
@given(polish_numbers())
@example("22 654 32 10")
@example("+48 601-234-567 wew. 15")
def test_the_fast_path_gives_what_phonenumbers_gives(value: str) -> None:
    assert POLISH.fullmatch(split_extension(value)[0]), "the generated form takes the fast path"
    assert normalise_phone(value) == normalise_phone_slowly(value)


# Any text the contract's PhoneText allows, most of it not a fast-path form.
PHONE_TEXT = st.text(alphabet="0123456789 +-()./", min_size=3, max_size=20).map(str.strip)


@settings(max_examples=400, deadline=None)
@given(PHONE_TEXT, EXTENSION)
@example("012345678", "")  # a leading 0: not the fast path
@example("004812345", "")  # 00 is the international prefix: +48 12345, too short
@example("48226543210", "")  # phonenumbers strips the country code
@example("+48 0226543210", "")
def test_every_spelling_gives_what_phonenumbers_gives(text: str, extension: str) -> None:
    value = text + extension
    assert normalise_phone(value) == normalise_phone_slowly(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("226543210", ("+48226543210", None)),
        ("+48 22 654 32 10", ("+48226543210", None)),
        ("0048 22 654 32 10", ("+48226543210", None)),
        ("(22) 654-32-10", ("+48226543210", None)),
        ("226543210 ext 15", ("+48226543210", "15")),
        ("226543210 wew. 15", ("+48226543210", "15")),
        ("42 633 12 00 w. 7", ("+48426331200", "7")),
        ("+49 30 1234567", ("+49301234567", None)),
        ("123", (None, None)),
        ("004812345", (None, None)),
        ("12 ext 5", (None, "5")),  # no number, but the extension is what was written
    ],
)
def test_numbers_as_written_in_exports(value: str, expected: tuple) -> None:
    assert normalise_phone(value) == expected
