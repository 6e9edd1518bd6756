"""Errors crm7 reports to its user: each says what went wrong and what to fix."""

from __future__ import annotations


class Crm7Error(Exception):
    """Base of every error shown to the user as a message rather than a traceback."""


class SettingError(Crm7Error):
    """An environment variable crm7 reads holds a value it cannot use (see loaders.settings)."""


class DatabaseError(Crm7Error):
    """PostgreSQL could not be reached, started or used."""


class ContractError(Crm7Error):
    """A contract (XSD) in contracts/ is missing or cannot be read."""


class UnknownContractError(Crm7Error):
    """A file's root element belongs to no contract crm7 knows."""


class FileRejected(Crm7Error):
    """A whole file cannot be loaded: not well-formed, hostile, or the wrong root."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None):
        self.path = path
        self.message = message
        self.line = line
        self.column = column
        where = path if line is None else f"{path}:{line}" + (f":{column}" if column else "")
        super().__init__(f"{where}: {message}")


class HostileXmlError(FileRejected):
    """A file declares a DTD or entities: refused before anything is expanded or fetched."""


class SourceSystemError(Crm7Error):
    """The source system of a file is missing or contradicts the command line."""


class ConversionError(Crm7Error):
    """An input of ``crm7 convert`` cannot be converted: names file, line (or row) and field.

    Raised before anything is written: a converter writes its outputs only when every
    input converted.
    """

    def __init__(self, path: str, element: str | None, message: str, line: int | None = None):
        self.path = path
        self.element = element
        self.message = message
        self.line = line
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {element}: {message}" if element else f"{where}: {message}")


class KsefConversionError(ConversionError):
    """A KSeF e-invoice cannot be converted to the invoices contract: names file and element."""


class JpkConversionError(ConversionError):
    """A JPK file (V7M/V7K, FA, MAG) cannot be converted: names file, line and element."""


class EdippConversionError(ConversionError):
    """An EDI++ (.epp) file cannot be converted: names file, line and field."""


class TableConversionError(ConversionError):
    """A CSV/XLSX file or its profile cannot be used at all: names file, row and column."""


class CheckCouldNotRun(Crm7Error):
    """``crm7 check`` could not run the checks at all (exit 2): says what to fix.

    The message is always one line, so that a CI log shows it whole.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))


class CheckDatabaseUnreachable(CheckCouldNotRun):
    """The database to check cannot be reached: check CRM7_DATABASE_URL / PG* settings."""


class CheckSelectionMatchesNothing(CheckCouldNotRun):
    """``--select`` names no data test: a typo in a model, tag or path."""


class DbtCouldNotRun(CheckCouldNotRun):
    """dbt stopped before running any test: a compile error, an invalid selector."""


class NothingBuiltYet(CheckCouldNotRun):
    """No model the tests read exists in the database: build first (crm7 dbt build)."""


class CheckHistoryNotWritten(CheckCouldNotRun):
    """The run could not be appended to the history tables in audit: a privilege missing."""


class ReportNotWritten(Crm7Error):
    """A report file (JUnit XML, Markdown summary) cannot be written where it was asked."""

    def __init__(self, path: str, reason: str):
        self.path = path
        super().__init__(f"cannot write the report {path}: {reason}; name a writable file")
