"""Exit 1 unless each JUnit file parses and its counts match its testcases."""

import sys

from junitparser import JUnitXml

for path in sys.argv[1:]:
    xml = JUnitXml.fromfile(path)
    cases = [case for suite in xml for case in suite]
    failures = sum(not case.is_passed and not case.is_skipped for case in cases)
    if not cases or xml.tests != len(cases) or xml.failures + xml.errors != failures:
        sys.exit(f"{path}: the report's counts do not match its {len(cases)} testcases")
    print(f"{path}: {xml.tests} testcases, {xml.failures} failures, {xml.errors} errors")
