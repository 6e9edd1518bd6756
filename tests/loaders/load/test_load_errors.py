"""crm7 load on what is not a loadable file, or losing its server: one line, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from conftest import CRM7, FIXTURES, ROOT, environment_for, run_crm7, scalar

from bench.generate import write_file
from loaders.load import pipeline
from loaders.load.run import load_paths

GOOD = FIXTURES / "contractors-3_valid.xml"


def test_a_fifo_and_folders_without_xml_fail_by_name_and_the_rest_loads(database, tmp_path):
    fifo = tmp_path / "export.xml"
    os.mkfifo(fifo)
    empty = tmp_path / "empty"
    empty.mkdir()
    folder_named_xml = tmp_path / "x.xml"
    folder_named_xml.mkdir()
    env = environment_for(database)

    result = run_crm7("load", str(fifo), str(empty), str(folder_named_xml), str(GOOD), env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        lines[0]
        == f"export.xml: FAILED: {fifo}: not a regular file (a FIFO, device or socket): give a file"
    )
    assert lines[1] == f"empty: FAILED: {empty}: a folder holding no *.xml file"
    assert lines[2] == f"x.xml: FAILED: {folder_named_xml}: a folder holding no *.xml file"
    assert lines[3].startswith("contractors-3_valid.xml: load ") and "3 loaded" in lines[3]
    assert "Traceback" not in result.stderr

    validated = run_crm7("validate", str(fifo), str(empty), env=env)
    assert validated.returncode == 1
    assert (
        "not a regular file" in validated.stdout
        and "a folder holding no *.xml file" in validated.stdout
    )
    assert "Traceback" not in validated.stderr


def test_an_unreadable_file_fails_alone_and_the_next_one_loads(database, tmp_path, monkeypatch):
    unreadable = tmp_path / "secret.xml"
    unreadable.write_text(GOOD.read_text())
    file_sha256 = pipeline.file_sha256

    def denied(path):
        if path == unreadable:  # as root, chmod 000 does not stop a read: say what it would
            raise PermissionError(13, "Permission denied", str(path))
        return file_sha256(path)

    monkeypatch.setattr(pipeline, "file_sha256", denied)
    results = []
    failed = load_paths(database, [unreadable, GOOD], results.append)
    assert failed == 1
    assert [result.status for result in results] == ["failed", "loaded"]
    assert (
        results[0].summary()
        == f"secret.xml: FAILED: {unreadable}: cannot read it: Permission denied"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission_is_one_line(database, tmp_path):
    unreadable = tmp_path / "secret.xml"
    unreadable.write_text(GOOD.read_text())
    unreadable.chmod(0)
    result = run_crm7("load", str(unreadable), str(GOOD), env=environment_for(database))
    assert result.returncode == 1
    assert "secret.xml: FAILED:" in result.stdout and "Permission denied" in result.stdout
    assert "3 loaded" in result.stdout and "Traceback" not in result.stderr


def test_the_server_ending_the_session_mid_load_is_one_line(conn, database, tmp_path):
    big = write_file(tmp_path / "big.xml", 100_000, "erp")
    env = environment_for(database, CRM7_LOAD_WORKERS="2", CRM7_LOAD_SEGMENT_LINES="20000")
    loader = subprocess.Popen(
        [CRM7, "load", str(big), str(GOOD), "--no-progress"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            backend = conn.execute(
                "select pid from pg_stat_activity where datname = current_database() "
                "and query ilike 'copy%%' and state = 'active'"
            ).fetchone()
            conn.commit()
            if backend or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert backend, "the loader never started COPYing"
        # What a shutdown of the server, or an administrator, does to the session.
        conn.execute("select pg_terminate_backend(%s)", backend)
        conn.commit()
        out, err = loader.communicate(timeout=60)
    finally:
        if loader.poll() is None:
            os.killpg(loader.pid, signal.SIGKILL)
    assert loader.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("crm7: big.xml (load 1): the connection to PostgreSQL was lost")
    assert "load it again" in lines[0]
    assert "Traceback" not in out + err
    assert scalar(conn, "select count(*) from raw.contractors") == 0
