"""Reading a contract file's records in constant memory, each validated: extract.

XML is hostile until validated: the parser's options come from loaders.xml_safety, the
header (loaders.load.header) has already refused a DTD, and a DTD found after all while
streaming refuses the file too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from loaders.contracts import Contract, Table
from loaders.errors import FileRejected
from loaders.load.header import FileHeader
from loaders.load.split import WHOLE_FILE, Segment, SegmentReader
from loaders.load.stored_range import out_of_range
from loaders.xml_safety import SAFE_PARSER_OPTIONS, refuse_dtd, syntax_error

# A namespace in Clark notation, {urn:...} or {http://...}; not a regex quantifier like {9}.
CLARK = re.compile(r"\{[^}\s]*[:/][^}\s]*\}")


NO_ERRORS: list = []  # shared by valid records; never mutated


@dataclass(slots=True)
class Record:
    """One record element, with the table it belongs to and its validation result."""

    number: int  # 1-based position among the file's records
    table: Table
    element: etree._Element
    line: int | None
    errors: list[tuple[int | None, str, str]]  # (line, path, message)
    segment: Segment = WHOLE_FILE  # turns sourceline of elements inside it into file lines

    @property
    def valid(self) -> bool:
        return not self.errors

    def xml(self) -> str:
        return etree.tostring(self.element, encoding="unicode", with_tail=False)


# A quoted value in a validation message longer than this is cut, its length shown: a 5 MB
# attribute must not become 5 MB of printed reasons (the record's XML is kept whole).
ECHOED_VALUE_CHARS = 80
# libxml2 cuts a long message itself, dropping the closing quote: then the value runs to
# the end and its length is at least what is left.
QUOTED_VALUE = re.compile(r"'([^']*)('|$)")  # left to right: quotes pair up in order


def _shortened(quoted: re.Match) -> str:
    value, closed = quoted[1], quoted[2]
    if len(value) <= ECHOED_VALUE_CHARS:
        return quoted[0]
    length = f"{len(value):,} characters" if closed else f"over {len(value):,} characters"
    return f"'{value[:ECHOED_VALUE_CHARS]}...' ({length})"


def readable_error(message: str) -> str:
    return QUOTED_VALUE.sub(_shortened, CLARK.sub("", message)).strip()


@dataclass
class SegmentProgress:
    """What a reader has done in its segment so far."""

    items: int = 0  # records and strays numbered
    bytes_read: int = 0


def iter_record_batches(
    path: Path,
    header: FileHeader,
    schema: etree.XMLSchema,
    batch_size: int = 1000,
    segment: Segment = WHOLE_FILE,
    progress: SegmentProgress | None = None,
    batch_bytes: int = 1 << 20,
) -> Iterator[list[Record]]:
    """Stream a file's (or a segment's) records in validated batches, in constant memory.

    Records are numbered in file order, from ``segment.first_number + 1``; line numbers
    are the file's. Each batch is validated in one pass; only a batch that fails is
    validated record by record to name the culprits. A batch ends at ``batch_size``
    records or after ``batch_bytes`` of the file, whichever comes first, so that large
    records (an invoice with its lines) do not make a batch, and memory, grow. Anything
    under the root that is not a record is yielded as an invalid record: nothing goes
    unaccounted. Elements are freed once the caller is done with the batch.
    """
    contract = header.contract
    tables = {table.tag: table for table in contract.records}
    progress = progress if progress is not None else SegmentProgress()
    numbered = segment.first_number
    pending: list[tuple[int, etree._Element, bool]] = []  # (number, element, is_record)
    holder = None
    root = None
    reader = SegmentReader(path, segment)
    flushed_at = 0  # reader.bytes_read at the end of the last batch

    def flush() -> list[Record]:
        nonlocal flushed_at
        records = _validate_batch(holder, pending, tables, schema, contract, segment)
        pending.clear()
        flushed_at = reader.bytes_read
        progress.items = numbered - segment.first_number
        progress.bytes_read = reader.bytes_read
        return records

    try:
        context = etree.iterparse(reader, events=("end",), tag=tuple(tables), **SAFE_PARSER_OPTIONS)
        for _event, element in context:
            parent = element.getparent()
            if parent is not root:
                if root is not None or parent is None or parent.getparent() is not None:
                    continue  # a record tag nested inside a record: part of that record
                root = parent
                refuse_dtd(path, root.getroottree())
                _check_root_shell(path, root, schema)
                holder = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
            if element.getprevious() is None:  # the usual case: no stray before it
                numbered += 1
                holder.append(element)  # moves it out of the parsed tree
                pending.append((numbered, element, True))
            else:
                for item in [*_strays_before(element, root), element]:
                    numbered += 1
                    holder.append(item)
                    pending.append((numbered, item, item is element))
            if len(pending) >= batch_size or reader.bytes_read - flushed_at >= batch_bytes:
                yield flush()
                holder.clear()
        root = context.root
        refuse_dtd(path, root.getroottree())
        if holder is None:
            _check_root_shell(path, root, schema)
            holder = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
        for stray in list(root):  # non-record children after the last record
            numbered += 1
            holder.append(stray)
            pending.append((numbered, stray, False))
        yield flush()
    except etree.XMLSyntaxError as error:
        raise syntax_error(path, error) from None
    finally:
        reader.close()


def _validate_batch(holder, pending, tables, schema, contract, segment: Segment) -> list[Record]:
    if not pending:
        return []
    line = segment.file_line
    strays = any(not is_record for _number, _element, is_record in pending)
    if not strays and schema.validate(holder):  # the usual case: one check for the batch
        if len(tables) == 1:
            (table,) = tables.values()
            records = [
                Record(number, table, element, line(element.sourceline), NO_ERRORS, segment)
                for number, element, _ in pending
            ]
        else:
            records = [
                Record(
                    number,
                    tables[element.tag],
                    element,
                    line(element.sourceline),
                    NO_ERRORS,
                    segment,
                )
                for number, element, _ in pending
            ]
        for record in records:
            record.errors = _stored_range_errors(record.element, record.table, line)
        return records
    records = []
    for number, element, is_record in pending:
        if not is_record:
            records.append(_stray(number, element, contract, segment))
            continue
        errors: list[tuple[int | None, str, str]] = []
        if not schema.validate(element):
            errors = [
                (line(entry.line), _error_path(element, entry), readable_error(entry.message))
                for entry in schema.error_log
            ]
        else:
            errors = _stored_range_errors(element, tables[element.tag], line)
        records.append(
            Record(number, tables[element.tag], element, line(element.sourceline), errors, segment)
        )
    return records


def _stored_range_errors(element, table: Table, line) -> list[tuple[int | None, str, str]]:
    """Errors for the dates of a valid record crm7 cannot store (loaders.load.stored_range)."""
    problems = out_of_range(element, table)
    if not problems:
        return NO_ERRORS
    return [
        (line(target.sourceline), _element_path(element, target), readable_error(message))
        for target, message in problems
    ]


ERROR_ELEMENT = re.compile(r"^Element '(?:\{[^}]*\})?([^']+)'")


def _error_path(record: etree._Element, entry) -> str:
    """Path of the element an error names, from the record: ``contractor/address[2]/city``."""
    match = ERROR_ELEMENT.match(entry.message or "")
    target = record
    if match:
        for candidate in record.iter():
            if candidate.sourceline == entry.line and etree.QName(candidate).localname == match[1]:
                target = candidate
                break
    return _element_path(record, target)


def _element_path(record: etree._Element, target: etree._Element) -> str:
    steps = []
    node = target
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if node is record or parent is None:
            steps.append(name)
            break
        same = [sibling for sibling in parent if sibling.tag == node.tag]
        steps.append(f"{name}[{same.index(node) + 1}]" if len(same) > 1 else name)
        node = parent
    return "/".join(reversed(steps))


def _strays_before(element: etree._Element, root: etree._Element) -> list[etree._Element]:
    strays = []
    previous = element.getprevious()
    while previous is not None:
        strays.append(previous)
        previous = previous.getprevious()
    strays.reverse()
    return strays


def _stray(number: int, element: etree._Element, contract: Contract, segment: Segment) -> Record:
    name = etree.QName(element)
    expected = ", ".join(f"<{etree.QName(table.tag).localname}>" for table in contract.records)
    message = (
        f"element <{name.localname}> (namespace {name.namespace or 'none'}) is not a record of "
        f"contract {contract.label}; expected {expected}"
    )
    table = contract.records[0]
    line = segment.file_line(element.sourceline)
    return Record(number, table, element, line, [(line, "", message)], segment)


def _check_root_shell(path: Path, root: etree._Element, schema: etree.XMLSchema) -> None:
    """Validate the root's own attributes, without its records."""
    shell = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
    if not schema.validate(shell):
        first = schema.error_log[0]
        raise FileRejected(
            str(path), f"root element: {readable_error(first.message)}", root.sourceline
        )
