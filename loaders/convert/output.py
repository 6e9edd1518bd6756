"""Writing contract files from a converter: streamed, and all or nothing.

A converter builds each record as a list of ``(name, value)`` items in the XSD's order
(``value`` a text, a number, a date, None to leave the field out, or a list of items for
a child element; ``(name, value, {"type": "registered"})`` gives the element attributes)
and hands it to ``ContractFile.write``, which serialises it at once: one record in memory
at a time.

``Outputs`` opens one file per contract on first use, each beside its final name as a
hidden ``.partial`` file, and renames them all only when the whole conversion succeeded;
an error anywhere removes them, so a failed conversion writes nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import IO

from loaders.contracts import contract_for_namespace
from loaders.contracts.facets import FieldFacets, field_facets

# XML 1.0 forbids these; every contract text field is a token (whitespace collapsed).
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


@dataclass(frozen=True)
class Target:
    """A contract a converter writes: namespace, root and record element, file name."""

    namespace: str
    root: str
    record: str
    file_name: str


CONTRACTORS = Target(
    "urn:crm7:contract:contractors:v1", "contractors", "contractor", "contractors.xml"
)
PRODUCTS = Target("urn:crm7:contract:products:v1", "products", "product", "products.xml")
PRICES = Target("urn:crm7:contract:prices:v1", "prices", "price", "prices.xml")
INVOICES = Target("urn:crm7:contract:invoices:v1", "invoices", "invoice", "invoices.xml")
WAREHOUSE_DOCUMENTS = Target(
    "urn:crm7:contract:warehouse_documents:v1",
    "warehouseDocuments",
    "document",
    "warehouse_documents.xml",
)


@cache
def contract_field(target: Target, path: str) -> FieldFacets:
    """What the contract allows at ``path`` (``contractor/name``), read from its XSD."""
    return field_facets(contract_for_namespace(target.namespace), path)


def max_length(target: Target, path: str) -> int | None:
    return contract_field(target, path).max_length


def text_value(value: object) -> str:
    """A value as the contract writes it: decimals in plain notation, dates ISO."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def escaped(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or '"' in text:
        return text.translate(ESCAPES)
    return text


PADS = tuple("  " * depth for depth in range(12))
TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _serialise(items: list, depth: int, out: list[str]) -> None:
    pad = PADS[depth]
    for item in items:
        value = item[1]
        if value is None:
            continue
        name = item[0]
        attributes = ""
        if len(item) > 2:
            attributes = "".join(
                f' {key}="{escaped(text_value(val))}"' for key, val in item[2].items()
            )
        if value.__class__ is list:
            out.append(f"{pad}<{name}{attributes}>\n")
            _serialise(value, depth + 1, out)
            out.append(f"{pad}</{name}>\n")
            continue
        text = value if value.__class__ is str else text_value(value)
        if "&" in text or "<" in text or ">" in text:
            text = text.translate(TEXT_ESCAPES)
        out.append(f"{pad}<{name}{attributes}>{text}</{name}>\n")


def serialise(record: str, items: list, depth: int = 1) -> str:
    """One record element as indented XML text in the default (contract) namespace."""
    out = [f"{'  ' * depth}<{record}>\n"]
    _serialise(items, depth + 1, out)
    out.append(f"{'  ' * depth}</{record}>\n")
    text = "".join(out)
    if FORBIDDEN_CHARACTERS.search(text):  # once per record: tags never hold them
        text = FORBIDDEN_CHARACTERS.sub(" ", text)
    return text


class ContractFile:
    """One contract file being written: the root opened, records appended as they come."""

    def __init__(self, target: Target, final: Path, source_system: str) -> None:
        self.target = target
        self.final = final
        self.partial = final.with_name(f".{final.name}.{os.getpid()}.partial")
        self.records = 0
        try:
            self._handle: IO[str] = open(  # noqa: SIM115 (closed in close/discard)
                self.partial, "w", encoding="utf-8", newline="\n"
            )
        except OSError as error:  # name the file the user asked for, not the partial one
            raise OSError(error.errno, error.strerror, str(final)) from None
        self._handle.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<{target.root} xmlns="{target.namespace}" '
            f'sourceSystem="{escaped(source_system)}">\n'
        )

    def write(self, items: list) -> None:
        self._handle.write(serialise(self.target.record, items))
        self.records += 1

    def close(self) -> None:
        self._handle.write(f"</{self.target.root}>\n")
        self._handle.close()

    def discard(self) -> None:
        self._handle.close()
        self.partial.unlink(missing_ok=True)


class Outputs:
    """The files of one conversion in one folder, one per contract, all or nothing.

    ``with Outputs(folder, source_system) as outputs: outputs.file(INVOICES).write(...)``;
    on leaving without an error every file is renamed to its final name, else removed.
    ``always`` names targets written even when no record came (an empty, valid file).
    """

    def __init__(self, folder: Path, source_system: str, always: tuple[Target, ...] = ()):
        self.folder = Path(folder)
        self.source_system = source_system
        self.files: dict[Target, ContractFile] = {}
        self.always = always

    def __enter__(self) -> Outputs:
        self.folder.mkdir(parents=True, exist_ok=True)
        for target in self.always:
            self.file(target)
        return self

    def file(self, target: Target) -> ContractFile:
        found = self.files.get(target)
        if found is None:
            found = ContractFile(target, self.folder / target.file_name, self.source_system)
            self.files[target] = found
        return found

    def written(self) -> dict[str, int]:
        """Records per output file name."""
        return {file.final.name: file.records for file in self.files.values()}

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None:
            for file in self.files.values():
                file.discard()
            return
        try:
            for file in self.files.values():
                file.close()
            for file in self.files.values():
                os.replace(file.partial, file.final)
        finally:
            for file in self.files.values():
                file.partial.unlink(missing_ok=True)


def single_output(target: Target, output: Path, source_system: str) -> ContractFile:
    """One contract file at exactly ``output`` (``crm7 convert table --output OUT.xml``)."""
    return ContractFile(target, Path(output), source_system)
