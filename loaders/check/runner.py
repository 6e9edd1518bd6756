"""Run the data tests and source freshness of the dbt project in-process; collect results.

``run_check`` is ``crm7 check``: ``dbt test`` (data tests only, never unit tests), then
``dbt source freshness`` on the sources those tests read, then the first failing rows of
each failing test from its ``audit`` relation. dbt is called in exactly one place,
:func:`invoke_dbt`.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from loaders.check.results import (
    NEVER_LOADED,
    CheckResult,
    CheckRun,
    FailingRowsSample,
    Outcome,
    domain_of,
)
from loaders.db import ConnectionSettings, connect
from loaders.errors import (
    CheckDatabaseUnreachable,
    CheckSelectionMatchesNothing,
    DatabaseError,
    DbtCouldNotRun,
    NothingBuiltYet,
)
from loaders.settings import dbt_target_path

SAMPLE_ROWS = 5  # first failing rows shown per failing test
NEVER = datetime(1, 1, 1, tzinfo=UTC)  # dbt's max_loaded_at of a source with no rows


def invoke_dbt(arguments: list[str], settings: ConnectionSettings):
    """dbt in-process against ``settings``; its console output goes to stderr, so that
    stdout carries only crm7's own report (``--format json`` must be pure JSON)."""
    from loaders.dbt import run_dbt

    with contextlib.redirect_stdout(sys.stderr):
        return run_dbt(arguments, settings)


@dataclass(frozen=True)
class ProjectManifest:
    """What crm7 reads from dbt's manifest.json: nodes, sources, parents."""

    nodes: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]]
    parent_map: dict[str, list[str]]

    @classmethod
    def read(cls, path: Path) -> ProjectManifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data.get("nodes", {}), data.get("sources", {}), data.get("parent_map", {}))

    def entry(self, unique_id: str) -> dict[str, Any] | None:
        return self.nodes.get(unique_id) or self.sources.get(unique_id)

    def sources_upstream_of(self, unique_ids: Iterable[str]) -> set[str]:
        """Every source the given nodes read, directly or through models."""
        found: set[str] = set()
        seen: set[str] = set()
        pending = list(unique_ids)
        while pending:
            unique_id = pending.pop()
            if unique_id in seen:
                continue
            seen.add(unique_id)
            if unique_id.startswith("source."):
                found.add(unique_id)
            pending.extend(self.parent_map.get(unique_id, []))
        return found


def _tested_node_id(node: Any) -> str | None:
    """The model (or source) a test tests: the one it is attached to, else its first
    model parent, else its first parent."""
    attached = getattr(node, "attached_node", None)
    if attached:
        return attached
    parents = list(getattr(getattr(node, "depends_on", None), "nodes", None) or [])
    models = [parent for parent in parents if parent.startswith(("model.", "snapshot.", "seed."))]
    return (models or parents or [None])[0]


def _display_name(entry: dict[str, Any] | None, unique_id: str) -> str:
    if entry is None:
        return unique_id.split(".")[-1]
    if entry.get("resource_type") == "source":
        return f"{entry.get('source_name')}.{entry.get('name')}"
    return str(entry.get("name"))


def data_test_results(dbt_results: Iterable[Any], manifest: ProjectManifest) -> list[CheckResult]:
    """CheckResults of the data tests among dbt's node results (of a test or a build);
    models, seeds and unit tests are left out."""
    results = []
    for result in dbt_results:
        node = result.node
        if getattr(node, "resource_type", None) != "test":
            continue  # models, seeds, snapshots; unit tests are "unit_test"
        tested = _tested_node_id(node)
        tested_entry = manifest.entry(tested) if tested else None
        domain = domain_of((tested_entry or {}).get("original_file_path"))
        if not getattr(node, "attached_node", None) or domain == "project":
            # a singular test: the domain folder it is in, else the one of its first model
            own = domain_of(node.original_file_path)
            domain = own if own != "project" else domain
        store_failures = node.relation_name is not None
        status = str(result.status)
        failing = result.failures if status in ("fail", "warn") else None
        if status == "pass":
            failing = 0
        results.append(
            CheckResult(
                unique_id=node.unique_id,
                name=node.name,
                kind="data_test",
                model=_display_name(tested_entry, tested) if tested else None,
                domain=domain,
                severity=str(node.config.severity).lower(),
                status=status,
                failing_rows=failing,
                audit_relation=f"{node.schema}.{node.alias}" if store_failures else None,
                message=None if status == "pass" else _one_line(result.message),
                execution_seconds=float(result.execution_time or 0.0),
            )
        )
    return sorted(results, key=lambda result: (result.domain, result.model or "", result.name))


def freshness_results(dbt_results: Iterable[Any]) -> list[CheckResult]:
    results = []
    for result in dbt_results:
        node = result.node
        if getattr(node, "resource_type", None) != "source":
            continue  # on-run-start / on-run-end hooks
        status = str(result.status)
        max_loaded_at = getattr(result, "max_loaded_at", None)
        table = f"{node.source_name}.{node.name}"
        freshness = node.freshness
        error_after = _period(getattr(freshness, "error_after", None))
        warn_after = _period(getattr(freshness, "warn_after", None))
        limits = ", ".join(
            f"{word} after {period}"
            for word, period in (("warn", warn_after), ("error", error_after))
            if period
        )
        if max_loaded_at is not None and max_loaded_at <= NEVER:
            status = NEVER_LOADED
            message = f"{table} has no rows loaded yet: freshness does not apply"
        elif max_loaded_at is not None:
            age = _age(float(result.age))
            message = f"{table} last loaded {age} ago, at {max_loaded_at:%Y-%m-%d %H:%M} UTC"
            message += f" ({limits})" if limits else ""
        else:
            message = _one_line(result.message) or "dbt could not compute its freshness"
        results.append(
            CheckResult(
                unique_id=node.unique_id,
                name=f"freshness of {table}",
                kind="freshness",
                model=table,
                domain=domain_of(node.original_file_path),
                severity="error" if error_after else "warn",
                status=status,
                message=message,
                execution_seconds=float(getattr(result, "execution_time", 0.0) or 0.0),
            )
        )
    return sorted(results, key=lambda result: (result.domain, result.model or ""))


def _period(threshold: Any) -> str | None:
    if threshold is None or not getattr(threshold, "count", None):
        return None
    period = str(getattr(threshold.period, "value", threshold.period))
    return f"{threshold.count} {period}{'' if threshold.count == 1 else 's'}"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _one_line(message: Any) -> str | None:
    if message is None:
        return None
    return " ".join(str(message).split()) or None


def _dbt_arguments(command: list[str], target: Path, log_path: Path | None) -> list[str]:
    arguments = [*command, "--target-path", str(target), "--quiet"]
    if log_path is not None:
        arguments += ["--log-path", str(log_path)]
    return arguments


def _raise_if_dbt_stopped(result: Any, what: str) -> None:
    """dbt returns (not raises) its exceptions: a compile error, a bad selector."""
    if result.exception is not None or result.result is None:
        reason = _one_line(result.exception) or "no result and no message"
        raise DbtCouldNotRun(f"{what} could not run: {reason}")


def check_database(settings: ConnectionSettings) -> None:
    try:
        with connect(settings, connect_timeout=10) as conn:
            conn.execute("select 1")
    except DatabaseError as error:
        raise CheckDatabaseUnreachable(
            f"{error}; set CRM7_DATABASE_URL or PG* to the database to check"
        ) from None


def run_check(
    settings: ConnectionSettings,
    selection: Sequence[str] = (),
    strict: bool = False,
    target_path: Path | None = None,
    log_path: Path | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> CheckRun:
    """Run the data tests (``selection``: dbt --select arguments) and the freshness of
    the sources they read; returns the run, not yet recorded in the history."""
    started_at = datetime.now(UTC)
    check_database(settings)
    target = target_path or dbt_target_path()
    select = ["--select", *selection] if selection else []
    tests = invoke_dbt(
        _dbt_arguments(["test", "--resource-type", "test", *select], target, log_path), settings
    )
    _raise_if_dbt_stopped(tests, "dbt test")
    manifest = ProjectManifest.read(target / "manifest.json")
    results = data_test_results(tests.result.results, manifest)
    if selection and not results:
        raise CheckSelectionMatchesNothing(
            f"--select {' '.join(selection)} matches no data test; name a model, a test, "
            "a tag:, path: or source: selector of this project (crm7 dbt ls --resource-type test)"
        )
    _raise_if_nothing_built(results, settings)

    sources = manifest.sources_upstream_of(r.unique_id for r in results) if selection else None
    if sources is None or sources:
        select = (
            ["--select", *(_source_selector(manifest, s) for s in sorted(sources))]
            if sources
            else []
        )
        freshness = invoke_dbt(
            _dbt_arguments(
                ["source", "freshness", *select, "--output", str(target / "sources.json")],
                target,
                log_path,
            ),
            settings,
        )
        _raise_if_dbt_stopped(freshness, "dbt source freshness")
        results += freshness_results(freshness.result.results)

    results = attach_samples(settings, results, sample_rows)
    return CheckRun(
        command="check",
        started_at=started_at,
        finished_at=datetime.now(UTC),
        selection=tuple(selection),
        strict=strict,
        database=settings.dbname,
        results=results,
    )


def _source_selector(manifest: ProjectManifest, unique_id: str) -> str:
    entry = manifest.sources[unique_id]
    return f"source:{entry['source_name']}.{entry['name']}"


def _raise_if_nothing_built(results: list[CheckResult], settings: ConnectionSettings) -> None:
    """Every test erroring because its relation is missing means nothing was built."""
    if results and all(
        result.outcome is Outcome.ERRORED and "does not exist" in (result.message or "")
        for result in results
    ):
        raise NothingBuiltYet(
            f"none of the relations the data tests read exists in database {settings.dbname}: "
            "build the CRM first (crm7 dbt build), then check"
        )


def attach_samples(
    settings: ConnectionSettings, results: list[CheckResult], sample_rows: int = SAMPLE_ROWS
) -> list[CheckResult]:
    """The first failing rows of every failing test, read from its audit relation."""
    wanted = [
        result
        for result in results
        if result.outcome in (Outcome.WARNED, Outcome.FAILED) and result.audit_relation
    ]
    if not wanted or sample_rows <= 0:
        return results
    samples: dict[str, FailingRowsSample] = {}
    try:
        with connect(settings) as conn:
            for result in wanted:
                schema, table = result.audit_relation.split(".", 1)
                statement = sql.SQL("select * from {} limit {}").format(
                    sql.Identifier(schema, table), sql.Literal(sample_rows)
                )
                try:
                    cursor = conn.execute(statement)
                except psycopg.Error:
                    conn.rollback()  # stored as a view that no longer reads, or dropped
                    continue
                columns = tuple(column.name for column in cursor.description or ())
                rows = tuple(
                    tuple(None if value is None else str(value) for value in row)
                    for row in cursor.fetchall()
                )
                samples[result.unique_id] = FailingRowsSample(columns, rows)
    except DatabaseError as error:
        raise CheckDatabaseUnreachable(str(error)) from None
    return [
        replace(result, sample=samples[result.unique_id]) if result.unique_id in samples else result
        for result in results
    ]
