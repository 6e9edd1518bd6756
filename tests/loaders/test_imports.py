"""Every module imports on its own, and no two modules of loaders import each other."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import loaders

PACKAGE = Path(loaders.__file__).parent


def all_modules() -> list[str]:
    found = pkgutil.walk_packages([str(PACKAGE)], prefix="loaders.")
    return ["loaders", *sorted(info.name for info in found)]


def module_path(name: str) -> Path:
    relative = Path(*name.split(".")[1:])
    package = PACKAGE / relative / "__init__.py"
    return package if package.is_file() else (PACKAGE / relative).with_suffix(".py")


def imports_of(name: str, known: set[str]) -> set[str]:
    """The loaders modules ``name`` imports, at the top or inside a function alike."""
    found = set()
    tree = ast.parse(module_path(name).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from loaders.load import pipeline` imports a module; `... import load_file` a name.
            targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def test_no_import_cycles():
    modules = set(all_modules())
    graph = {name: imports_of(name, modules) for name in modules}
    assert "loaders.load.pipeline" in graph["loaders.load"], "the graph sees imports"
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(name)

    done: set[str] = set()
    for name in sorted(modules):
        if name not in done:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_every_module_imports_in_a_fresh_interpreter():
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {all_modules()!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'loaders' or m.startswith('loaders.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        failed.append(f'{name}: {type(error).__name__}: {error}')\n"
        "print('\\n'.join(failed))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    assert result.stdout.strip() == "", result.stdout


def test_the_command_line_starts_without_dbt_or_psycopg():
    script = (
        "import sys, loaders.cli\n"
        "print(sorted(m for m in ('dbt', 'psycopg', 'xmlschema') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


def test_validating_needs_no_database_driver():
    script = (
        "import sys, loaders.load.validate, loaders.load.files\nprint('psycopg' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
