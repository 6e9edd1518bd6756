"""Turning a validated record element into raw-table rows: normalize.

An extractor is compiled once per contract table from its column sources, so the hot
path is one pass over the record's children with dictionary look-ups, no XPath.

Besides the contract's columns a row gets two lineage values (loaders.contracts.lineage):
``_nil_fields``, the columns whose element was sent as ``xsi:nil="true"``, and ``_is_nil``,
true for a child-table row that stands for a nil element. A nil element is empty (the
schema has checked it), so only an element without text is ever asked for ``xsi:nil``.
Columns derived by the loader (a phone's ``_e164`` and ``_extension``) are filled last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from loaders.contracts import Table
from loaders.load.phones import normalise_phone

Row = list[str | None]
# Receives (extractor, full row with meta columns) for every child-table row of a record.
ChildSink = Callable[["Extractor", Row], None]

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
NIL_TRUE = frozenset(("true", "1"))
# The loader's lineage values the extractor writes, last among the copied lineage columns.
NIL_LINEAGE = ("_nil_fields", "_is_nil")
NO_NIL_FIELDS = "{}"  # COPY text of an empty text[]


@dataclass(eq=False)
class Extractor:
    table: Table
    width: int
    meta_width: int
    attributes: list[tuple[int, str]] = field(default_factory=list)
    own_text: int | None = None
    child_text: dict[str, int] = field(default_factory=dict)
    nested: dict[str, Extractor] = field(default_factory=dict)  # flattened complex children
    child_tables: dict[str, Extractor] = field(default_factory=dict)
    # Indexes (in the full row, meta columns first) of whitespace-collapsed columns.
    collapse: tuple[int, ...] = ()
    # Column name of each row index a child element's text goes to (for _nil_fields).
    names: dict[int, str] = field(default_factory=dict)
    # Of a flattened complex child: the columns its content fills, listed when it is nil.
    content_columns: tuple[str, ...] = ()
    # Derived columns, per column they derive from: (kind, its index, ((suffix, index), ...)).
    derived: tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...] = ()

    def new_row(self, meta: list[str | None]) -> Row:
        """A row with ``meta`` (the lineage values before _nil_fields and _is_nil)."""
        return [*meta, NO_NIL_FIELDS, "f", *([None] * self.width)]

    def fill(
        self,
        element: etree._Element,
        row: Row,
        sink: ChildSink,
        record_meta: list,
        file_line: Callable[[int | None], int | None],
        nils: list[str] | None = None,
    ) -> None:
        """Write the element's values into ``row``; child-table rows go to ``sink``.

        ``file_line`` turns the parser's line numbers into the file's; ``nils`` collects
        the row's nil columns (given by the caller for a flattened child's level)."""
        top = nils is None
        if top:
            nils = []
        for index, name in self.attributes:
            row[index] = element.get(name)
        if self.own_text is not None:
            row[self.own_text] = element.text
        positions: dict[str, int] | None = None
        for child in element:
            tag = child.tag
            index = self.child_text.get(tag)
            if index is not None:
                text = child.text
                if text is None and child.get(XSI_NIL) in NIL_TRUE:
                    nils.append(self.names[index])
                row[index] = text
                continue
            sub = self.child_tables.get(tag)
            if sub is not None:
                if positions is None:
                    positions = {}
                position = positions[tag] = positions.get(tag, 0) + 1
                line = file_line(child.sourceline)
                sub_row = sub.new_row(
                    [*record_meta, None if line is None else str(line), str(position)]
                )
                if len(child) == 0 and child.get(XSI_NIL) in NIL_TRUE:
                    sub_row[sub.meta_width - 1] = "t"  # _is_nil: only its attributes are set
                sub.fill(child, sub_row, sink, record_meta, file_line)
                sink(sub, sub_row)
                continue
            nested = self.nested.get(tag)
            if nested is not None:
                if len(child) == 0 and child.get(XSI_NIL) in NIL_TRUE:
                    nils.extend(nested.content_columns)
                nested.fill(child, row, sink, record_meta, file_line, nils)
        if top:
            if nils:
                row[self.meta_width - 2] = "{" + ",".join(nils) + "}"
            for kind, base, targets in self.derived:
                value = row[base]
                if value is not None:
                    derived = DERIVE[kind](value)
                    for suffix, index in targets:
                        row[index] = derived[suffix]


def _phone(value: str) -> dict[str, str | None]:
    e164, extension = normalise_phone(value)
    return {"e164": e164, "extension": extension}


# Kind of <c7:normalise as="..."/> -> the function giving its derived values, by suffix.
DERIVE: dict[str, Callable[[str], dict[str, str | None]]] = {"phone": _phone}


def compile_extractor(table: Table) -> Extractor:
    lineage = table.copied_lineage
    if lineage[-len(NIL_LINEAGE) :] != NIL_LINEAGE:
        raise AssertionError(f"{table.name}: {NIL_LINEAGE} must end the copied lineage")
    meta_width = len(lineage)
    extractor = _compile_sources(
        table,
        meta_width,
        [
            (meta_width + index, source[0], source[1], source[2:])
            for index, source in enumerate(table.sources)
        ],
    )
    extractor.collapse = tuple(
        meta_width + index for index, column in enumerate(table.columns) if column.collapse
    )
    positions = {column.name: meta_width + index for index, column in enumerate(table.columns)}
    derived: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for index, source in enumerate(table.sources):
        if source[0] == "derived":
            _, _, kind, suffix, base = source
            derived.setdefault((kind, base), []).append((suffix, meta_width + index))
    extractor.derived = tuple(
        (kind, positions[base], tuple(targets)) for (kind, base), targets in derived.items()
    )
    for child in table.children:
        extractor.child_tables[child.tag] = compile_extractor(child)
    return extractor


def _compile_sources(
    table: Table, meta_width: int, sources: list[tuple[int, str, tuple, tuple]]
) -> Extractor:
    """One extractor level: sources whose path is empty are read here, the rest one level down."""
    extractor = Extractor(table=table, width=len(table.columns), meta_width=meta_width)
    deeper: dict[str, list[tuple[int, str, tuple, tuple]]] = {}
    content: list[str] = []
    for index, kind, path, extra in sources:
        name = table.columns[index - meta_width].name
        if kind == "derived":
            continue  # filled from its column once the row is complete
        if not path:
            if kind == "attr":
                extractor.attributes.append((index, extra[0]))
            else:
                extractor.own_text = index
                content.append(name)
        elif len(path) == 1 and kind == "text":
            extractor.child_text[path[0]] = index
            extractor.names[index] = name
            content.append(name)
        else:
            deeper.setdefault(path[0], []).append((index, kind, path[1:], extra))
    for tag, entries in deeper.items():
        nested = _compile_sources(table, meta_width, entries)
        extractor.nested[tag] = nested
        # The nested element's own attributes too: when this level is nil, it is absent.
        content.extend(table.columns[index - meta_width].name for index, *_ in entries)
    extractor.content_columns = tuple(content)
    return extractor
