"""crm7 load: what lands in raw tables, raw.rejects and raw.loads for each kind of file."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from conftest import FIXTURES, query, scalar

from bench.generate import write_file
from loaders.load import load_file
from loaders.load.header import read_header
from loaders.load.split import plan_segments

NS = "urn:crm7:contract:contractors:v1"
RAW_TABLES = ("contractors", "contractor_addresses", "contractor_phones", "contractor_emails")


def contractors_xml(*records: str, source_system: str | None = "erp") -> str:
    attribute = f' sourceSystem="{source_system}"' if source_system else ""
    body = "".join(records)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<contractors xmlns="{NS}"{attribute}>\n{body}</contractors>\n'


def record(
    record_id: str, name: str = "ACME Sp. z o.o.", nip: str | None = "5261040828", extra: str = ""
) -> str:
    nip_xml = f"<nip>{nip}</nip>" if nip is not None else ""
    return f"  <contractor><sourceRecordId>{record_id}</sourceRecordId><name>{name}</name>{nip_xml}{extra}</contractor>\n"


def raw_counts(conn: psycopg.Connection) -> dict[str, int]:
    counts = {}
    for table in RAW_TABLES:
        exists = scalar(conn, "select to_regclass(%s) is not null", f"raw.{table}")
        counts[table] = scalar(conn, f"select count(*) from raw.{table}") if exists else 0
    return counts


def load_row(conn: psycopg.Connection, load_id: int) -> dict:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute("select * from raw.loads where load_id = %s", (load_id,)).fetchone()


def test_valid_file_lands_in_raw_tables_with_lineage(conn):
    result = load_file(conn, FIXTURES / "contractors-3_valid.xml")

    assert result.status == "loaded"
    assert (result.records_read, result.records_loaded, result.records_rejected) == (3, 3, 0)
    loads = load_row(conn, result.load_id)
    assert loads["status"] == "loaded"
    assert loads["contract"] == "contractors" and loads["contract_version"] == "1.1"
    assert loads["source_system"] == "erp"
    assert loads["file_name"] == "contractors-3_valid.xml"
    assert len(loads["file_sha256"]) == 64 and loads["file_size_bytes"] > 0
    assert loads["finished_at"] >= loads["started_at"]
    rows = query(
        conn,
        "select _load_id, _record_no, _source_line, _source_system from raw.contractors order by _record_no",
    )
    assert [row[1] for row in rows] == [1, 2, 3]
    assert {row[0] for row in rows} == {result.load_id}
    assert {row[3] for row in rows} == {"erp"}
    # _source_line points at each <contractor> start tag in the file.
    lines = (FIXTURES / "contractors-3_valid.xml").read_text().splitlines()
    for _load, _number, line, _system in rows:
        assert "<contractor>" in lines[line - 1] or "<contractor " in lines[line - 1]


def test_child_elements_go_to_child_tables_in_order(conn, tmp_path):
    path = tmp_path / "children.xml"
    path.write_text(
        contractors_xml(
            record(
                "K1",
                extra=(
                    '<address type="registered"><street>Długa</street><buildingNumber>5</buildingNumber>'
                    "<postalCode>00-950</postalCode><city>Warszawa</city></address>"
                    '<address type="correspondence"><city>Kraków</city><country>pl</country></address>'
                    '<phone type="mobile">+48 600 100 200</phone><phone>22 123 45 67</phone>'
                    "<email>Biuro@Acme.PL</email><email>faktury@acme.pl</email>"
                ),
            )
        )
    )
    result = load_file(conn, path)
    assert result.status == "loaded"
    assert query(
        conn,
        "select _record_no, _position, type, street, building_number, postal_code, city, country "
        "from raw.contractor_addresses order by _position",
    ) == [
        (1, 1, "registered", "Długa", "5", "00-950", "Warszawa", None),
        (1, 2, "correspondence", None, None, None, "Kraków", "pl"),
    ]
    assert query(conn, "select _position, type, value from raw.contractor_phones order by 1") == [
        (1, "mobile", "+48 600 100 200"),
        (2, None, "22 123 45 67"),
    ]
    assert query(conn, "select _position, value from raw.contractor_emails order by 1") == [
        (1, "Biuro@Acme.PL"),
        (2, "faktury@acme.pl"),
    ]


def test_token_values_are_whitespace_collapsed_and_special_characters_survive_copy(conn, tmp_path):
    path = tmp_path / "whitespace.xml"
    path.write_text(
        contractors_xml(
            record("K1", name="  ACME \n   Sp.&#9;z o.o.  "),
            record("K2", name="C:\\Temp \\N firma"),
        )
    )
    result = load_file(conn, path)
    assert result.status == "loaded", result.message
    assert query(conn, "select name from raw.contractors order by _record_no") == [
        ("ACME Sp. z o.o.",),
        ("C:\\Temp \\N firma",),
    ]


def test_typed_columns_hold_typed_values(conn, tmp_path):
    path = tmp_path / "typed.xml"
    path.write_text(
        contractors_xml(
            record("K1", extra="").replace(
                "<name>",
                "<sourceUpdatedAt>2026-03-01T12:30:00+01:00</sourceUpdatedAt><deleted>true</deleted><name>",
            )
        )
    )
    assert load_file(conn, path).status == "loaded"
    updated, deleted = query(
        conn, "select source_updated_at at time zone 'UTC', deleted from raw.contractors"
    )[0]
    assert str(updated) == "2026-03-01 11:30:00"
    assert deleted is True


def test_invalid_records_go_to_rejects_and_the_rest_loads(conn):
    result = load_file(conn, FIXTURES / "contractors-2_rejects.xml")

    assert result.status == "loaded"
    assert (result.records_read, result.records_loaded, result.records_rejected) == (5, 3, 2)
    assert scalar(conn, "select count(*) from raw.contractors") == 3
    rejects = query(
        conn,
        "select load_id, record_no, file_name, source_line, path, reason, record_xml from raw.rejects order by record_no",
    )
    assert len(rejects) == 2
    for load_id, _record_no, file_name, line, _path, reason, xml in rejects:
        assert load_id == result.load_id
        assert file_name == "contractors-2_rejects.xml"
        assert line > 0 and reason
        assert xml.startswith("<contractor") and "</contractor>" in xml
        assert "{urn:" not in reason, "namespaces are shown without Clark notation"
    reasons = " ".join(reject[5] for reject in rejects)
    assert "nip" in reasons and "name" in reasons
    assert result.reasons and "contractors-2_rejects.xml:" in result.reasons[0]
    loaded = {row[0] for row in query(conn, "select _record_no from raw.contractors")}
    assert loaded.isdisjoint({reject[1] for reject in rejects})
    assert loaded | {reject[1] for reject in rejects} == {1, 2, 3, 4, 5}


def test_a_stray_element_under_the_root_is_rejected_not_skipped(conn):
    result = load_file(conn, FIXTURES / "contractors-stray_element.xml")
    assert (result.records_read, result.records_loaded, result.records_rejected) == (3, 2, 1)
    reason, xml = query(conn, "select reason, record_xml from raw.rejects")[0]
    assert "<note>" in reason and "not a record" in reason
    assert "hello" in xml


def test_reject_names_the_line_of_the_bad_field(conn, tmp_path):
    path = tmp_path / "bad-nip.xml"
    path.write_text(
        contractors_xml(
            record("K1"),
            "  <contractor>\n    <sourceRecordId>K2</sourceRecordId>\n    <name>X</name>\n    <nip>brak</nip>\n  </contractor>\n",
        )
    )
    result = load_file(conn, path)
    assert result.records_rejected == 1
    line, element_path, reason = query(conn, "select source_line, path, reason from raw.rejects")[0]
    assert line == 4  # the <contractor> start tag
    assert element_path.endswith("nip")
    assert reason.startswith("line 7: Element 'nip'") and "'brak'" in reason
    assert "bad-nip.xml:7:" in result.reasons[0]


@pytest.mark.parametrize(
    ("fixture", "line"),
    [("contractors-broken_at_line_7.xml", 7)],
)
def test_a_file_that_is_not_well_formed_leaves_nothing_but_a_failed_load(conn, fixture, line):
    result = load_file(conn, FIXTURES / fixture)

    assert result.status == "failed"
    loads = load_row(conn, result.load_id)
    assert loads["status"] == "failed"
    assert loads["error_line"] == line and loads["error_column"]
    assert "not well-formed" in loads["error_message"]
    assert (loads["records_read"], loads["records_loaded"], loads["records_rejected"]) == (0, 0, 0)
    assert set(raw_counts(conn).values()) == {0}
    assert scalar(conn, "select count(*) from raw.rejects") == 0
    assert f"line {line}" in result.summary()


@pytest.mark.parametrize(
    "fixture",
    ["contractors-xxe.xml", "contractors-billion_laughs.xml", "contractors-xxe_network.xml"],
)
def test_hostile_xml_is_refused_before_any_entity_is_read(conn, fixture):
    result = load_file(conn, FIXTURES / fixture)

    assert result.status == "failed"
    assert "DTD" in result.message
    assert set(raw_counts(conn).values()) == {0}
    assert "root:" not in str(query(conn, "select * from raw.loads"))  # /etc/passwd not echoed


def test_external_entities_are_never_fetched(conn, tmp_path):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(1.0)
    port = listener.getsockname()[1]
    connections: list = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            connections.append(listener.accept())

    watcher = threading.Thread(target=accept)
    watcher.start()
    path = tmp_path / "fetch.xml"
    path.write_text(
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE contractors [<!ENTITY remote SYSTEM "http://127.0.0.1:{port}/x">]>\n'
        f'<contractors xmlns="{NS}" sourceSystem="erp"><contractor><sourceRecordId>1</sourceRecordId>'
        "<name>&remote;</name></contractor></contractors>\n"
    )
    result = load_file(conn, path)
    watcher.join()
    listener.close()
    assert result.status == "failed"
    assert connections == []


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("contractors-unknown_namespace.xml", "urn:example:other is not a crm7 contract"),
        ("contractors-wrong_root.xml", "root element <companies> is not the root"),
    ],
)
def test_a_file_of_no_known_contract_is_a_failed_load(conn, fixture, message):
    result = load_file(conn, FIXTURES / fixture)
    assert result.status == "failed"
    assert message in result.message
    assert load_row(conn, result.load_id)["status"] == "failed"


def test_an_empty_file_is_a_load_of_zero_records(conn):
    result = load_file(conn, FIXTURES / "contractors-empty.xml")
    assert result.status == "loaded"
    assert (result.records_read, result.records_loaded, result.records_rejected) == (0, 0, 0)


def test_loading_the_same_content_again_does_nothing_unless_forced(conn, tmp_path):
    first = load_file(conn, FIXTURES / "contractors-3_valid.xml")
    copy = tmp_path / "renamed.xml"
    shutil.copy(FIXTURES / "contractors-3_valid.xml", copy)

    again = load_file(conn, copy)
    assert again.status == "skipped" and again.previous_load_id == first.load_id
    assert f"already loaded as load {first.load_id}" in again.summary()
    # The re-send is recorded: a row of its own, naming the load it duplicates, no records.
    skipped = load_row(conn, again.load_id)
    assert again.load_id > first.load_id
    assert skipped["status"] == "skipped"
    assert skipped["duplicate_of_load_id"] == first.load_id
    assert skipped["file_name"] == "renamed.xml" and skipped["contract"] == "contractors"
    assert (skipped["records_read"], skipped["records_loaded"], skipped["records_rejected"]) == (
        0,
        0,
        0,
    )
    assert skipped["finished_at"] is not None and skipped["finished_at"] >= skipped["started_at"]
    assert load_row(conn, first.load_id)["duplicate_of_load_id"] is None
    assert scalar(conn, "select count(*) from raw.loads") == 2
    assert scalar(conn, "select count(*) from raw.contractors") == 3

    # A second re-send names the load that brought the content, not the first skip.
    third = load_file(conn, FIXTURES / "contractors-3_valid.xml")
    assert third.status == "skipped"
    assert load_row(conn, third.load_id)["duplicate_of_load_id"] == first.load_id

    forced = load_file(conn, copy, force=True)
    assert forced.status == "loaded" and forced.load_id != first.load_id
    assert load_row(conn, forced.load_id)["forced"] is True
    assert scalar(conn, "select count(*) from raw.contractors") == 6
    assert load_row(conn, forced.load_id)["duplicate_of_load_id"] is None


def test_a_failed_load_does_not_count_as_loaded_content(conn, tmp_path):
    path = tmp_path / "later-fixed.xml"
    path.write_text(contractors_xml(record("K1"), source_system=None))
    failed = load_file(conn, path)
    assert failed.status == "failed" and "--source-system" in failed.message
    assert load_file(conn, path, source_system="erp").status == "loaded"


def test_source_system_from_file_command_line_or_neither(conn, tmp_path):
    path = FIXTURES / "contractors-no_source_system.xml"
    assert load_file(conn, path, source_system="Wapro_Mag").source_system == "wapro_mag"

    conflict = load_file(
        conn, FIXTURES / "contractors-3_valid.xml", source_system="crm", force=True
    )
    assert conflict.status == "failed"
    assert 'sourceSystem="erp"' in conflict.message and "'crm'" in conflict.message

    bad_name = load_file(conn, path, source_system="my system", force=True)
    assert bad_name.status == "failed" and "lowercase letters" in bad_name.message


def test_invalid_root_attribute_fails_the_file(conn, tmp_path):
    path = tmp_path / "bad-root.xml"
    path.write_text(contractors_xml(record("K1"), source_system="ERP SYSTEM"))
    result = load_file(conn, path)
    assert result.status == "failed"
    assert "root element" in result.message and "sourceSystem" in result.message


def test_missing_file_is_reported(conn, tmp_path):
    result = load_file(conn, tmp_path / "nope.xml")
    assert result.status == "failed" and "no such file" in result.message


def _snapshot(conn: psycopg.Connection, load_id: int) -> list:
    """Everything a load wrote, in a comparable form (the load id left out)."""
    tables = {
        "contractors": "_record_no, _source_line, _source_system, source_record_id, name, nip, regon, www",
        "contractor_addresses": "_record_no, _source_line, _position, type, street, postal_code, city",
        "contractor_phones": "_record_no, _source_line, _position, type, value",
        "contractor_emails": "_record_no, _source_line, _position, value",
    }
    snapshot = [
        query(conn, f"select {columns} from raw.{table} where _load_id = %s order by 1, 3", load_id)
        for table, columns in tables.items()
    ]
    snapshot.append(
        query(
            conn,
            "select record_no, source_line, path, reason from raw.rejects where load_id = %s order by 1",
            load_id,
        )
    )
    return snapshot


MODES = {
    "one pass": {"CRM7_LOAD_SEGMENT_LINES": str(10**9), "CRM7_LOAD_WORKERS": "1"},
    "segments": {"CRM7_LOAD_SEGMENT_LINES": "2000", "CRM7_LOAD_WORKERS": "1"},
    "parallel segments": {"CRM7_LOAD_SEGMENT_LINES": "2000", "CRM7_LOAD_WORKERS": "2"},
}


def _load_every_way(conn, path: Path, monkeypatch) -> dict:
    results = {}
    for mode, env in MODES.items():
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        results[mode] = load_file(conn, path, force=True)
    return results


def test_segments_and_workers_load_exactly_what_one_pass_loads(conn, tmp_path, monkeypatch):
    # 3800 records of 17 lines: under the 65,535 lines where one pass still has exact lines.
    path = write_file(tmp_path / "big.xml", 3800, "erp")
    text = path.read_text()
    # Invalid records in several segments.
    text = text.replace("<name>Firma 1000 ", "<name></name><name>Firma 1000 ", 1)
    text = text.replace("<name>Firma 3500 ", "<name></name><name>Firma 3500 ", 1)
    path.write_text(text)
    contract = read_header(path).contract
    assert len(plan_segments(path, contract, 2000)) > 10

    results = _load_every_way(conn, path, monkeypatch)
    for result in results.values():
        assert (result.records_read, result.records_loaded, result.records_rejected) == (
            3800,
            3798,
            2,
        )
    snapshots = [_snapshot(conn, result.load_id) for result in results.values()]
    assert snapshots[0] == snapshots[1] == snapshots[2]
    lines = path.read_text().splitlines()
    for table, tag in (("contractors", "<contractor>"), ("contractor_emails", "<email>")):
        rows = query(
            conn,
            f"select _source_line from raw.{table} where _load_id = %s",
            results["parallel segments"].load_id,
        )
        assert len(rows) > 3700
        assert all(lines[line - 1].strip().startswith(tag) for (line,) in rows)


def test_a_cut_fooled_by_a_comment_is_skipped(conn, tmp_path, monkeypatch):
    path = write_file(tmp_path / "comment.xml", 3000, "erp")
    text = path.read_text()
    # Record start tags inside a comment and a CDATA section, throughout the file.
    text = text.replace("<shortName>F", "<!-- <contractor> --><shortName><![CDATA[<contractor>]]>F")
    path.write_text(text)
    results = _load_every_way(conn, path, monkeypatch)
    for result in results.values():
        assert (result.records_read, result.records_loaded) == (3000, 3000)
    snapshots = [_snapshot(conn, result.load_id) for result in results.values()]
    assert snapshots[0] == snapshots[1] == snapshots[2]


def test_a_segment_that_does_not_hold_what_was_counted_falls_back_to_one_pass(
    conn, tmp_path, monkeypatch
):
    path = write_file(tmp_path / "nested.xml", 3000, "erp")
    text = path.read_text()
    # A record tag nested in a record: counted by the byte search, not a record itself.
    text = text.replace("<www>www.firma2500.pl</www>", "<www>www.firma2500.pl</www><contractor/>")
    path.write_text(text)
    results = _load_every_way(conn, path, monkeypatch)
    for result in results.values():
        assert (result.records_read, result.records_loaded, result.records_rejected) == (
            3000,
            2999,
            1,
        )
    snapshots = [_snapshot(conn, result.load_id) for result in results.values()]
    assert snapshots[0] == snapshots[1] == snapshots[2]


def test_a_syntax_error_late_in_a_big_file_names_the_real_line(conn, tmp_path, monkeypatch):
    path = write_file(tmp_path / "late-error.xml", 3000, "erp")
    lines = path.read_text().splitlines(keepends=True)
    broken = max(number for number, line in enumerate(lines) if "</name>" in line)
    lines[broken] = lines[broken].replace("</name>", "</nazwa>")
    path.write_text("".join(lines))
    for result in _load_every_way(conn, path, monkeypatch).values():
        assert result.status == "failed"
        assert f"line {broken + 1}," in result.message
    assert scalar(conn, "select count(*) from raw.contractors") == 0


@pytest.mark.slow
def test_line_numbers_stay_exact_past_line_65535(conn, tmp_path, monkeypatch):
    path = write_file(tmp_path / "long.xml", 5000, "erp")  # 17 lines a record: 85,000 lines
    monkeypatch.delenv("CRM7_LOAD_SEGMENT_LINES", raising=False)
    result = load_file(conn, path)
    lines = path.read_text().splitlines()
    rows = query(
        conn, "select _source_line from raw.contractors where _load_id = %s", result.load_id
    )
    assert max(line for (line,) in rows) > 80_000
    assert all(lines[line - 1].strip() == "<contractor>" for (line,) in rows)


def test_every_load_reconciles(conn):
    for name in (
        "contractors-3_valid.xml",
        "contractors-2_rejects.xml",
        "contractors-broken_at_line_7.xml",
    ):
        load_file(conn, FIXTURES / name)
    mismatches = query(
        conn,
        "select l.load_id from raw.loads l "
        "left join (select _load_id, count(*) n from raw.contractors group by 1) c on c._load_id = l.load_id "
        "left join (select load_id, count(*) n from raw.rejects group by 1) r on r.load_id = l.load_id "
        "where l.records_read <> l.records_loaded + l.records_rejected "
        "or coalesce(c.n, 0) <> l.records_loaded or coalesce(r.n, 0) <> l.records_rejected",
    )
    assert mismatches == []


def test_fixture_paths_exist():
    # Guards against a renamed fixture silently skipping a case above.
    for name in (
        "contractors-3_valid.xml",
        "contractors-2_rejects.xml",
        "contractors-broken_at_line_7.xml",
        "contractors-xxe.xml",
        "contractors-billion_laughs.xml",
    ):
        assert Path(FIXTURES / name).is_file(), name


def test_concurrent_loads_do_not_corrupt_each_other(database, tmp_path):
    from conftest import environment_for

    first = write_file(tmp_path / "a.xml", 3000, "erp")
    second = write_file(tmp_path / "b.xml", 2000, "crm", start=5001)
    env = environment_for(database)
    crm7 = [str(Path(sys.executable).with_name("crm7")), "load", "--no-progress"]
    runs = [
        subprocess.Popen(
            [*crm7, str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for path in (first, second, first)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs

    with psycopg.connect(database.conninfo()) as conn:
        loads = query(
            conn,
            "select file_name, records_loaded from raw.loads where status = 'loaded' order by 1",
        )
        assert loads == [("a.xml", 3000), ("b.xml", 2000)], (
            "the same file loaded twice at once lands once"
        )
        assert scalar(conn, "select count(*) from raw.contractors") == 5000
        per_load = query(
            conn, "select _source_system, count(*) from raw.contractors group by 1 order by 1"
        )
        assert per_load == [("crm", 2000), ("erp", 3000)]
    skipped = [out for out, _err in outputs if "skipped, already loaded" in out]
    assert len(skipped) == 1


def test_a_load_in_flight_shows_as_running_and_nothing_of_it_before_it_ends(
    database, conn, tmp_path, monkeypatch
):
    from conftest import paused_load

    slow = tmp_path / "slow.xml"
    slow.write_text(contractors_xml(record("K1"), record("K2")), encoding="utf-8")
    with paused_load(database, slow, monkeypatch) as outcome:
        # Committed before any data, so dbt sees it and holds back every newer load.
        assert query(conn, "select file_name, status from raw.loads") == [("slow.xml", "running")]
        assert load_file(conn, FIXTURES / "contractors-3_valid.xml").status == "loaded"
        assert raw_counts(conn)["contractors"] == 3, "the paused load's rows are not visible yet"
    assert outcome["result"].status == "loaded"
    assert query(conn, "select file_name, status from raw.loads order by load_id") == [
        ("slow.xml", "loaded"),
        ("contractors-3_valid.xml", "loaded"),
    ]
    assert raw_counts(conn)["contractors"] == 5


def test_a_load_whose_process_died_is_marked_failed_by_the_next_load(conn):
    load_file(conn, FIXTURES / "contractors-empty.xml")  # creates the registry
    # What a killed loader leaves behind: its committed 'running' row, held by no session.
    dead_id = scalar(
        conn,
        "insert into raw.loads (file_name, file_path, file_sha256, file_size_bytes, status, "
        "started_at) values ('killed.xml', '/x/killed.xml', 'x', 1, 'running', now()) "
        "returning load_id",
    )
    conn.commit()

    assert load_file(conn, FIXTURES / "contractors-3_valid.xml").status == "loaded"

    dead = load_row(conn, dead_id)
    assert dead["status"] == "failed"
    assert "ended before finishing" in dead["error_message"]
    assert dead["finished_at"] is not None


def test_a_failed_load_keeps_its_one_registry_row(conn):
    result = load_file(conn, FIXTURES / "contractors-broken_at_line_7.xml")
    assert result.status == "failed"
    assert query(conn, "select load_id, status from raw.loads") == [(result.load_id, "failed")]


@pytest.mark.parametrize("encoding", ["windows-1250", "ISO-8859-2", "UTF-8"])
def test_exports_in_polish_legacy_encodings_load_as_text(conn, tmp_path, monkeypatch, encoding):
    name = (
        "Zakład Usług Różnych „Łódź” Sp. z o.o."
        if encoding != "ISO-8859-2"
        else "Zakład Usług Różnych Łódź"
    )
    records = "".join(record(f"K{number}", name=name) for number in range(1, 3001))
    text = contractors_xml(records).replace('encoding="UTF-8"', f'encoding="{encoding}"')
    path = tmp_path / "legacy.xml"
    path.write_bytes(text.encode(encoding))
    monkeypatch.setenv("CRM7_LOAD_SEGMENT_LINES", "100")  # cut the file into many segments
    result = load_file(conn, path)
    assert result.status == "loaded", result.message
    assert query(conn, "select distinct name from raw.contractors") == [(name,)]
    assert scalar(conn, "select count(*) from raw.contractors") == 3000


def test_a_date_postgresql_cannot_store_is_a_reject_not_a_failed_file(conn, tmp_path):
    far = "<sourceUpdatedAt>300000-01-01T00:00:00Z</sourceUpdatedAt>"
    before = "<sourceUpdatedAt>-5000-01-01T00:00:00Z</sourceUpdatedAt>"
    path = tmp_path / "far-dates.xml"
    path.write_text(
        contractors_xml(
            record("K1"),
            f"  <contractor>\n    <sourceRecordId>K2</sourceRecordId>\n    {far}\n"
            "    <name>X</name>\n  </contractor>\n",
            f"  <contractor><sourceRecordId>K3</sourceRecordId>{before}<name>Y</name></contractor>\n",
        )
    )
    result = load_file(conn, path)
    assert (result.status, result.records_loaded, result.records_rejected) == ("loaded", 1, 2)
    rejects = query(conn, "select source_line, path, reason from raw.rejects order by record_no")
    assert rejects[0] == (
        4,
        "contractor/sourceUpdatedAt",
        "line 6: Element 'sourceUpdatedAt': '300000-01-01T00:00:00Z': "
        "year 300000 is outside 0001 to 9999, the years crm7 stores.",
    )
    assert rejects[1][0] == 9 and "year -5000 is outside" in rejects[1][2]

    from loaders.load.validate import validate_file

    report = validate_file(path)
    assert (report.records, report.invalid) == (3, 2)
    assert report.problems[0].startswith("far-dates.xml:6: contractor/sourceUpdatedAt: Element")


def test_a_huge_invalid_value_is_echoed_shortened_with_its_length(conn, tmp_path):
    path = tmp_path / "huge.xml"
    path.write_text(contractors_xml(record("K1", nip="9" * 100_000)))
    result = load_file(conn, path)
    assert result.records_rejected == 1
    reason = scalar(conn, "select reason from raw.rejects")
    assert len(reason) < 500
    # libxml2 itself cuts the message at 64 KB: the length shown is then a lower bound.
    assert "'" + "9" * 80 + "...' (over 6" in reason
    assert len(result.summary()) < 1000
