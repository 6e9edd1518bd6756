"""A Markdown summary of a check run: for a CI job summary or a merge-request comment."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from loaders.check.results import CheckResult, CheckRun, Outcome
from loaders.errors import ReportNotWritten

FAILING_LISTED = 50  # failing checks listed by name; the rest are counted


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_summary(run: CheckRun) -> str:
    counts = run.counts()
    verdict = {"passed": "passed", "passed with warnings": "passed with warnings"}.get(
        run.verdict, "**failed**"
    )
    lines = [
        f"## crm7 check: {verdict}",
        "",
        f"Database `{run.database}`"
        + (f", selection `{' '.join(run.selection)}`" if run.selection else ", every data test")
        + (", strict (warnings fail the run)" if run.strict else "")
        + (f", run {run.run_id} in `audit.crm7_check_runs`" if run.run_id is not None else "")
        + f", {run.started_at:%Y-%m-%d %H:%M} UTC.",
        "",
        ", ".join(f"{counts[outcome]} {outcome.value}" for outcome in Outcome) + ".",
        "",
        "| domain | severity | checks | passed | warned | failed | errored | skipped |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[str, str], Counter[Outcome]] = {}
    for result in run.results:
        domain = result.domain if result.kind == "data_test" else f"{result.domain} (freshness)"
        groups.setdefault((domain, result.severity), Counter()).update([result.outcome])
    for (domain, severity), group in sorted(groups.items()):
        lines.append(
            f"| {_cell(domain)} | {severity} | {sum(group.values())} | "
            + " | ".join(str(group[outcome]) for outcome in Outcome)
            + " |"
        )
    failing = [r for r in run.results if r.outcome not in (Outcome.PASSED, Outcome.SKIPPED)]
    if failing:
        lines += [
            "",
            "### Failing checks",
            "",
            "| check | model | severity | outcome | failing rows | where the rows are |",
            "|---|---|---|---|---:|---|",
        ]
        failing.sort(key=lambda r: (not run.is_failure(r), r.domain, r.model or "", r.name))
        for result in failing[:FAILING_LISTED]:
            lines.append(_failing_row(result, run))
        if len(failing) > FAILING_LISTED:
            lines.append(f"| ... and {len(failing) - FAILING_LISTED} more | | | | | |")
        if any(result.audit_relation for result in failing):
            lines += [
                "",
                "The failing rows of a test are in its `audit` table, e.g. "
                "`crm7 db psql -c 'select * from audit.<test>'`; it holds the failures of the "
                "test's latest run.",
            ]
    skipped = [r for r in run.results if r.outcome is Outcome.SKIPPED]
    if skipped:
        lines += ["", f"{len(skipped)} skipped: " + "; ".join(_skip(r) for r in skipped[:10])]
    return "\n".join(lines) + "\n"


def _failing_row(result: CheckResult, run: CheckRun) -> str:
    outcome = result.outcome.value
    if result.outcome is Outcome.WARNED:
        outcome = "warned, fails under --strict" if not run.strict else "warned (strict: fails)"
    rows = "" if result.failing_rows is None else f"{result.failing_rows:,}"
    where = f"`{result.audit_relation}`" if result.audit_relation else _cell(result.problem())
    return (
        f"| `{_cell(result.name)}` | {_cell(result.model or '-')} | {result.severity} "
        f"| {outcome} | {rows} | {where} |"
    )


def _skip(result: CheckResult) -> str:
    return f"{result.name} ({result.problem()})"


def write_markdown_summary(path: Path, run: CheckRun) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown_summary(run), encoding="utf-8")
    except OSError as error:
        raise ReportNotWritten(str(path), error.strerror or str(error)) from None
    return path
