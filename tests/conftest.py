"""Shared fixtures: a real embedded PostgreSQL for the whole run, a fresh database per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

from loaders.db import ConnectionSettings, EmbeddedServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"
REFERENCE = ROOT.parent / "shared" / "reference"
CRM7 = str(Path(sys.executable).with_name("crm7"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ConnectionSettings]:
    """This test session's own embedded server, beside (not inside) the demo's.

    One per session (a second session running at the same time gets its own), removed
    at the end.
    """
    server = EmbeddedServer(ROOT, name=f"test-pgdata-{os.getpid()}")
    settings = server.ensure_running()
    yield settings
    server.stop()
    shutil.rmtree(server.pgdata, ignore_errors=True)
    server.log_file.unlink(missing_ok=True)
    (server.home / f".{server.pgdata.name}.lock").unlink(missing_ok=True)


def _create_database(server: ConnectionSettings) -> ConnectionSettings:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    return replace(server, dbname=name)


def _drop_database(settings: ConnectionSettings) -> None:
    with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{settings.dbname}" with (force)')


@pytest.fixture
def database(pg_server: ConnectionSettings) -> Iterator[ConnectionSettings]:
    settings = _create_database(pg_server)
    yield settings
    _drop_database(settings)


@pytest.fixture
def conn(database: ConnectionSettings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database.conninfo()) as connection:
        yield connection


@pytest.fixture
def crm(database: ConnectionSettings, tmp_path_factory) -> Callable[..., bool]:
    """Returns build(*dbt_args) -> bool, running dbt against the test's database."""
    from loaders.dbt import run_dbt

    target = str(tmp_path_factory.mktemp("dbt-target"))

    def build(*args: str) -> bool:
        arguments = [
            *(args or ("build",)),
            "--target-path",
            target,
            "--log-path",
            target,
            "--quiet",
        ]
        return bool(run_dbt(arguments, database).success)

    return build


def environment_for(settings: ConnectionSettings, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "CRM7_DATABASE_URL"
    }
    env.update(settings.env())
    env.update(extra)
    return env


def run_crm7(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CRM7, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def query(conn: psycopg.Connection, statement: str, *params) -> list[tuple]:
    return conn.execute(statement, params or None).fetchall()


def scalar(conn: psycopg.Connection, statement: str, *params):
    return conn.execute(statement, params or None).fetchone()[0]


@contextmanager
def paused_load(settings: ConnectionSettings, path: Path, monkeypatch) -> Iterator[dict]:
    """Runs load_file(path) in a thread on its own connection and holds it after it has
    registered itself, before its first COPY; the load finishes when the block ends.
    Yields a dict that holds the LoadResult under "result" after the block."""
    import loaders.load.pipeline as pipeline

    registered, release = threading.Event(), threading.Event()
    copy_batches = pipeline.copy_batches
    outcome: dict = {}

    def held_copy(*args, **kwargs):
        registered.set()
        release.wait(timeout=120)
        return copy_batches(*args, **kwargs)

    monkeypatch.setattr(pipeline, "copy_batches", held_copy)

    def run() -> None:
        with psycopg.connect(settings.conninfo()) as connection:
            outcome["result"] = pipeline.load_file(connection, path)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert registered.wait(timeout=120), "the load never reached its first COPY"
        monkeypatch.setattr(pipeline, "copy_batches", copy_batches)
        yield outcome
    finally:
        release.set()
        thread.join(timeout=300)
