"""Typed results of one ``crm7 check`` (or of the data tests of a build).

A :class:`CheckResult` is one dbt data test or one source's freshness, reduced to what a
pipeline needs: what was checked (test, model, domain), how bad a failure is (severity),
what happened (dbt's status and crm7's :class:`Outcome`), and where the failing rows are
(count and ``audit`` relation, with the first few). A :class:`CheckRun` is the whole run,
with its verdict and exit code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, Literal

CheckKind = Literal["data_test", "freshness"]

EXIT_CLEAN = 0
EXIT_CHECKS_FAILED = 1
EXIT_COULD_NOT_RUN = 2


class Outcome(StrEnum):
    """What a check's result means for a pipeline."""

    PASSED = "passed"
    WARNED = "warned"  # a warn-severity failure (or a source past warn_after)
    FAILED = "failed"  # an error-severity failure (or a source past error_after)
    ERRORED = "errored"  # dbt could not run the check (SQL error, missing relation)
    SKIPPED = "skipped"  # not run: dbt skipped it, or a source never loaded


# dbt's status of a data test / a source freshness -> crm7's outcome.
DATA_TEST_OUTCOMES = {
    "pass": Outcome.PASSED,
    "warn": Outcome.WARNED,
    "fail": Outcome.FAILED,
    "error": Outcome.ERRORED,
    "runtime error": Outcome.ERRORED,
    "skipped": Outcome.SKIPPED,
}
FRESHNESS_OUTCOMES = {
    "pass": Outcome.PASSED,
    "warn": Outcome.WARNED,
    "error": Outcome.FAILED,
    "runtime error": Outcome.ERRORED,
    "skipped": Outcome.SKIPPED,
}
NEVER_LOADED = "never_loaded"  # crm7's status of a source table with no rows yet


def domain_of(path: str | None) -> str:
    """The domain of a model, source or test, from its file path in the dbt project.

    Models live in ``models/<layer>/<domain>/...``: the domain is the second folder under
    ``models/``; a file directly in a layer folder (``models/marts/x.sql``) gives the
    layer. Singular tests live in ``tests/dbt/singular/<domain>/``: the folder under
    ``singular/``. A seed (the canonical dictionaries) gives ``seeds``, anything else
    (a singular test outside a domain folder) ``project``.
    """
    if not path:
        return "project"
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if parts[:1] == ("seeds",):
        return "seeds"
    if "models" in parts:
        folders = parts[parts.index("models") + 1 : -1]
        return folders[1] if len(folders) >= 2 else (folders[0] if folders else "project")
    if "singular" in parts:
        folders = parts[parts.index("singular") + 1 : -1]
        return folders[0] if folders else "project"
    return "project"


@dataclass(frozen=True)
class FailingRowsSample:
    """The first rows of a failing check's audit relation."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]  # values as text, NULL as None

    def as_text(self, width: int = 60) -> str:
        def cell(value: str | None) -> str:
            text = "NULL" if value is None else value.replace("\n", " ")
            return text if len(text) <= width else text[: width - 1] + "…"

        lines = [" | ".join(self.columns)]
        lines += [" | ".join(cell(value) for value in row) for row in self.rows]
        return "\n".join(lines)


@dataclass(frozen=True)
class CheckResult:
    unique_id: str  # dbt's: test.crm7.not_null_companies_nip.1a2b3c, source.crm7.raw.loads
    name: str
    kind: CheckKind
    model: str | None  # the model a test tests (raw.<table> for a source), None if none
    domain: str
    severity: str  # "error" or "warn"
    status: str  # dbt's status (pass, warn, fail, error, skipped), or never_loaded
    failing_rows: int | None = None
    audit_relation: str | None = None  # schema.table holding the failing rows
    message: str | None = None  # dbt's message: why it errored, how stale a source is
    execution_seconds: float = 0.0
    sample: FailingRowsSample | None = None

    @property
    def outcome(self) -> Outcome:
        if self.status == NEVER_LOADED:
            return Outcome.SKIPPED
        table = FRESHNESS_OUTCOMES if self.kind == "freshness" else DATA_TEST_OUTCOMES
        return table.get(self.status, Outcome.ERRORED)

    @property
    def classname(self) -> str:
        """``<domain>.<model>``: how CI systems group a test report."""
        return f"{self.domain}.{self.model or self.name}"

    def problem(self) -> str:
        """One line: what is wrong, for a report (empty for a passing check)."""
        outcome = self.outcome
        if outcome is Outcome.PASSED:
            return ""
        if self.kind == "freshness":
            return self.message or self.status
        if outcome is Outcome.ERRORED:
            return f"could not run: {self.message or 'no message from dbt'}"
        if outcome is Outcome.SKIPPED:
            return self.message or "skipped by dbt"
        rows = "?" if self.failing_rows is None else f"{self.failing_rows:,}"
        where = f" in {self.audit_relation}" if self.audit_relation else ""
        noun = "row" if self.failing_rows == 1 else "rows"
        return f"{rows} failing {noun}{where} (severity {self.severity})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "domain": self.domain,
            "severity": self.severity,
            "status": self.status,
            "outcome": self.outcome.value,
            "failing_rows": self.failing_rows,
            "audit_relation": self.audit_relation,
            "message": self.message,
            "execution_seconds": round(self.execution_seconds, 3),
            "first_failing_rows": None
            if self.sample is None
            else [dict(zip(self.sample.columns, row, strict=True)) for row in self.sample.rows],
        }


@dataclass
class CheckRun:
    """One run of the checks, with what was asked for and every result."""

    command: str  # "check", or "build" when a build's results are recorded
    started_at: datetime
    finished_at: datetime
    selection: tuple[str, ...] = ()
    strict: bool = False
    database: str = ""
    results: list[CheckResult] = field(default_factory=list)
    run_id: int | None = None  # set once recorded in the history

    def counts(self) -> Counter[Outcome]:
        counts: Counter[Outcome] = Counter({outcome: 0 for outcome in Outcome})
        counts.update(result.outcome for result in self.results)
        return counts

    def is_failure(self, result: CheckResult) -> bool:
        """Does this result fail the run (an error, or a warning under --strict)?"""
        outcome = result.outcome
        return outcome in (Outcome.FAILED, Outcome.ERRORED) or (
            self.strict and outcome is Outcome.WARNED
        )

    @property
    def exit_code(self) -> int:
        failing = any(self.is_failure(result) for result in self.results)
        return EXIT_CHECKS_FAILED if failing else EXIT_CLEAN

    @property
    def verdict(self) -> str:
        """``passed``, ``passed with warnings`` or ``failed``."""
        counts = self.counts()
        if self.exit_code:
            return "failed"
        return "passed with warnings" if counts[Outcome.WARNED] else "passed"

    def verdict_line(self) -> str:
        counts = self.counts()
        tests = sum(result.kind == "data_test" for result in self.results)
        sources = sum(result.kind == "freshness" for result in self.results)
        strict = ", strict" if self.strict else ""
        selection = f", --select {' '.join(self.selection)}" if self.selection else ""
        seconds = (self.finished_at - self.started_at).total_seconds()
        return (
            f"crm7 check: {self.verdict.upper()}{strict}: {tests} data tests and {sources} "
            f"source freshness checks{selection}: "
            + ", ".join(f"{counts[outcome]} {outcome.value}" for outcome in Outcome)
            + f" ({seconds:.0f} s)"
        )

    def as_dict(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "run_id": self.run_id,
            "command": self.command,
            "database": self.database,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "selection": list(self.selection),
            "strict": self.strict,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "counts": {outcome.value: counts[outcome] for outcome in Outcome},
            "results": [result.as_dict() for result in self.results],
        }
