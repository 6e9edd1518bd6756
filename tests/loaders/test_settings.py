"""Settings: read in one place, defaults as documented, bad values named, not tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, environment_for, run_crm7

from loaders import settings
from loaders.db import external_settings
from loaders.errors import SettingError


def test_defaults_when_nothing_is_set(monkeypatch):
    assert settings.load_segment_lines({}) == settings.DEFAULT_LOAD_SEGMENT_LINES
    assert 1 <= settings.load_workers({}) <= settings.MAX_DEFAULT_LOAD_WORKERS
    assert settings.project_dir({}) is None
    assert settings.database_url({}) is None
    assert settings.pg_variables({"PGHOST": "", "HOME": "/root"}) == {}
    assert settings.dbt_send_anonymous_usage_stats({}) == "false"
    monkeypatch.setenv("HOME", "/home/someone")
    assert settings.cache_home({}) == Path("/home/someone/.cache")


def test_dbt_target_path_is_read_from_the_project(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM7_PROJECT_DIR", str(tmp_path))
    assert settings.dbt_target_path({}) == tmp_path / "target"
    assert settings.dbt_target_path({"DBT_TARGET_PATH": "out"}) == tmp_path / "out"
    assert settings.dbt_target_path({"DBT_TARGET_PATH": "/abs"}) == Path("/abs")


def test_values_as_set():
    assert settings.load_workers({"CRM7_LOAD_WORKERS": " 3 "}) == 3
    assert settings.load_workers({"CRM7_LOAD_WORKERS": "0"}) == 1, "0 has always meant one"
    assert settings.load_segment_lines({"CRM7_LOAD_SEGMENT_LINES": "100"}) == 100
    assert settings.cache_home({"XDG_CACHE_HOME": "/tmp/c"}) == Path("/tmp/c")
    assert settings.dbt_send_anonymous_usage_stats({"DBT_SEND_ANONYMOUS_USAGE_STATS": "true"}) == (
        "true"
    )
    assert settings.pg_variables({"PGPORT": "5433", "PGUSER": ""}) == {"PGPORT": "5433"}


@pytest.mark.parametrize(
    ("read", "environ", "message"),
    [
        (settings.load_workers, {"CRM7_LOAD_WORKERS": "abc"}, "CRM7_LOAD_WORKERS='abc' is not a"),
        (
            settings.load_segment_lines,
            {"CRM7_LOAD_SEGMENT_LINES": "0"},
            "CRM7_LOAD_SEGMENT_LINES='0' is below 1",
        ),
        (external_settings, {"PGPORT": "fivefour"}, "PGPORT: 'fivefour' is not a port number"),
        (
            external_settings,
            {"CRM7_DATABASE_URL": "postgresql://u@h:99999/db"},
            "CRM7_DATABASE_URL: '99999' is not a port number",
        ),
    ],
)
def test_a_bad_value_is_a_named_error(read, environ, message):
    with pytest.raises(SettingError, match=message):
        read(environ)


def test_a_bad_setting_stops_the_command_with_a_message(database):
    env = environment_for(database, CRM7_LOAD_WORKERS="abc")
    result = run_crm7("load", str(FIXTURES / "contractors-3_valid.xml"), env=env)

    assert result.returncode == 2
    assert "crm7: CRM7_LOAD_WORKERS='abc' is not a whole number" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == "", "nothing was loaded, nor recorded as a failed load"


def test_the_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings.settings_table() in readme, "README's Settings table: paste settings_table()"
