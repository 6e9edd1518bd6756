"""A loader killed or stopped mid-load: nothing of it stays, nothing waits on it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from conftest import CRM7, FIXTURES, ROOT, environment_for, scalar

from bench.generate import write_file
from loaders.load import load_file

BIG_RECORDS = 150_000  # a few seconds of loading: long enough to be stopped mid-COPY


@pytest.fixture(scope="module")
def big_contractors_file(tmp_path_factory) -> Path:
    return write_file(tmp_path_factory.mktemp("big") / "big-contractors.xml", BIG_RECORDS, "erp")


def _start_load(database, path: Path) -> subprocess.Popen:
    env = environment_for(database, CRM7_LOAD_WORKERS="2", CRM7_LOAD_SEGMENT_LINES="20000")
    return subprocess.Popen(
        [CRM7, "load", str(path), "--no-progress"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its session id finds every process it started
    )


def _wait_for_copy(conn: psycopg.Connection, loader: subprocess.Popen) -> int:
    """Wait until the loader is COPYing; the load id of its 'running' row."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert loader.poll() is None, loader.communicate()
        copying = scalar(
            conn,
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and query ilike 'copy%%' and state = 'active'",
        )
        conn.commit()
        if copying:
            time.sleep(0.3)
            return scalar(conn, "select max(load_id) from raw.loads where status = 'running'")
        time.sleep(0.05)
    raise AssertionError("the loader never started COPYing")


def _processes_of_session(session: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session_id = fields[0], int(fields[3])
        if session_id == session and state != "Z":
            found.append(int(entry.name))
    return found


def _other_sessions(conn: psycopg.Connection) -> int:
    count = scalar(
        conn,
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and pid <> pg_backend_pid()",
    )
    conn.commit()
    return count


def _until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_a_loader_killed_mid_load_leaves_nothing_that_blocks(
    conn, database, crm, big_contractors_file, stop
):
    loader = _start_load(database, big_contractors_file)
    try:
        killed_id = _wait_for_copy(conn, loader)
        # A newer load commits while the killed one is still running.
        newer = load_file(conn, FIXTURES / "contractors-3_valid.xml")
        assert newer.status == "loaded" and newer.load_id > killed_id
        loader.send_signal(stop)
        _out, err = loader.communicate(timeout=60)
    finally:
        if loader.poll() is None:
            os.killpg(loader.pid, signal.SIGKILL)

    assert _until(lambda: not _processes_of_session(loader.pid), 5), "workers outlived the loader"
    assert _until(lambda: _other_sessions(conn) == 0, 5), "the load's session is still there"
    if stop == signal.SIGTERM:
        assert loader.returncode == 143
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert "stopped by SIGTERM" in lines[0] and "big-contractors.xml" in lines[0]
        row = conn.execute(
            "select status, error_message from raw.loads where load_id = %s", (killed_id,)
        ).fetchone()
        assert row[0] == "failed" and "SIGTERM" in row[1]
    else:
        assert loader.returncode == -signal.SIGKILL
    assert scalar(conn, "select count(*) from raw.contractors where _load_id = %s", killed_id) == 0
    conn.commit()

    # The build marks a killed load failed at once and builds the newer load.
    assert crm("run", "--select", "+company_links", "+contractor_review")
    assert scalar(conn, "select status from raw.loads where load_id = %s", killed_id) == "failed"
    built = scalar(
        conn,
        "select array_agg(distinct source_record_id order by source_record_id) from ("
        "select source_record_id from crm.company_links union all "
        "select source_record_id from crm.contractor_review) as seen",
    )
    assert built == ["T-001", "T-002", "T-003"]
    conn.commit()

    reloaded = load_file(conn, big_contractors_file)
    assert (reloaded.status, reloaded.records_loaded) == ("loaded", BIG_RECORDS)


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_ctrl_c_or_a_hangup_rolls_back_and_marks_the_load_failed(
    conn, database, big_contractors_file, stop, code
):
    loader = _start_load(database, big_contractors_file)
    try:
        load_id = _wait_for_copy(conn, loader)
        loader.send_signal(stop)
        out, err = loader.communicate(timeout=60)
    finally:
        if loader.poll() is None:
            os.killpg(loader.pid, signal.SIGKILL)
    assert loader.returncode == code
    assert err.strip().splitlines() == [
        f"crm7: stopped by {stop.name} while loading big-contractors.xml (load {load_id}, "
        "marked failed): rolled back, nothing of it was kept; load it again"
    ]
    assert "Traceback" not in out + err
    row = conn.execute(
        "select status, error_message from raw.loads where load_id = %s", (load_id,)
    ).fetchone()
    assert row[0] == "failed" and stop.name in row[1]
    assert scalar(conn, "select count(*) from raw.contractors") == 0
    assert _until(lambda: not _processes_of_session(loader.pid), 5)
    assert _until(lambda: _other_sessions(conn) == 0, 5)
