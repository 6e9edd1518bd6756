"""crm7 db and server resolution: the embedded server, or the one the user names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import FIXTURES, ROOT, run_crm7

from loaders.db import EmbeddedServer, connect, external_settings, free_tcp_port


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "CRM7_DATABASE_URL"
    }
    env.update(extra)
    return env


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A throwaway project folder: its own contracts and its own .crm7/."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "dbt_project.yml").write_text("name: scratch\n")
    shutil.copytree(ROOT / "contracts", folder / "contracts")
    yield folder
    EmbeddedServer(folder).stop() if (folder / ".crm7" / "pgdata").exists() else None


@pytest.fixture
def tcp_server(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, int]]:
    """A second PostgreSQL, reached over TCP on 127.0.0.1, standing in for 'any existing server'."""
    port = free_tcp_port()
    server = EmbeddedServer(tmp_path / "other", name="tcp-pgdata", tcp_port=port)
    (tmp_path / "other").mkdir()
    server.ensure_running()
    yield server, port
    server.stop()


def test_embedded_server_lifecycle_and_env(project):
    env = clean_env(CRM7_PROJECT_DIR=str(project))

    status = run_crm7("db", "status", env=env)
    assert status.returncode == 3 and "not created yet" in status.stdout

    started = run_crm7("db", "start", env=env)
    assert started.returncode == 0, started.stderr
    assert "embedded PostgreSQL running" in started.stdout
    assert (project / ".crm7" / "pgdata" / "PG_VERSION").read_text().strip() == "18"

    exports = run_crm7("db", "env", env=env)
    assert exports.returncode == 0
    # The printed lines work in a shell: psql-free check through bash + python.
    script = f'{exports.stdout}\n"$PYTHON" -c \'import psycopg; print(psycopg.connect("").execute("select current_database()").fetchone()[0])\''
    shell = subprocess.run(
        ["bash", "-c", script],
        env=clean_env(PYTHON=sys.executable),
        capture_output=True,
        text=True,
        check=False,
    )
    assert shell.stdout.strip() == "crm7", shell.stderr

    stopped = run_crm7("db", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    status = run_crm7("db", "status", env=env)
    assert status.returncode == 3 and "stopped" in status.stdout


def test_commands_start_the_embedded_server_on_first_use(project):
    env = clean_env(CRM7_PROJECT_DIR=str(project))
    loaded = run_crm7("load", str(FIXTURES / "contractors-3_valid.xml"), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "3 read, 3 loaded, 0 rejected" in loaded.stdout
    assert EmbeddedServer(project).is_running()


def _loaded_files(server: EmbeddedServer) -> list[str]:
    with psycopg.connect(server.settings().conninfo()) as conn:
        return [row[0] for row in conn.execute("select file_name from raw.loads order by load_id")]


def test_pg_variables_select_an_existing_server_over_tcp(project, tcp_server):
    server, port = tcp_server
    env = clean_env(
        CRM7_PROJECT_DIR=str(project),
        PGHOST="127.0.0.1",
        PGPORT=str(port),
        PGUSER="postgres",
        PGPASSWORD=server.settings().password,
        PGDATABASE="crm7",
    )

    loaded = run_crm7("load", str(FIXTURES / "contractors-3_valid.xml"), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert _loaded_files(server) == ["contractors-3_valid.xml"]
    assert not (project / ".crm7").exists(), "no embedded server is created when one is named"

    status = run_crm7("db", "status", env=env)
    assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
    refused = run_crm7("db", "start", env=env)
    assert refused.returncode == 1 and "does not start or stop it" in refused.stderr


def test_database_url_selects_an_existing_server(project, tcp_server):
    server, port = tcp_server
    url = f"postgresql://postgres:{server.settings().password}@127.0.0.1:{port}/crm7"
    env = clean_env(CRM7_PROJECT_DIR=str(project), CRM7_DATABASE_URL=url)

    loaded = run_crm7("load", str(FIXTURES / "contractors-2_rejects.xml"), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert _loaded_files(server) == ["contractors-2_rejects.xml"]
    exports = run_crm7("db", "env", env=env)
    assert f"export PGPORT={port}" in exports.stdout and "export PGHOST=127.0.0.1" in exports.stdout


def test_unreachable_server_is_a_message_not_a_traceback(project):
    port = free_tcp_port()  # nothing listens there
    env = clean_env(CRM7_PROJECT_DIR=str(project), PGHOST="127.0.0.1", PGPORT=str(port))
    result = run_crm7("load", str(FIXTURES / "contractors-3_valid.xml"), env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("crm7: cannot connect to PostgreSQL at postgres@127.0.0.1")
    assert "Traceback" not in result.stderr


def test_external_settings_resolution_order():
    assert external_settings({}) is None
    from_url = external_settings(
        {"CRM7_DATABASE_URL": "postgresql://u:p@db.example:6543/crm", "PGHOST": "other"}
    )
    assert (from_url.host, from_url.port, from_url.user, from_url.password, from_url.dbname) == (
        "db.example",
        6543,
        "u",
        "p",
        "crm",
    )
    from_env = external_settings({"PGHOST": "/run/pg", "PGDATABASE": "x"})
    assert (from_env.host, from_env.port, from_env.user, from_env.dbname, from_env.origin) == (
        "/run/pg",
        5432,
        "postgres",
        "x",
        "environment",
    )


def test_database_url_keeps_every_libpq_parameter(project, tcp_server):
    server, port = tcp_server
    password = server.settings().password
    base = f"postgresql://postgres:{password}@127.0.0.1:{port}/crm7"
    named = external_settings(
        {"CRM7_DATABASE_URL": f"{base}?application_name=crm7-probe&options=-c%20work_mem%3D7MB"}
    )
    with connect(named) as conn:
        assert conn.execute("show application_name").fetchone() == ("crm7-probe",)
        assert conn.execute("show work_mem").fetchone() == ("7MB",)
    assert named.env()["PGAPPNAME"] == "crm7-probe"  # psql and dbt get them too
    assert named.env()["PGOPTIONS"] == "-c work_mem=7MB"

    # The server speaks no TLS: a URL that requires it must fail, never fall back.
    env = clean_env(
        CRM7_PROJECT_DIR=str(project),
        CRM7_DATABASE_URL=f"{base}?sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
    )
    refused = run_crm7("load", str(FIXTURES / "contractors-3_valid.xml"), env=env)
    assert refused.returncode == 2
    assert refused.stderr.startswith("crm7: cannot connect to PostgreSQL"), refused.stderr
    assert "root.crt" in refused.stderr or "SSL" in refused.stderr
    assert "Traceback" not in refused.stderr
    with connect(server.settings()) as conn:
        assert conn.execute("select to_regclass('raw.loads')").fetchone() == (None,)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PGPORT": "notanumber"}, "crm7: PGPORT: 'notanumber' is not a port number (1-65535)"),
        (
            {"CRM7_DATABASE_URL": "postgresql://u@db.example:abc/crm"},
            "crm7: CRM7_DATABASE_URL: 'abc' is not a port number (1-65535)",
        ),
    ],
)
def test_a_port_that_is_not_a_number_is_one_line(project, variables, message):
    env = clean_env(CRM7_PROJECT_DIR=str(project), **variables)
    result = run_crm7("load", str(FIXTURES / "contractors-3_valid.xml"), env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [message]
