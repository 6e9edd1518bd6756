"""COPY of converted batches into PostgreSQL: one COPY per table and batch.

The COPY text itself is made where the parsing runs (loaders.load.batches); this runs in
the loading process, on its connection and inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import psycopg
from psycopg import sql

from loaders.contracts import Contract, Table, lineage
from loaders.load.batches import MAX_REASONS, REJECTS, Batch
from loaders.load.raw_schema import RAW_SCHEMA

# In the order loaders.load.batches writes a reject's values.
REJECT_COLUMNS = lineage.REJECTS.written_columns


class ProgressBar(Protocol):
    def update(self, n: float) -> object: ...


def copy_statement(table: Table) -> sql.Composed:
    columns = [*table.copied_lineage, *(column.name for column in table.columns)]
    return sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(RAW_SCHEMA, table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def copy_batches(
    conn: psycopg.Connection,
    contract: Contract,
    batches: Iterator[Batch],
    bar: ProgressBar | None,
) -> Batch:
    """COPY every batch into its tables; returns the summed counts."""
    statements: dict[str, sql.Composable] = {
        table.name: copy_statement(table) for table in contract.tables
    }
    statements[REJECTS] = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(RAW_SCHEMA, lineage.REJECTS.name),
        sql.SQL(", ").join(map(sql.Identifier, REJECT_COLUMNS)),
    )
    totals = Batch(lines={})
    with conn.cursor() as cursor:
        for batch in batches:
            totals.read += batch.read
            totals.loaded += batch.loaded
            totals.rejected += batch.rejected
            totals.reasons.extend(batch.reasons[: MAX_REASONS - len(totals.reasons)])
            for table_name, data in batch.lines.items():
                with cursor.copy(statements[table_name]) as copy:
                    copy.write(data)
            if bar is not None and batch.bytes_read:
                bar.update(batch.bytes_read)
    return totals
