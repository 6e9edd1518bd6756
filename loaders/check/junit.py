"""JUnit XML, the report format every CI system shows: for ``crm7 check`` and ``crm7 validate``.

The layout follows the common (Jenkins / Ant) JUnit schema: ``<testsuites>`` holding one
``<testsuite>`` per group, each with ``<testcase name classname time>``; a failing case
holds ``<failure message type>`` (several for several problems), one that could not run
``<error>``, one not counted ``<skipped message>``; details go in the element's text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Literal

from loaders.check.results import CheckResult, CheckRun, Outcome
from loaders.errors import ReportNotWritten

CaseOutcome = Literal["passed", "failure", "error", "skipped"]

# XML 1.0 forbids most control characters; a failing row may hold any text.
NOT_XML_CHARACTERS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str | None) -> str:
    return NOT_XML_CHARACTERS.sub("\ufffd", text or "")


@dataclass(frozen=True)
class JunitProblem:
    message: str  # one line: the attribute CI systems show in their list
    kind: str  # the element's type attribute
    details: str = ""  # the element's text: anything longer


@dataclass(frozen=True)
class JunitCase:
    name: str
    classname: str
    seconds: float = 0.0
    outcome: CaseOutcome = "passed"
    problems: tuple[JunitProblem, ...] = ()  # failures / the error / the skip reason


@dataclass
class JunitSuite:
    name: str
    cases: list[JunitCase] = field(default_factory=list)
    timestamp: datetime | None = None
    properties: dict[str, str] = field(default_factory=dict)

    def count(self, outcome: CaseOutcome) -> int:
        return sum(case.outcome == outcome for case in self.cases)


def junit_document(name: str, suites: Sequence[JunitSuite]) -> ElementTree.ElementTree:
    root = ElementTree.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for number, suite in enumerate(suites):
        seconds = sum(case.seconds for case in suite.cases)
        counts = {
            "tests": len(suite.cases),
            "failures": suite.count("failure"),
            "errors": suite.count("error"),
            "skipped": suite.count("skipped"),
        }
        attributes = {"name": xml_text(suite.name), "id": str(number)}
        attributes.update({key: str(value) for key, value in counts.items()})
        attributes["time"] = f"{seconds:.3f}"
        if suite.timestamp is not None:
            attributes["timestamp"] = suite.timestamp.replace(tzinfo=None).isoformat(
                timespec="seconds"
            )
        element = ElementTree.SubElement(root, "testsuite", attributes)
        if suite.properties:
            properties = ElementTree.SubElement(element, "properties")
            for key, value in suite.properties.items():
                ElementTree.SubElement(
                    properties, "property", name=xml_text(key), value=xml_text(value)
                )
        for case in suite.cases:
            _case_element(element, case)
        for key, value in counts.items():
            totals[key] += value
        totals["time"] += seconds
    # <testsuites> has no "skipped" attribute in the Jenkins schema: the suites count them.
    root.attrib.update(
        {
            key: f"{value:.3f}" if key == "time" else str(value)
            for key, value in totals.items()
            if key != "skipped"
        }
    )
    ElementTree.indent(root)
    return ElementTree.ElementTree(root)


def _case_element(parent: ElementTree.Element, case: JunitCase) -> None:
    element = ElementTree.SubElement(
        parent,
        "testcase",
        name=xml_text(case.name),
        classname=xml_text(case.classname),
        time=f"{case.seconds:.3f}",
    )
    if case.outcome == "passed":
        return
    tag = {"failure": "failure", "error": "error", "skipped": "skipped"}[case.outcome]
    for problem in case.problems:
        attributes = {"message": xml_text(problem.message)}
        if tag != "skipped":
            attributes["type"] = xml_text(problem.kind)
        child = ElementTree.SubElement(element, tag, attributes)
        if problem.details:
            child.text = xml_text(problem.details)


def write_junit(path: Path, name: str, suites: Sequence[JunitSuite]) -> Path:
    document = junit_document(name, suites)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        document.write(path, encoding="utf-8", xml_declaration=True)
    except OSError as error:
        raise ReportNotWritten(str(path), error.strerror or str(error)) from None
    return path


# --- crm7 check ---------------------------------------------------------------------------


def check_case(result: CheckResult, strict: bool) -> JunitCase:
    """One dbt test or source as a testcase: warnings are failures under --strict and
    skipped-with-message otherwise, so that a CI report shows them either way."""
    outcome = result.outcome
    seconds = result.execution_seconds
    if outcome is Outcome.PASSED:
        return JunitCase(result.name, result.classname, seconds)
    problem = JunitProblem(result.problem(), f"{result.kind}_{result.status}", _details(result))
    if outcome is Outcome.ERRORED:
        return JunitCase(result.name, result.classname, seconds, "error", (problem,))
    if outcome is Outcome.FAILED or (outcome is Outcome.WARNED and strict):
        return JunitCase(result.name, result.classname, seconds, "failure", (problem,))
    if outcome is Outcome.WARNED:
        warning = JunitProblem(
            f"warning: {result.problem()}; not failing the run (crm7 check --strict fails it)",
            problem.kind,
            problem.details,
        )
        return JunitCase(result.name, result.classname, seconds, "skipped", (warning,))
    return JunitCase(result.name, result.classname, seconds, "skipped", (problem,))


def _details(result: CheckResult) -> str:
    lines = [
        f"dbt node: {result.unique_id}",
        f"model: {result.model or '-'} (domain {result.domain}), severity {result.severity}, "
        f"dbt status {result.status}",
    ]
    if result.failing_rows is not None:
        lines.append(f"failing rows: {result.failing_rows}")
    if result.audit_relation:
        lines.append(f"failing rows stored in: {result.audit_relation}")
    if result.message and result.kind == "data_test":
        lines.append(f"dbt: {result.message}")
    if result.sample is not None and result.sample.rows:
        shown = len(result.sample.rows)
        lines.append(f"first {shown} failing rows (select * from {result.audit_relation}):")
        lines.append(result.sample.as_text())
    return "\n".join(lines)


def check_run_suites(run: CheckRun) -> list[JunitSuite]:
    """A suite per domain for the data tests, then one for source freshness."""
    properties = {
        "database": run.database,
        "selection": " ".join(run.selection) or "(all data tests)",
        "strict": str(run.strict).lower(),
        "verdict": run.verdict,
    }
    if run.run_id is not None:
        properties["run_id"] = str(run.run_id)
    suites = []
    tests = [result for result in run.results if result.kind == "data_test"]
    for domain, group in groupby(sorted(tests, key=lambda r: r.domain), key=lambda r: r.domain):
        suites.append(
            JunitSuite(
                f"crm7 check: data tests: {domain}",
                [check_case(result, run.strict) for result in group],
                run.started_at,
                properties,
            )
        )
    freshness = [result for result in run.results if result.kind == "freshness"]
    if freshness:
        suites.append(
            JunitSuite(
                "crm7 check: source freshness",
                [check_case(result, run.strict) for result in freshness],
                run.started_at,
                properties,
            )
        )
    return suites


def write_check_junit(path: Path, run: CheckRun) -> Path:
    return write_junit(path, "crm7 check", check_run_suites(run))


# --- crm7 validate ------------------------------------------------------------------------


def validation_suites(reports: Iterable) -> list[JunitSuite]:
    """One testcase per file; each invalid record a failure with file, line, element path
    and reason (as raw.rejects would hold them); a file refused whole is an error."""
    suite = JunitSuite("crm7 validate", timestamp=datetime.now())
    for report in reports:
        name = report.path.name
        classname = f"crm7.validate.{report.contract or 'unknown_contract'}"
        if report.file_error:
            problem = JunitProblem(report.file_error, "file_rejected", str(report.path))
            suite.cases.append(JunitCase(name, classname, report.seconds, "failure", (problem,)))
            continue
        if report.ok:
            suite.cases.append(JunitCase(name, classname, report.seconds))
            continue
        problems = tuple(
            JunitProblem(
                f"{record.file}:{record.line}: {record.element_path or '-'}: {record.reason}",
                "invalid_record",
                f"file: {report.path}\nline: {record.line}\nrecord: {record.record_number}\n"
                f"element path: {record.element_path or '-'}\nreason: {record.reason}",
            )
            for record in report.invalid_records
        )
        suite.cases.append(JunitCase(name, classname, report.seconds, "failure", problems))
    return [suite]


def write_validation_junit(path: Path, reports: Iterable) -> Path:
    return write_junit(path, "crm7 validate", validation_suites(reports))
