"""Nothing a normalisation discards is dropped silently.

Every macro in macros/normalization/ declares in its YAML (meta.crm7_discards) what becomes
of a value it cannot use: ``never``, ``blank_only`` (NULL only for an empty input),
``contract_pattern`` (the contract admits no input that gives NULL) or the review reason the
record then gets. The SQL of each macro is searched for the paths that turn a value into NULL,
and a declared reason must be one the review marts accept and a model emits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NORMALIZATION = ROOT / "macros" / "normalization"
MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(.*?\)\s*-?%}(.*?){%-?\s*endmacro\s*-?%}", re.DOTALL)
NO_LOSS = {"never", "blank_only", "contract_pattern"}


def macro_bodies() -> dict[str, str]:
    bodies = {}
    for path in sorted(NORMALIZATION.glob("*.sql")):
        for name, body in MACRO.findall(path.read_text()):
            bodies[name] = re.sub(r"{#.*?#}", "", body, flags=re.DOTALL)
    return bodies


def declarations() -> dict[str, str | None]:
    document = yaml.safe_load((NORMALIZATION / "_normalization__macros.yml").read_text())
    return {
        macro["name"]: (macro.get("meta") or {}).get("crm7_discards")
        for macro in document["macros"]
    }


def null_paths(body: str) -> list[str]:
    """The constructs of a macro body that can turn a non-NULL input into NULL."""
    paths = [
        f"nullif(..., {last_argument(body, match.end())})"
        for match in re.finditer(r"\bnullif\(", body)
    ]
    paths += [f"'{m}'" for m in re.findall(r"\b(?:then|else)\s+null\b", body, re.IGNORECASE)]
    for case in re.findall(r"\bcase\b(.*?)\bend\b", body, re.DOTALL | re.IGNORECASE):
        if not re.search(r"\belse\b", case, re.IGNORECASE):
            paths.append("case without else")
    return paths


def last_argument(text: str, start: int) -> str:
    """The last top-level argument of the call whose "(" ends just before start."""
    depth, quoted, argument_start = 0, False, start
    for position in range(start, len(text)):
        character = text[position]
        if character == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif character == "(":
            depth += 1
        elif character == ")":
            if depth == 0:
                return text[argument_start:position].strip()
            depth -= 1
        elif character == "," and depth == 0:
            argument_start = position + 1
    raise ValueError("unbalanced parentheses")


def review_reasons_accepted() -> set[str]:
    reasons: set[str] = set()
    for path in (ROOT / "models" / "marts").rglob("_*__models.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            if not model["name"].endswith("review"):
                continue
            for column in model.get("columns", []):
                if column["name"] != "reason":
                    continue
                for test in column.get("data_tests", []):
                    if isinstance(test, dict) and "accepted_values" in test:
                        reasons.update(test["accepted_values"]["arguments"]["values"])
    return reasons


def model_sql() -> str:
    return "\n".join(path.read_text() for path in (ROOT / "models").rglob("*.sql"))


BODIES = macro_bodies()


def test_every_normalisation_macro_declares_what_it_discards():
    declared = declarations()
    missing = sorted(name for name in BODIES if not declared.get(name))
    assert not missing, f"add meta.crm7_discards to {missing} in _normalization__macros.yml"


@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_macro_declared_lossless_has_no_path_to_null(name):
    declared = declarations()[name]
    paths = null_paths(BODIES[name])
    if declared == "never":
        assert not paths, f"{name} is declared never to discard, but has {paths}"
    elif declared == "blank_only":
        lossy = [path for path in paths if path != "nullif(..., '')"]
        assert not lossy, f"{name} is declared blank_only, but has {lossy}"


@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_discarded_value_leaves_a_review_reason(name):
    declared = declarations()[name]
    if declared in NO_LOSS:
        return
    assert declared in review_reasons_accepted(), (
        f"{name} discards into review reason {declared!r}, which no review mart accepts"
    )
    assert f"'{declared}'" in model_sql(), f"no model emits review reason {declared!r}"


def test_the_search_finds_null_paths():
    """The search itself: each construct that can give NULL is found."""
    assert null_paths("nullif(btrim(x), '')") == ["nullif(..., '')"]
    assert null_paths("nullif(x, 'n/a')") == ["nullif(..., 'n/a')"]
    assert null_paths("nullif(regexp_replace(x, '[(]', ''), '')") == ["nullif(..., '')"]
    assert null_paths("case when x > 0 then x end") == ["case without else"]
    assert null_paths("case when x > 0 then x else null end") == ["'else null'"]
    assert null_paths("case when x > 0 then x else 0 end") == []
