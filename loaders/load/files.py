"""Which files a command means: each file as given, a folder's ``*.xml`` files by name."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def contract_files(names: Iterable[str | Path]) -> list[Path]:
    """Files to load or validate, in order: a folder means its XML files in name order
    (exports are usually numbered); a missing file, or a folder holding no XML file, is
    kept, to be reported by name."""
    files: list[Path] = []
    for name in names:
        path = Path(name)
        found = sorted(found for found in path.glob("*.xml") if found.is_file())
        files.extend(found if path.is_dir() and found else [path])
    return files


def why_not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a contract file, or None when it is a regular file."""
    if path.is_file():
        return None
    if path.is_dir():
        return f"{path}: a folder holding no *.xml file"
    if path.exists():
        return f"{path}: not a regular file (a FIFO, device or socket): give a file"
    return f"{path}: no such file"
