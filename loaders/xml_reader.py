"""Reading a contract file safely and in constant memory: extract.

XML is hostile until validated. Every parser here is built with entity resolution,
DTD loading and network access off, and a document that declares a DTD at all is
refused before its first record is read: that is where entity bombs and external
entities live, and a data contract has no use for either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from loaders.contracts import Contract, Table, contract_for_namespace
from loaders.errors import FileRejected, HostileXmlError

PEEK_CHUNK = 64 * 1024
PEEK_LIMIT = 4 * 1024 * 1024  # a root element starts long before this
CLARK = re.compile(r"\{[^}]*\}")
SAFE_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


@dataclass(frozen=True)
class FileHeader:
    contract: Contract
    root_attributes: dict[str, str]
    root_line: int


def _syntax_error(path: Path, error: etree.XMLSyntaxError) -> FileRejected:
    line, column = error.position if error.position else (error.lineno, None)
    message = error.msg or str(error)
    message = re.sub(r",? line \d+, column \d+$", "", message)
    return FileRejected(str(path), f"not well-formed XML: {message}", line, column)


def read_header(path: Path) -> FileHeader:
    """The contract a file follows, from its root element, read without touching records.

    Raises HostileXmlError for a DTD, FileRejected for anything not well-formed up to the
    root, UnknownContractError for a root in no known contract namespace.
    """
    parser = etree.XMLPullParser(events=("start",), **SAFE_PARSER_OPTIONS)
    read = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(PEEK_CHUNK)
            read += len(chunk)
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
            except etree.XMLSyntaxError as error:
                raise _syntax_error(path, error) from None
            for _event, root in parser.read_events():
                _refuse_dtd(path, root)
                contract = contract_for_namespace(etree.QName(root).namespace)
                if root.tag != contract.root_tag:
                    raise FileRejected(
                        str(path),
                        f"root element <{etree.QName(root).localname}> is not the root of "
                        f"contract {contract.label}: expected "
                        f"<{etree.QName(contract.root_tag).localname}>",
                        root.sourceline,
                    )
                return FileHeader(contract, dict(root.attrib), root.sourceline or 1)
            if not chunk:
                raise FileRejected(str(path), "the file holds no XML element")
            if read > PEEK_LIMIT:
                raise FileRejected(str(path), "no root element in the first 4 MiB of the file")


def _refuse_dtd(path: Path, root: etree._Element) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise HostileXmlError(
            str(path),
            "the file declares a DTD (<!DOCTYPE ...>); crm7 refuses DTDs and entities "
            "(they enable XXE and entity-expansion attacks). Export the file without a DOCTYPE.",
            1,
        )


@dataclass
class Record:
    """One record element, with the table it belongs to and its validation result."""

    number: int  # 1-based position among the file's records
    table: Table
    element: etree._Element
    line: int
    errors: list[tuple[int | None, str, str]]  # (line, path, message)

    @property
    def valid(self) -> bool:
        return not self.errors

    def xml(self) -> str:
        return etree.tostring(self.element, encoding="unicode", with_tail=False)


class _CountingReader:
    """File wrapper that tells how many bytes the parser has consumed (for progress)."""

    def __init__(self, handle: BinaryIO):
        self._handle = handle
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.bytes_read += len(data)
        return data


def readable_error(message: str) -> str:
    return CLARK.sub("", message).strip()


def iter_records(
    path: Path, header: FileHeader, schema: etree.XMLSchema, reader_box: list | None = None
) -> Iterator[Record]:
    """Stream the file's records, each validated on its own against the contract.

    Elements are freed as soon as they are consumed, so memory stays flat whatever the
    file size. Anything under the root that is not a record is yielded as an invalid
    record rather than skipped: nothing in the file goes unaccounted.
    """
    contract = header.contract
    tables = {table.tag: table for table in contract.records}
    record_number = 0
    with open(path, "rb") as handle:
        counting = _CountingReader(handle)
        if reader_box is not None:
            reader_box.append(counting)
        context = etree.iterparse(
            counting, events=("end",), tag=tuple(tables), **SAFE_PARSER_OPTIONS
        )
        root = None
        validate = schema.validate
        try:
            for _event, element in context:
                parent = element.getparent()
                if parent is not root:
                    if root is not None or parent is None or parent.getparent() is not None:
                        continue  # a record tag nested inside a record: part of that record
                    root = parent
                    _refuse_dtd(path, root)
                    _check_root_shell(path, root, schema)
                if element.getprevious() is not None:
                    for stray in _strays_before(element, root):
                        record_number += 1
                        yield _stray(record_number, stray, contract)
                record_number += 1
                errors = []
                if not validate(element):
                    errors = [
                        (entry.line, CLARK.sub("", entry.path or ""), readable_error(entry.message))
                        for entry in schema.error_log
                    ]
                yield Record(
                    record_number, tables[element.tag], element, element.sourceline, errors
                )
                # Drop the processed record so the tree never grows.
                element.clear(keep_tail=False)
                root.remove(element)
            root = context.root
            _refuse_dtd(path, root)
            if record_number == 0:
                _check_root_shell(path, root, schema)
            for stray in list(root):  # non-record children after the last record
                record_number += 1
                yield _stray(record_number, stray, contract)
        except etree.XMLSyntaxError as error:
            raise _syntax_error(path, error) from None


def _strays_before(element: etree._Element, root: etree._Element) -> list[etree._Element]:
    strays = []
    previous = element.getprevious()
    while previous is not None:
        strays.append(previous)
        previous = previous.getprevious()
    strays.reverse()
    for stray in strays:
        root.remove(stray)
    return strays


def _stray(number: int, element: etree._Element, contract: Contract) -> Record:
    name = etree.QName(element)
    expected = ", ".join(f"<{etree.QName(table.tag).localname}>" for table in contract.records)
    message = (
        f"element <{name.localname}> (namespace {name.namespace or 'none'}) is not a record of "
        f"contract {contract.label}; expected {expected}"
    )
    table = contract.records[0]
    return Record(
        number, table, element, element.sourceline or 0, [(element.sourceline, "", message)]
    )


def _check_root_shell(path: Path, root: etree._Element, schema: etree.XMLSchema) -> None:
    """Validate the root's own attributes, without its records."""
    shell = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
    if not schema.validate(shell):
        first = schema.error_log[0]
        raise FileRejected(
            str(path), f"root element: {readable_error(first.message)}", root.sourceline
        )
