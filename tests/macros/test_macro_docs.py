"""Every macro of the project (macros/ and the generic tests in tests/dbt/generic) is
documented in a `macros:` YAML beside it: a description, and each argument of its
signature with a type and a description, so that `dbt docs generate` shows them all."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

SIGNATURE = re.compile(r"{%-?\s*(?:macro|test)\s+(\w+)\s*\((.*?)\)\s*-?%}", re.DOTALL)


def signature_arguments(macro_sql: str) -> list[str]:
    """Argument names of a macro's (or generic test's) signature; none for a materialization."""
    match = SIGNATURE.search(macro_sql)
    if match is None:
        return []
    return [part.split("=")[0].strip() for part in match.group(2).split(",") if part.strip()]


@pytest.fixture(scope="module")
def project_macros(pg_server, tmp_path_factory) -> dict[str, dict]:
    from loaders.dbt import run_dbt

    target = tmp_path_factory.mktemp("dbt-parse")
    result = run_dbt(
        ["parse", "--target-path", str(target), "--log-path", str(target), "--quiet"], pg_server
    )
    assert result.success, result.exception
    manifest = json.loads(Path(target, "manifest.json").read_text(encoding="utf-8"))
    return {
        macro["name"]: macro
        for macro in manifest["macros"].values()
        if macro["package_name"] == "crm7"
    }


def test_signatures_are_read():
    assert signature_arguments("{% macro f(a, b='x', c=none) -%}") == ["a", "b", "c"]
    assert signature_arguments("{% test t(model, column_name) %}") == ["model", "column_name"]
    assert signature_arguments("{%- materialization test, default -%}") == []


def test_every_project_macro_is_documented(project_macros):
    assert "crm7_resolve_company" in project_macros
    assert "test_valid_nip" in project_macros
    assert "materialization_test_default" in project_macros
    problems = []
    for name, macro in sorted(project_macros.items()):
        where = f"{name} ({macro['original_file_path']})"
        if not macro["description"].strip():
            problems.append(f"{where}: no description")
        documented = {argument["name"]: argument for argument in macro["arguments"]}
        arguments = signature_arguments(macro["macro_sql"])
        for argument in arguments:
            if argument not in documented:
                problems.append(f"{where}: argument {argument} undocumented")
            elif not (documented[argument].get("description") or "").strip():
                problems.append(f"{where}: argument {argument} has no description")
            elif not documented[argument].get("type"):
                problems.append(f"{where}: argument {argument} has no type")
        for argument in documented:
            if argument not in arguments:
                problems.append(f"{where}: documents {argument}, which it does not take")
    assert not problems, "\n".join(problems)
