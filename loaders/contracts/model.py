"""The contracts in ``contracts/``: which exist, and how each maps onto raw tables.

A contract is an XSD at ``contracts/<name>/v<major>/<name>.xsd`` whose target namespace
ends in ``:v<major>``. xmlschema reads it (types, documentation); the loader needs only
the table layout derived here, so adding an entity means adding its XSD and nothing in
Python.

Mapping rules, applied to every contract alike:
- the root is the one global element without a ``c7:table`` annotation;
- each element annotated ``<c7:table name="..."/>`` becomes a raw table; a root child so
  annotated is a *record*, validated and counted on its own (``updates="replace"``: a later
  version replaces it whole, children included);
- inside a table element, attributes and single simple-typed children become columns
  (snake_case), simple content becomes ``value``, a single complex child without a table
  annotation is flattened with its name as prefix, and an annotated child becomes a
  child table keyed by ``(_load_id, _record_no, _position)``;
- an optional element declared ``nillable="true"`` (contract version 1.1) may be sent as
  ``xsi:nil="true"``: its column is NULL and listed in the row's ``_nil_fields``, and a
  nil table element becomes a row with ``_is_nil`` (see loaders.contracts.lineage);
- a column whose simple type is annotated ``<c7:normalise as="phone"/>`` gets two
  loader-derived columns beside it, ``<column>_e164`` and ``<column>_extension``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import xmlschema
from xmlschema.validators import XsdAttribute, XsdElement

from loaders.contracts.lineage import LineageColumn, lineage_columns
from loaders.errors import ContractError, UnknownContractError
from loaders.settings import cache_home, project_root

ANNOTATIONS_NS = "urn:crm7:contract-annotations"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
NAMESPACE_VERSION = re.compile(r"^urn:crm7:contract:(?P<name>[a-z_]+):v(?P<major>\d+)$")

# XSD primitive (or well-known derived) type -> PostgreSQL type of the raw column.
PG_TYPES = {
    "boolean": "boolean",
    "date": "date",
    "dateTime": "timestamptz",
    "time": "time",
    "decimal": "numeric",
    "integer": "bigint",
    "double": "double precision",
    "float": "real",
}


# <c7:normalise as="..."/> on a simple type: the derived columns the loader adds beside a
# column of that type, as (suffix, description); the loader's function per kind is in
# loaders.load.phones.
NORMALISATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "phone": (
        (
            "e164",
            "the number in E.164 form (+48226543210), derived by the loader with phonenumbers "
            "(default region PL); NULL when it is not a possible phone number",
        ),
        (
            "extension",
            "the extension's digits (15 in 226543210 wew. 15 or ext 15), derived by the "
            "loader; NULL without one",
        ),
    ),
}


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    collapse: bool  # xs:token and its kin: the value is whitespace-collapsed
    documentation: str = ""
    # The element may be sent as xsi:nil="true" (the value is now empty in the source).
    nillable: bool = False
    # <c7:normalise as="phone"/> on the column's type: the kind of normalisation.
    normalise: str | None = None
    # A column the loader derives from another (phone -> phone_e164): (kind, suffix, column).
    derived_from: tuple[str, str, str] | None = None


@dataclass(eq=False)
class Table:
    """One raw table: the element it comes from and how to read a row out of it."""

    name: str
    tag: str  # Clark notation: {namespace}local
    columns: list[Column] = field(default_factory=list)
    # lxml accessors, in column order: ("attr", name), ("text",), or ("child", path of tags)
    sources: list[tuple] = field(default_factory=list)
    children: list[Table] = field(default_factory=list)
    documentation: str = ""
    is_record: bool = False
    # <c7:table updates="replace"/>: a later version replaces the record as a whole (a
    # document with its lines), rather than updating the fields it carries.
    replaced_whole: bool = False

    @property
    def lineage(self) -> tuple[LineageColumn, ...]:
        """The loader's lineage columns of this table, before the contract's columns."""
        return lineage_columns(self.is_record)

    @property
    def copied_lineage(self) -> tuple[str, ...]:
        """The lineage columns the loader writes in its COPY, in table order."""
        return tuple(column.name for column in self.lineage if column.written_by == "loader")

    def all_tables(self) -> list[Table]:
        tables = [self]
        for child in self.children:
            tables.extend(child.all_tables())
        return tables


@dataclass(eq=False)
class Contract:
    name: str
    major: int
    version: str
    namespace: str
    path: Path
    root_tag: str
    records: list[Table]

    @property
    def label(self) -> str:
        return f"{self.name} v{self.major} ({self.version})"

    @property
    def tables(self) -> list[Table]:
        return [table for record in self.records for table in record.all_tables()]

    @cache  # noqa: B019 - contracts live as long as the process
    def xmlschema(self) -> xmlschema.XMLSchema:
        return _read_schema(self.path)


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def contracts_dir() -> Path:
    here = project_root() / "contracts"
    if here.is_dir():
        return here
    # Installed without a checkout: the contracts beside the package source.
    return Path(__file__).resolve().parents[2] / "contracts"


def _read_schema(path: Path) -> xmlschema.XMLSchema:
    try:
        # No imports from the network: a contract is self-contained.
        return xmlschema.XMLSchema(str(path), allow="sandbox", defuse="always")
    except (xmlschema.XMLSchemaException, OSError) as error:
        raise ContractError(f"contract {path} cannot be read: {error}") from None


def _documentation(component, lang: str = "en") -> str:
    annotation = getattr(component, "annotation", None)
    if annotation is None:
        return ""
    for doc in annotation.documentation:
        if doc.get("{http://www.w3.org/XML/1998/namespace}lang", lang) == lang:
            return " ".join((doc.text or "").split())
    return ""


def _table_annotation(element: XsdElement) -> dict[str, str] | None:
    """The attributes of the element's <c7:table> annotation, None without one."""
    annotation = element.annotation
    if annotation is None:
        ref = getattr(element, "ref", None)
        annotation = ref.annotation if ref is not None else None
    if annotation is None:
        return None
    for appinfo in annotation.appinfo:
        for node in appinfo.iter(f"{{{ANNOTATIONS_NS}}}table"):
            return dict(node.attrib)
    return None


def _normalise_annotation(xsd_type) -> str | None:
    """``as`` of the <c7:normalise> annotation on the type or a type it derives from."""
    seen = 0
    while xsd_type is not None and seen < 20:
        annotation = getattr(xsd_type, "annotation", None)
        for appinfo in annotation.appinfo if annotation is not None else ():
            for node in appinfo.iter(f"{{{ANNOTATIONS_NS}}}normalise"):
                kind = node.get("as")
                if kind not in NORMALISATIONS:
                    raise ContractError(
                        f"<c7:normalise as={kind!r}/>: known kinds are {sorted(NORMALISATIONS)}"
                    )
                return kind
        xsd_type = getattr(xsd_type, "base_type", None)
        seen += 1
    return None


def _table_name(element: XsdElement) -> str | None:
    found = _table_annotation(element)
    return found.get("name") if found else None


def _column_for(name: str, xsd_type, documentation: str, nillable: bool = False) -> Column:
    pg_type = "text"
    collapse = False
    normalise = None
    if xsd_type is not None and xsd_type.is_simple():
        # A union (e.g. a date-time with or without an offset) has no single primitive
        # type: its values land as written, in a text column, for dbt to interpret.
        primitive = getattr(xsd_type, "primitive_type", None)
        local = primitive.local_name if primitive is not None else "string"
        pg_type = PG_TYPES.get(local, "text")
        if local == "decimal" and xsd_type.is_derived(xsd_type.maps.types[f"{{{XSD_NS}}}integer"]):
            pg_type = "bigint"
        white_space = getattr(xsd_type, "white_space", None)
        collapse = white_space == "collapse" and pg_type == "text"
        normalise = _normalise_annotation(xsd_type)
    return Column(
        name=name,
        pg_type=pg_type,
        collapse=collapse,
        documentation=documentation,
        nillable=nillable,
        normalise=normalise,
    )


def _append_column(table: Table, column: Column, source: tuple) -> None:
    """Add a column and its source, and the columns the loader derives from it."""
    table.columns.append(column)
    table.sources.append(source)
    for suffix, description in NORMALISATIONS.get(column.normalise or "", ()):
        table.columns.append(
            Column(
                name=f"{column.name}_{suffix}",
                pg_type="text",
                collapse=False,
                documentation=f"Of {column.name}: {description}.",
                derived_from=(column.normalise, suffix, column.name),
            )
        )
        table.sources.append(("derived", (), column.normalise, suffix, column.name))


def _build_table(element: XsdElement, name: str, is_record: bool) -> Table:
    table = Table(
        name=name,
        tag=element.name,
        documentation=_documentation(element),
        is_record=is_record,
    )
    _add_columns(table, element, prefix="", path=())
    return table


def _add_columns(table: Table, element: XsdElement, prefix: str, path: tuple[str, ...]) -> None:
    xsd_type = element.type
    for attribute in xsd_type.attributes.values() if hasattr(xsd_type, "attributes") else ():
        if not isinstance(attribute, XsdAttribute):
            continue
        column = _column_for(
            prefix + snake_case(attribute.local_name), attribute.type, _documentation(attribute)
        )
        _append_column(table, column, ("attr", path, attribute.name))
    if xsd_type.is_simple() or xsd_type.has_simple_content():
        content_type = xsd_type if xsd_type.is_simple() else xsd_type.content
        column_name = prefix.rstrip("_") if prefix else "value"
        # A nil table element (<phone xsi:nil="true"/>) is the row's _is_nil, not a nil column.
        nillable = bool(path) and element.nillable
        column = _column_for(column_name, content_type, _documentation(element), nillable)
        _append_column(table, column, ("text", path))
        return
    for child in xsd_type.content.iter_elements():
        child_table = _table_name(child)
        if child_table:
            table.children.append(_build_table(child, child_table, is_record=False))
            continue
        if child.max_occurs != 1:
            raise ContractError(
                f"element {child.local_name} repeats but has no <c7:table name=...> annotation: "
                "say which raw table its rows go to"
            )
        child_prefix = prefix + snake_case(child.local_name)
        if child.type.is_simple() or (
            child.type.has_simple_content() and not child.type.attributes
        ):
            content_type = child.type if child.type.is_simple() else child.type.content
            column = _column_for(
                child_prefix, content_type, _documentation(child), bool(child.nillable)
            )
            _append_column(table, column, ("text", (*path, child.name)))
        else:
            _add_columns(table, child, child_prefix + "_", (*path, child.name))


def read_contract(path: Path) -> Contract:
    schema = _read_schema(path)
    namespace = schema.target_namespace
    match = NAMESPACE_VERSION.match(namespace or "")
    if not match:
        raise ContractError(
            f"contract {path}: target namespace {namespace!r} is not urn:crm7:contract:<name>:v<N>"
        )
    roots = [element for element in schema.elements.values() if not _table_name(element)]
    if len(roots) != 1:
        raise ContractError(
            f"contract {path}: expected one global element without <c7:table>, "
            f"found {[root.local_name for root in roots]}"
        )
    root = roots[0]
    records = []
    for child in root.type.content.iter_elements():
        table_name = _table_name(child)
        if table_name:
            target = child.ref if getattr(child, "ref", None) is not None else child
            record = _build_table(target, table_name, is_record=True)
            record.replaced_whole = (_table_annotation(child) or {}).get("updates") == "replace"
            records.append(record)
    if not records:
        raise ContractError(f"contract {path}: the root has no child annotated with <c7:table>")
    return Contract(
        name=match["name"],
        major=int(match["major"]),
        version=schema.version or f"{match['major']}.0",
        namespace=namespace,
        path=path,
        root_tag=root.name,
        records=records,
    )


@cache
def all_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """Every contract under ``contracts/``, by namespace."""
    if directory is None:
        return _cached_project_contracts(contracts_dir())
    return _read_contracts(directory)


def _read_contracts(directory: Path) -> dict[str, Contract]:
    found: dict[str, Contract] = {}
    for path in sorted(directory.glob("*/v*/*.xsd")):
        contract = read_contract(path)
        found[contract.namespace] = contract
    return found


def _cached_project_contracts(directory: Path) -> dict[str, Contract]:
    """The project's contracts, kept in the user's cache folder between processes.

    Reading the XSDs with xmlschema costs ~0.3 s, paid by every ``crm7 load`` and
    ``crm7 dbt`` call; the table layouts change only when a contract file (or this
    module, which derives them) does, which is what the cache key records.
    """
    xsds = sorted(directory.glob("*/v*/*.xsd"))
    key = [
        (str(path), stat.st_mtime_ns, stat.st_size)
        for path in (*xsds, Path(__file__))
        for stat in (path.stat(),)
    ]
    folder = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    cache_file = cache_home() / "crm7" / f"contracts-{folder}.pickle"
    try:
        with cache_file.open("rb") as handle:
            cached_key, contracts = pickle.load(handle)
        if cached_key == key:
            return contracts
    except (
        OSError,
        pickle.PickleError,
        EOFError,
        ImportError,
        AttributeError,
        ValueError,
        TypeError,
    ):
        pass  # no cache yet, or one written by another version: read the contracts
    contracts = _read_contracts(directory)
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_name(f"{cache_file.name}.{os.getpid()}")
        with partial.open("wb") as handle:
            pickle.dump((key, contracts), handle)
        partial.replace(cache_file)  # atomic: concurrent loaders never read half a file
    except OSError:
        pass  # a read-only checkout still works, only slower
    return contracts


def contract_for_namespace(namespace: str | None) -> Contract:
    contracts = all_contracts()
    if namespace in contracts:
        return contracts[namespace]
    known = ", ".join(sorted(contracts)) or "none"
    shown = namespace or "(no namespace)"
    raise UnknownContractError(
        f"the root element's namespace {shown} is not a crm7 contract; known contracts: {known}"
    )
