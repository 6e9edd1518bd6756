"""Every setting crm7 reads from its environment, in one place.

Each reader takes the environment as an argument (the process's by default) and reads it
when called, never at import: a test or a caller can change a variable between calls.
A value that cannot be used raises SettingError naming the variable, the value and what
to write instead. ``SETTINGS`` lists them all, for the README's table (a test keeps the
two in step, see ``settings_table``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loaders.errors import SettingError

Environment = Mapping[str, str]

# libpq's own variables: setting any of them means "use that server".
PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
# One worker per core, at most two: PostgreSQL needs a core for the COPYs too.
MAX_DEFAULT_LOAD_WORKERS = 2
# Below libxml2's 65,535-line limit, so that element lines in a segment stay exact.
DEFAULT_LOAD_SEGMENT_LINES = 60_000


@dataclass(frozen=True)
class Setting:
    """One environment variable crm7 reads: as the README lists it."""

    name: str
    default: str
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CRM7_DATABASE_URL",
        "unset",
        "The PostgreSQL server and database every command uses, as a libpq URL "
        "(`postgresql://user:pass@host:port/db`) or `key=value` string; parts it leaves out "
        "come from `PG*`, then the defaults below. Every other libpq parameter it gives "
        "(`sslmode`, `sslrootcert`, `options`, `application_name`, ...) is kept, and passed "
        "to psql and dbt as its `PG*` variable (`PGSSLMODE`, ...).",
    ),
    Setting(
        "PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE",
        "unset (`localhost`, `5432`, `postgres`, empty, `crm7` when another is set)",
        "Any of them set (and no `CRM7_DATABASE_URL`): use that server. All unset: the "
        "embedded PostgreSQL in `.crm7/pgdata`, started on first use.",
    ),
    Setting(
        "CRM7_PROJECT_DIR",
        "the folder holding `dbt_project.yml`, searched upwards from the working directory",
        "The crm7 project: `contracts/`, `examples/`, `profiles/`, dbt's project and `.crm7/`.",
    ),
    Setting(
        "CRM7_LOAD_WORKERS",
        f"one per core, at most {MAX_DEFAULT_LOAD_WORKERS}",
        "Worker processes parsing the segments of one large file while the main process "
        "COPYs (a whole number; 1 parses in the main process).",
    ),
    Setting(
        "CRM7_LOAD_SEGMENT_LINES",
        f"{DEFAULT_LOAD_SEGMENT_LINES:,}",
        "At most this many lines per segment a large file is cut into (a whole number, at "
        "least 1). Keep it below 65,535: past that line of a segment, libxml2 loses element lines.",
    ),
    Setting(
        "XDG_CACHE_HOME",
        "`~/.cache`",
        "Where the contracts' table layouts are cached between runs (`crm7/contracts-*.pickle`).",
    ),
    Setting(
        "DBT_TARGET_PATH",
        "`target` in the project",
        "Where dbt writes its artifacts (a relative path is read from the project); "
        "`crm7 check` reads the tests' models from the `manifest.json` there.",
    ),
    Setting(
        "DBT_SEND_ANONYMOUS_USAGE_STATS",
        "`false`",
        "Passed to dbt as set; crm7 turns dbt's anonymous usage statistics off unless you set it.",
    ),
)


def settings_table() -> str:
    """SETTINGS as the Markdown table in the README's "Settings" section."""
    rows = ["| setting | default | what it does |", "|---|---|---|"]
    for setting in SETTINGS:
        names = ", ".join(f"`{name.strip()}`" for name in setting.name.split(","))
        rows.append(f"| {names} | {setting.default} | {setting.description} |")
    return "\n".join(rows) + "\n"


def _environment(environ: Environment | None) -> Environment:
    return os.environ if environ is None else environ


def _whole_number(name: str, value: str, what: str, minimum: int | None = None) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise SettingError(
            f"{name}={value!r} is not a whole number: set it to {what}, or unset it for the default"
        ) from None
    if minimum is not None and number < minimum:
        raise SettingError(f"{name}={value!r} is below {minimum}: set it to {what}")
    return number


def load_workers(environ: Environment | None = None) -> int:
    """CRM7_LOAD_WORKERS: worker processes for one file's segments."""
    configured = _environment(environ).get("CRM7_LOAD_WORKERS")
    if configured:
        # 0 or less has always meant one: parsing in the main process.
        return max(
            1, _whole_number("CRM7_LOAD_WORKERS", configured, "a number of workers (e.g. 2)")
        )
    return max(1, min(MAX_DEFAULT_LOAD_WORKERS, os.cpu_count() or 1))


def load_segment_lines(environ: Environment | None = None) -> int:
    """CRM7_LOAD_SEGMENT_LINES: the most lines in one segment of a large file."""
    configured = _environment(environ).get("CRM7_LOAD_SEGMENT_LINES")
    if configured:
        return _whole_number(
            "CRM7_LOAD_SEGMENT_LINES", configured, "a number of lines (e.g. 60000)", 1
        )
    return DEFAULT_LOAD_SEGMENT_LINES


def project_dir(environ: Environment | None = None) -> Path | None:
    """CRM7_PROJECT_DIR, resolved; None when unset (the project is then searched for)."""
    configured = _environment(environ).get("CRM7_PROJECT_DIR")
    return Path(configured).resolve() if configured else None


def project_root(start: Path | None = None) -> Path:
    """The crm7 project: CRM7_PROJECT_DIR, else the folder holding dbt_project.yml,
    searched upwards from ``start`` (the working directory)."""
    override = project_dir()
    if override is not None:
        return override
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dbt_project.yml").is_file():
            return folder
    return here


def database_url(environ: Environment | None = None) -> str | None:
    """CRM7_DATABASE_URL; None when unset or empty."""
    return _environment(environ).get("CRM7_DATABASE_URL") or None


def pg_variables(environ: Environment | None = None) -> dict[str, str]:
    """The PG* variables that are set (to something other than an empty string)."""
    found = _environment(environ)
    return {name: found[name] for name in PG_VARIABLES if found.get(name)}


def port_number(name: str, value: str) -> int:
    """A port from PGPORT or CRM7_DATABASE_URL, or a SettingError saying which is wrong."""
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise SettingError(f"{name}: {value!r} is not a port number (1-65535)")
    return port


def cache_home(environ: Environment | None = None) -> Path:
    """XDG_CACHE_HOME, else ~/.cache."""
    configured = _environment(environ).get("XDG_CACHE_HOME")
    return Path(configured) if configured else Path.home() / ".cache"


def dbt_target_path(environ: Environment | None = None) -> Path:
    """DBT_TARGET_PATH, else target/, in the project (where dbt reads a relative one from)."""
    return project_root() / (_environment(environ).get("DBT_TARGET_PATH") or "target")


def dbt_send_anonymous_usage_stats(environ: Environment | None = None) -> str:
    """DBT_SEND_ANONYMOUS_USAGE_STATS as the user set it, "false" when unset."""
    return _environment(environ).get("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
