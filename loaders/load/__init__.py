"""The load pipeline: a contract file, validated record by record, into raw tables.

- ``header``: which contract a file follows (read_header, FileHeader);
- ``split``: cutting a large file into segments at record starts;
- ``records``: streaming a file's (or a segment's) records, validated in batches;
- ``stored_range``: dates the XSD allows but crm7 does not store, a reject per record;
- ``rows``: a validated record element as raw-table rows;
- ``batches``: records as COPY text per table, wherever the parsing runs;
- ``workers``: parsing segments in forked worker processes;
- ``pg_copy``: COPY of the batches into PostgreSQL;
- ``registry``: the file's row in raw.loads and the locks that make concurrent loads safe;
- ``raw_schema``: DDL of the raw tables and the registry;
- ``pipeline``: load_file, which runs the above in one transaction per file;
- ``run``: ``crm7 load``'s files one after another; ``stopping``: its stop signals;
- ``validate``: the same checks with no database (``crm7 validate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loaders.load.pipeline import LoadResult, load_file

__all__ = ["LoadResult", "load_file"]


def __getattr__(name: str):
    """load_file and LoadResult, imported on first use: ``crm7 validate`` and the worker
    processes import modules of this package without needing psycopg."""
    if name in __all__:
        from loaders.load import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
