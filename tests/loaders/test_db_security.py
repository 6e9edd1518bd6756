"""The embedded server admits only its own user (and root) on its socket, passwords on TCP."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from loaders.db import EmbeddedServer, free_tcp_port

SERVER_USER = "embedded_postgres"

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None,
    reason="connecting as another OS user needs root and runuser",
)


def _started(root: Path, **kwargs) -> EmbeddedServer:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: scratch\n")
    server = EmbeddedServer(root, **kwargs)
    server.ensure_running()
    return server


@pytest.fixture
def short_path_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = _started(tmp_path / "p")
    yield server
    server.stop()


@pytest.fixture
def long_path_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = _started(tmp_path / ("deep-" + "x" * 90))
    assert server.socket_dir() != server.pgdata, "the path should be too long for a socket"
    yield server
    server.stop()
    shutil.rmtree(server.socket_dir(), ignore_errors=True)


def _as_nobody(server: EmbeddedServer, *psql_args: str) -> subprocess.CompletedProcess:
    psql = str(server.bin_dir / "psql")
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", psql, "-X", "-w", *psql_args, "-c", "select 1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
    )


def _assert_private(server: EmbeddedServer) -> None:
    socket_dir = server.socket_dir()
    owner = os.geteuid() if os.geteuid() != 0 else pwd.getpwnam(SERVER_USER).pw_uid
    found = os.stat(socket_dir)
    assert stat.S_IMODE(found.st_mode) == 0o700
    assert found.st_uid == owner
    socket_file = os.stat(socket_dir / ".s.PGSQL.5432")
    assert stat.S_IMODE(socket_file.st_mode) == 0o700
    # The owner (here: this process, or root) still connects.
    with psycopg.connect(server.socket_settings().conninfo()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


@needs_root
@pytest.mark.parametrize("where", ["short_path_server", "long_path_server"])
def test_another_local_user_cannot_connect_through_the_socket(where, request):
    server: EmbeddedServer = request.getfixturevalue(where)
    _assert_private(server)
    refused = _as_nobody(server, "-h", str(server.socket_dir()), "-U", "postgres", "-d", "crm7")
    assert refused.returncode != 0
    # psql itself ran: the server's socket is what refused it.
    assert "connection to server on socket" in refused.stderr, refused.stderr
    assert "Permission denied" in refused.stderr, refused.stderr


def test_socket_directory_is_private(short_path_server):
    _assert_private(short_path_server)


def test_tcp_needs_the_password(tmp_path):
    port = free_tcp_port()
    server = _started(tmp_path / "tcp", name="tcp-pgdata", tcp_port=port)
    try:
        settings = server.settings()
        assert settings.password
        with psycopg.connect(settings.conninfo()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        for password in ("", "wrong"):
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(
                    host="127.0.0.1", port=port, user="postgres", password=password, dbname="crm7"
                )
        assert stat.S_IMODE(os.stat(server.password_file).st_mode) == 0o600
    finally:
        server.stop()


@needs_root
def test_the_server_runs_as_its_own_user_and_group_not_root(short_path_server):
    postmaster = int((short_path_server.pgdata / "postmaster.pid").read_text().split()[0])
    status = Path(f"/proc/{postmaster}/status").read_text()
    ids = {line.split(":")[0]: line.split()[1:] for line in status.splitlines()}
    entry = pwd.getpwnam(SERVER_USER)
    assert int(ids["Uid"][0]) == entry.pw_uid
    assert int(ids["Gid"][0]) == entry.pw_gid != 0
    assert "0" not in ids.get("Groups", [])


def test_loads_commit_synchronously(short_path_server):
    with psycopg.connect(short_path_server.socket_settings().conninfo()) as conn:
        assert conn.execute("show synchronous_commit").fetchone() == ("on",)


def test_first_use_creates_the_least_privilege_roles(short_path_server):
    with psycopg.connect(short_path_server.socket_settings().conninfo()) as conn:
        roles = conn.execute(
            "select rolname, rolsuper from pg_roles where rolname like 'crm7\\_%' order by 1"
        ).fetchall()
        assert roles == [
            ("crm7_loader", False),
            ("crm7_reader", False),
            ("crm7_transform", False),
        ]
        owners = dict(
            conn.execute(
                "select nspname, nspowner::regrole::text from pg_namespace "
                "where nspname in ('raw', 'staging', 'intermediate', 'crm', 'audit')"
            ).fetchall()
        )
        assert owners == {
            "raw": "crm7_loader",
            "staging": "crm7_transform",
            "intermediate": "crm7_transform",
            "crm": "crm7_transform",
            "audit": "crm7_transform",
        }
