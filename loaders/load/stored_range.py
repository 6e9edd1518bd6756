"""Dates the XSD allows but crm7 does not store: checked per record, like the XSD itself.

``xs:date`` and ``xs:dateTime`` accept any year, negative or of any number of digits
(``300000-01-01``, ``-5000-01-01``); PostgreSQL refuses some of them, and one such value
would fail the whole file's COPY. crm7 stores years 0001 to 9999: a record with a date
outside them is a reject naming the field and its line, in ``crm7 load`` and in
``crm7 validate`` alike (both read records through loaders.load.records).
"""

from __future__ import annotations

import functools
import re

from lxml import etree

from loaders.contracts import Table

TEMPORAL_TYPES = frozenset({"date", "timestamp", "timestamptz"})
STORED_YEARS = "0001 to 9999"
YEAR = re.compile(r"\s*(-?)(\d+)-")

# (path of tags from the table's element, attribute name or None for the text)
Check = tuple[tuple[str, ...], str | None]


@functools.cache
def _checks(table: Table) -> tuple[Check, ...]:
    return tuple(
        (tuple(source[1]), source[2] if source[0] == "attr" else None)
        for column, source in zip(table.columns, table.sources, strict=True)
        if column.pg_type in TEMPORAL_TYPES
    )


@functools.cache
def _has_checks(table: Table) -> bool:
    return bool(_checks(table)) or any(_has_checks(child) for child in table.children)


def _year_problem(value: str) -> str | None:
    found = YEAR.match(value)
    if found is None:
        return None
    sign, digits = found.groups()
    if not sign and len(digits) == 4 and digits != "0000":
        return None
    return f"year {sign}{digits} is outside {STORED_YEARS}, the years crm7 stores"


def _targets(element: etree._Element, path: tuple[str, ...]) -> list[etree._Element]:
    found = [element]
    for tag in path:
        found = [child for parent in found for child in parent if child.tag == tag]
    return found


def out_of_range(element: etree._Element, table: Table) -> list[tuple[etree._Element, str]]:
    """(element, message) for each date in the record ``element`` crm7 cannot store."""
    if not _has_checks(table):
        return []
    problems = []
    for path, attribute in _checks(table):
        for target in _targets(element, path):
            value = target.get(attribute) if attribute else target.text
            problem = _year_problem(value) if value else None
            if problem is not None:
                name = etree.QName(target).localname
                where = f"Element '{name}'" + (f", attribute '{attribute}'" if attribute else "")
                problems.append((target, f"{where}: '{value.strip()}': {problem}."))
    for child in table.children:
        for child_element in element.iter(child.tag):
            if child_element is not element:
                problems.extend(out_of_range(child_element, child))
    return problems
