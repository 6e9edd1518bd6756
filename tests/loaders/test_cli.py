"""The crm7 command as a user runs it: messages, exit codes, folders."""

from __future__ import annotations

import shutil

from conftest import FIXTURES, environment_for, run_crm7


def test_load_prints_one_summary_line_per_file_and_fails_on_a_bad_file(database, tmp_path):
    for name in (
        "contractors-2_rejects.xml",
        "contractors-3_valid.xml",
        "contractors-broken_at_line_7.xml",
    ):
        shutil.copy(FIXTURES / name, tmp_path / name)
    result = run_crm7("load", str(tmp_path), env=environment_for(database))

    assert result.returncode == 1, "a failed file makes the command fail"
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("contractors-2_rejects.xml: load ")
    assert "5 read, 3 loaded, 2 rejected; first reasons: contractors-2_rejects.xml:" in lines[0]
    assert (
        lines[1].startswith("contractors-3_valid.xml: load ")
        and "3 read, 3 loaded, 0 rejected" in lines[1]
    )
    assert lines[2].startswith("contractors-broken_at_line_7.xml: FAILED (load ")
    assert "line 7, column" in lines[2] and "not well-formed" in lines[2]
    assert "Traceback" not in result.stdout + result.stderr


def test_loading_again_says_it_was_skipped(database):
    env = environment_for(database)
    path = str(FIXTURES / "contractors-3_valid.xml")
    assert run_crm7("load", path, env=env).returncode == 0
    again = run_crm7("load", path, env=env)
    assert again.returncode == 0
    assert "skipped, already loaded as load 1" in again.stdout


def test_hostile_file_message_says_why(database):
    result = run_crm7(
        "load", str(FIXTURES / "contractors-billion_laughs.xml"), env=environment_for(database)
    )
    assert result.returncode == 1
    assert "refuses DTDs and entities" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_contract_list_names_the_raw_tables(database):
    result = run_crm7("contract", "list", env=environment_for(database))
    assert result.returncode == 0
    assert (
        "contractors v1 (1.1): urn:crm7:contract:contractors:v1 -> raw.contractors" in result.stdout
    )
    assert "raw.contractor_addresses" in result.stdout
