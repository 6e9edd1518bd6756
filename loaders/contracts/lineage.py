"""What the loader adds to the contracts: where every raw row came from, and the registry.

Every raw table of a contract carries the lineage columns below besides the columns its
XSD defines, and the loader keeps two tables of its own, ``raw.loads`` (one row per load
of one file) and ``raw.rejects`` (records that failed their contract). This module is
their one definition, with an English description of each column. It is read by the
raw-table DDL (``loaders.load.raw_schema``), the COPY column lists (``Table.copied_lineage``),
the contract docs (``loaders.contracts.docs``) and dbt's sources (``loaders.contracts.sources``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Who writes a column's value: the loader (in its COPY or INSERT), or PostgreSQL (a
# default or an identity), in which case the loader leaves the column out.
WrittenBy = Literal["loader", "database"]
# Which raw tables of a contract carry a lineage column: all of them, only record tables
# (a root child: <contractor>), or only child tables (rows nested in a record: <address>).
CarriedBy = Literal["every table", "record tables", "child tables"]


@dataclass(frozen=True)
class LoaderColumn:
    """A column the loader defines (not the contract): name, PostgreSQL type, meaning."""

    name: str
    sql_type: str
    description: str
    not_null: bool = True
    default: str | None = None  # SQL expression
    constraint: str = ""  # further SQL of the column definition: check, identity, key
    written_by: WrittenBy = "loader"

    def definition(self) -> str:
        """The column as written in CREATE TABLE."""
        parts = [self.name, self.sql_type]
        if self.not_null:
            parts.append("not null")
        if self.default is not None:
            parts.append(f"default {self.default}")
        if self.constraint:
            parts.append(self.constraint)
        return " ".join(parts)


@dataclass(frozen=True)
class LineageColumn(LoaderColumn):
    """A column every raw table of a contract (or every record or child table) carries."""

    carried_by: CarriedBy = "every table"

    def is_carried_by(self, is_record: bool) -> bool:
        if self.carried_by == "record tables":
            return is_record
        if self.carried_by == "child tables":
            return not is_record
        return True


# In table order. _load_id has no foreign key to raw.loads: a per-row check halves COPY speed.
LINEAGE_COLUMNS: tuple[LineageColumn, ...] = (
    LineageColumn("_load_id", "bigint", "the load that brought the row (`raw.loads.load_id`)"),
    LineageColumn("_record_no", "bigint", "the record's position among the file's records, from 1"),
    LineageColumn("_source_line", "integer", "line of the element in the file", not_null=False),
    LineageColumn(
        "_source_system", "text", "source system of the file", carried_by="record tables"
    ),
    LineageColumn(
        "_position",
        "integer",
        "position among the record's elements of this name, from 1",
        carried_by="child tables",
    ),
    LineageColumn(
        "_nil_fields",
        "text[]",
        'the row\'s columns whose element was given as `xsi:nil="true"` (each of them '
        "NULL): the value is now empty in the source, where a left-out element (NULL, not "
        "listed) means no news",
        default="'{}'",
    ),
    LineageColumn(
        "_is_nil",
        "boolean",
        'true when the row stands for an element given as `xsi:nil="true"` (e.g. '
        "`<phone xsi:nil=\"true\"/>`: the record's list is now empty; only the row's "
        "attribute columns are set); always false on record tables",
        default="false",
    ),
    LineageColumn(
        "_loaded_at",
        "timestamptz",
        "when the row was written",
        default="now()",
        written_by="database",
    ),
)


def lineage_columns(is_record: bool) -> tuple[LineageColumn, ...]:
    """The lineage columns of a record table (``is_record``) or a child table, in order."""
    return tuple(column for column in LINEAGE_COLUMNS if column.is_carried_by(is_record))


@dataclass(frozen=True)
class RegistryTable:
    """One of the loader's own tables in schema ``raw``."""

    name: str
    description: str  # also the table's comment in PostgreSQL
    columns: tuple[LoaderColumn, ...]
    constraints: tuple[str, ...] = ()  # table constraints, SQL

    @property
    def written_columns(self) -> tuple[str, ...]:
        """The columns the loader writes, in table order."""
        return tuple(column.name for column in self.columns if column.written_by == "loader")


# Every status a raw.loads row can have; only 'loaded' loads have rows in the data tables.
LOAD_STATUSES: tuple[str, ...] = ("running", "loaded", "failed", "skipped")
LOAD_STATUSES_SQL = ", ".join(f"'{status}'" for status in LOAD_STATUSES)

LOADS = RegistryTable(
    name="loads",
    description=(
        "One row per crm7 load of one file: what was read, loaded and rejected. "
        "records_read = records_loaded + records_rejected, always."
    ),
    columns=(
        LoaderColumn(
            "load_id",
            "bigint",
            "Load identifier (primary key), increasing in the order loads start.",
            not_null=False,  # implied by the primary key
            constraint="generated always as identity primary key",
            written_by="database",
        ),
        LoaderColumn("file_name", "text", "Base name of the loaded file."),
        LoaderColumn("file_path", "text", "Path of the loaded file as given to the loader."),
        LoaderColumn(
            "file_sha256", "text", "SHA-256 of the file's bytes (detects re-loads of one file)."
        ),
        LoaderColumn("file_size_bytes", "bigint", "File size in bytes."),
        LoaderColumn(
            "source_system",
            "text",
            "Source system code (e.g. erp, crm) the file comes from.",
            not_null=False,  # unknown when the file failed before it was read
        ),
        LoaderColumn(
            "contract", "text", "Contract name the file follows (e.g. contractors).", not_null=False
        ),
        LoaderColumn(
            "contract_version",
            "text",
            "Version of the contract (its XSD's @version) the file was validated against.",
            not_null=False,
        ),
        LoaderColumn(
            "contract_namespace", "text", "XML namespace of the contract.", not_null=False
        ),
        LoaderColumn(
            "status",
            "text",
            "running, loaded, failed, or skipped (the same file, by sha256, was already "
            "loaded as duplicate_of_load_id: nothing read, nothing written).",
            constraint=f"constraint loads_status_check check (status in ({LOAD_STATUSES_SQL}))",
        ),
        LoaderColumn(
            "forced",
            "boolean",
            "True when an already loaded file was loaded again on purpose.",
            default="false",
        ),
        LoaderColumn("started_at", "timestamptz", "When the load started."),
        LoaderColumn(
            "finished_at",
            "timestamptz",
            "When the load finished (loaded, failed or skipped).",
            not_null=False,
        ),
        LoaderColumn("records_read", "bigint", "Records read from the file.", default="0"),
        LoaderColumn(
            "records_loaded", "bigint", "Records written to the raw data tables.", default="0"
        ),
        LoaderColumn(
            "records_rejected",
            "bigint",
            "Records that failed the contract (see rejects).",
            default="0",
        ),
        LoaderColumn("error_message", "text", "Why a failed load failed.", not_null=False),
        LoaderColumn(
            "error_line", "integer", "File line of a load-stopping error.", not_null=False
        ),
        LoaderColumn(
            "error_column", "integer", "File column of a load-stopping error.", not_null=False
        ),
        # Last: a database created before skipped loads were recorded gets it by ADD COLUMN.
        LoaderColumn(
            "duplicate_of_load_id",
            "bigint",
            "Of a skipped load: the earlier load of the same file (same sha256) this skip "
            "refers to. NULL for every other status.",
            not_null=False,
        ),
    ),
    constraints=(
        "constraint loads_records_reconcile check (records_read = records_loaded + records_rejected)",
    ),
)

REJECTS = RegistryTable(
    name="rejects",
    description=(
        "Records that failed their contract: file, line, element path, reason and the record XML."
    ),
    columns=(
        LoaderColumn(
            "load_id",
            "bigint",
            "Load the record came in.",
            constraint="references raw.loads (load_id)",
        ),
        LoaderColumn("record_no", "bigint", "1-based record number within the file."),
        LoaderColumn("file_name", "text", "File the record came in."),
        LoaderColumn(
            "source_line", "integer", "File line where the record starts.", not_null=False
        ),
        LoaderColumn("path", "text", "XML path of the offending element.", not_null=False),
        LoaderColumn("reason", "text", "Validation error message."),
        LoaderColumn("record_xml", "text", "The rejected record as XML.", not_null=False),
        LoaderColumn(
            "_loaded_at",
            "timestamptz",
            "When the reject was written.",
            default="now()",
            written_by="database",
        ),
    ),
    constraints=("primary key (load_id, record_no)",),
)

REGISTRY_TABLES: tuple[RegistryTable, ...] = (LOADS, REJECTS)
