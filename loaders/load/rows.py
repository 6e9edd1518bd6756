"""Turning a validated record element into raw-table rows: normalize.

An extractor is compiled once per contract table from its column sources, so the hot
path is one pass over the record's children with dictionary look-ups, no XPath.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from loaders.contracts import Table

Row = list[str | None]
# Receives (extractor, full row with meta columns) for every child-table row of a record.
ChildSink = Callable[["Extractor", Row], None]


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

    def new_row(self, meta: list[str | None]) -> Row:
        return [*meta, *([None] * self.width)]

    def fill(
        self,
        element: etree._Element,
        row: Row,
        sink: ChildSink,
        record_meta: list,
        file_line: Callable[[int | None], int | None],
    ) -> None:
        """Write the element's values into ``row``; child-table rows go to ``sink``.

        ``file_line`` turns the parser's line numbers into the file's."""
        for index, name in self.attributes:
            row[index] = element.get(name)
        if self.own_text is not None:
            row[self.own_text] = element.text
        positions: dict[str, int] | None = None
        for child in element:
            tag = child.tag
            index = self.child_text.get(tag)
            if index is not None:
                row[index] = child.text
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
                sub.fill(child, sub_row, sink, record_meta, file_line)
                sink(sub, sub_row)
                continue
            nested = self.nested.get(tag)
            if nested is not None:
                nested.fill(child, row, sink, record_meta, file_line)


def compile_extractor(table: Table) -> Extractor:
    meta_width = len(table.copied_lineage)
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
    for child in table.children:
        extractor.child_tables[child.tag] = compile_extractor(child)
    return extractor


def _compile_sources(
    table: Table, meta_width: int, sources: list[tuple[int, str, tuple, tuple]]
) -> Extractor:
    """One extractor level: sources whose path is empty are read here, the rest one level down."""
    extractor = Extractor(table=table, width=len(table.columns), meta_width=meta_width)
    deeper: dict[str, list[tuple[int, str, tuple, tuple]]] = {}
    for index, kind, path, extra in sources:
        if not path:
            if kind == "attr":
                extractor.attributes.append((index, extra[0]))
            else:
                extractor.own_text = index
        elif len(path) == 1 and kind == "text":
            extractor.child_text[path[0]] = index
        else:
            deeper.setdefault(path[0], []).append((index, kind, path[1:], extra))
    for tag, entries in deeper.items():
        extractor.nested[tag] = _compile_sources(table, meta_width, entries)
    return extractor
