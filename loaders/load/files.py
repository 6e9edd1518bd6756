"""Which files a command means: each file as given, a folder's ``*.xml`` files by name."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def contract_files(names: Iterable[str | Path]) -> list[Path]:
    """Files to load or validate, in order: a folder means its XML files in name order
    (exports are usually numbered); a missing file is kept, to be reported by name."""
    files: list[Path] = []
    for name in names:
        path = Path(name)
        files.extend(sorted(path.glob("*.xml")) if path.is_dir() else [path])
    return files
