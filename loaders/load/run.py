"""``crm7 load``: load files one after another, each its own transaction and outcome.

A file that fails is a failed load and the next file still loads. A stop signal (see
loaders.load.stopping) ends the command: the load in flight is rolled back and marked
failed naming the signal, on a connection of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path

from loaders.db import ConnectionSettings, connect
from loaders.load.pipeline import LoadResult, load_file
from loaders.load.registry import mark_interrupted
from loaders.load.stopping import LoadInterrupted, stop_signals_interrupt


def load_paths(
    settings: ConnectionSettings,
    paths: Iterable[Path],
    report: Callable[[LoadResult], None],
    source_system: str | None = None,
    force: bool = False,
    progress: bool | None = None,
) -> int:
    """Load each file, calling ``report`` with each result; the number of failed files.

    Raises LoadInterrupted (its load marked failed) when a stop signal arrives.
    """
    failed = 0
    with stop_signals_interrupt():
        try:
            with connect(settings) as conn:
                for path in paths:
                    result = load_file(
                        conn, path, source_system=source_system, force=force, progress=progress
                    )
                    report(result)
                    failed += result.status == "failed"
        except LoadInterrupted as stop:
            if stop.load_id is not None:
                _record_interruption(settings, stop)
            raise
    return failed


def _record_interruption(settings: ConnectionSettings, stop: LoadInterrupted) -> None:
    # Best effort: if the server cannot be reached, the next load or build marks the load
    # failed anyway (its session, and so its lock, is gone).
    with contextlib.suppress(Exception), connect(settings) as conn:
        mark_interrupted(conn, stop.load_id, stop.failure_message())
