"""Replays batches of files at three build cadences and dumps what the CRM holds.

"Same inputs, same CRM": for one sequence of loads, building after every load, building
once after all of them, and building after every load then ``--full-refresh`` must give
identical ``crm.*`` tables and review queues. ``replay_at_three_cadences`` loads the
batches into two fresh databases (one built after every batch and then fully refreshed,
one built once at the end) and returns the three dumps; ``assert_same_crm`` names the
first relation and row that differ.

Build bookkeeping is left out of the dumps: the timestamps of the build that wrote a row
(which build rewrote a row depends on the cadence by definition; it is no content).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import psycopg
from conftest import _create_database, _drop_database

from loaders.db import ConnectionSettings
from loaders.dbt import run_dbt
from loaders.load import load_file

BUILD_COLUMNS = frozenset(
    {"updated_at", "created_at", "linked_at", "detected_at", "deduplicated_at"}
)


def dump_crm(settings: ConnectionSettings, relations: Iterable[str]) -> dict[str, list[str]]:
    """Every row of each crm relation as sorted JSON text, build columns left out."""
    dumps: dict[str, list[str]] = {}
    with psycopg.connect(settings.conninfo()) as conn:
        for relation in relations:
            rows = conn.execute(
                f"select to_jsonb(dumped) - %s::text[] from crm.{relation} as dumped",
                (sorted(BUILD_COLUMNS),),
            ).fetchall()
            dumps[relation] = sorted(json.dumps(row[0], sort_keys=True) for row in rows)
    return dumps


def _build(settings: ConnectionSettings, target: Path, *args: str) -> None:
    arguments = [
        "build",
        "--exclude-resource-type",
        "test",
        "unit_test",
        *args,
        "--target-path",
        str(target),
        "--log-path",
        str(target),
        "--quiet",
    ]
    assert run_dbt(arguments, settings).success, f"dbt {' '.join(arguments)} failed"


def _load(settings: ConnectionSettings, batch: Sequence[Path]) -> None:
    with psycopg.connect(settings.conninfo()) as conn:
        for path in batch:
            load_file(conn, path)
        conn.commit()


def replay_at_three_cadences(
    server: ConnectionSettings,
    target: Path,
    batches: Sequence[Sequence[Path]],
    relations: Sequence[str],
    dbt_args: Sequence[str] = (),
) -> dict[str, dict[str, list[str]]]:
    """The dumps of `relations` after the batches were built per load, once, and per load
    then with --full-refresh (keys: per_load, once, full_refresh)."""
    dumps: dict[str, dict[str, list[str]]] = {}
    per_load = _create_database(server)
    once = _create_database(server)
    try:
        for batch in batches:
            _load(per_load, batch)
            _build(per_load, target / "per_load", *dbt_args)
        dumps["per_load"] = dump_crm(per_load, relations)
        _build(per_load, target / "per_load", "--full-refresh", *dbt_args)
        dumps["full_refresh"] = dump_crm(per_load, relations)

        for batch in batches:
            _load(once, batch)
        _build(once, target / "once", *dbt_args)
        dumps["once"] = dump_crm(once, relations)
    finally:
        _drop_database(per_load)
        _drop_database(once)
    return dumps


def assert_same_crm(dumps: dict[str, dict[str, list[str]]]) -> None:
    """All cadences hold the same rows; otherwise names the relation and the rows."""
    reference = dumps["once"]
    for cadence in ("per_load", "full_refresh"):
        for relation, rows in reference.items():
            other = dumps[cadence][relation]
            only_once = sorted(set(rows) - set(other))
            only_other = sorted(set(other) - set(rows))
            assert not (only_once or only_other), (
                f"crm.{relation} differs between a build once and {cadence}:\n"
                f"  once only: {only_once[:3]}\n  {cadence} only: {only_other[:3]}"
            )
