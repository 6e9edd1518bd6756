"""Calendar events end to end: loads, then dbt build, then what the CRM holds.

Each test gets a fresh database on the embedded server and runs the real dbt project
in-process against it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from conftest import EXAMPLES, query, scalar

from loaders.load import load_file

NS = "urn:crm7:contract:calendar_events:v1"
CONTRACTORS_NS = "urn:crm7:contract:contractors:v1"


def calendar_file(path: Path, source_system: str, *events: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<calendarEvents xmlns="{NS}" sourceSystem="{source_system}">\n'
        + "".join(events)
        + "</calendarEvents>\n",
        encoding="utf-8",
    )
    return path


def event(uid: str, title: str, body: str, head: str = "") -> str:
    """One <event>; head goes before <title> (sequence, deleted, kind, status)."""
    return f"  <event><uid>{uid}</uid>{head}<title>{title}</title>{body}</event>\n"


def contractors_file(path: Path, source_system: str, *records: tuple[str, str, str]) -> Path:
    body = "".join(
        f"<contractor><sourceRecordId>{record_id}</sourceRecordId><name>{name}</name>"
        f"<nip>{nip}</nip></contractor>\n"
        for record_id, name, nip in records
    )
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<contractors xmlns="{CONTRACTORS_NS}" sourceSystem="{source_system}">\n'
        f"{body}</contractors>\n",
        encoding="utf-8",
    )
    return path


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def review(conn) -> list[tuple]:
    return sorted(query(conn, "select uid, reason from crm.calendar_review"))


def test_demo_calendar_every_record_is_an_event_a_reject_or_superseded(conn, crm):
    for name in ("crm_contractors.xml", "erp_contractors.xml", "calendar_events.xml"):
        load_file(conn, EXAMPLES / name)
    assert crm()

    rejects = query(
        conn,
        "select record_no, source_line from raw.rejects where file_name = 'calendar_events.xml'"
        " order by record_no",
    )
    assert rejects == [(9, 86), (10, 93), (11, 98)]
    # 12 records: 3 rejected, 9 loaded = 8 events + 1 earlier version of crm-ev-0001.
    assert scalar(conn, "select count(*) from raw.calendar_events") == 9
    assert scalar(conn, "select count(*) from crm.calendar_events") == 8
    assert query(
        conn,
        "select records_read, records_rejected, records_current, records_superseded,"
        " records_deleted, records_not_yet_built, records_in_review from crm.load_reconciliation"
        " where contract = 'calendar_events'",
    ) == [(12, 3, 8, 1, 0, 0, 3)]
    assert scalar(conn, "select count(company_id) from crm.calendar_events") == 7
    unaccounted = scalar(
        conn,
        """
        select count(*) from raw.calendar_events as raw_events
        where not exists (
            select 1 from crm.calendar_events as events
            where events.source_system = raw_events._source_system and events.uid = raw_events.uid
        )
        """,
    )
    assert unaccounted == 0
    assert query(
        conn,
        "select uid, reason, file_name, source_line from crm.calendar_review order by uid",
    ) == [
        ("crm-ev-0005@example.pl", "nonexistent_local_time", "calendar_events.xml", 51),
        ("crm-ev-0006@example.pl", "unknown_company", "calendar_events.xml", 60),
        ("crm-ev-0007@example.pl", "end_before_start", "calendar_events.xml", 68),
    ]
    companies = dict(
        query(
            conn,
            "select events.uid, companies.nip from crm.calendar_events as events"
            " left join crm.companies as companies using (company_id)",
        )
    )
    assert companies == {
        "crm-ev-0001@example.pl": "3110386752",  # contractor id C-1001 (crm)
        "crm-ev-0002@example.pl": "3000633221",  # NIP 'PL 300-063-32-21'
        "crm-ev-0003@example.pl": "6731555218",  # ERP contractor id KH/00102
        "crm-ev-0004@example.pl": "3110386752",
        "crm-ev-0005@example.pl": "8146335585",
        "crm-ev-0006@example.pl": None,  # C-9999: unknown, in review
        "crm-ev-0007@example.pl": "7035060481",
        "crm-ev-0008@example.pl": "3000633221",
    }
    # The re-sent version (SEQUENCE 1, record 12) replaced record 1, attendees included.
    assert query(
        conn,
        "select attendees.attendee_email, attendees.attendee_role, attendees.attendee_response"
        " from crm.calendar_attendees as attendees"
        " inner join crm.calendar_events as events using (event_id)"
        " where events.uid = 'crm-ev-0001@example.pl' order by attendees.attendee_position",
    ) == [
        ("anna.nowak@example.pl", "chair", "accepted"),
        ("jan.kowalski@example.pl", "required", "accepted"),
        ("piotr.wisniewski@example.pl", "optional", "needs-action"),
    ]
    assert query(
        conn, "select is_cancelled from crm.calendar_events where uid = 'crm-ev-0008@example.pl'"
    ) == [(True,)]


def test_times_across_daylight_saving_changes(conn, crm, tmp_path):
    load_file(
        conn,
        calendar_file(
            tmp_path / "dst.xml",
            "crm",
            event(
                "spring-gap",
                "02:30 on the spring-forward Sunday",
                "<timeZone>Europe/Warsaw</timeZone><start>2026-03-29T02:30:00</start>"
                "<end>2026-03-29T04:00:00</end>",
            ),
            event(
                "weekly",
                "Weekly across the October change",
                "<timeZone>Europe/Warsaw</timeZone><start>2026-10-20T10:00:00</start>"
                "<end>2026-10-20T10:30:00</end>"
                "<recurrenceRule>FREQ=WEEKLY;BYDAY=TU;COUNT=4</recurrenceRule>",
            ),
            event("all-day", "The 25-hour day", "<startDate>2026-10-25</startDate>"),
            event(
                "autumn-overlap",
                "02:30 on the fall-back Sunday",
                "<start>2026-10-25T02:30:00</start>",
            ),
            event(
                "new-york",
                "Local time in another zone",
                "<timeZone>America/New_York</timeZone><start>2026-03-08T02:30:00</start>",
            ),
        ),
    )
    assert crm()

    rows = {
        row[0]: row[1:]
        for row in query(
            conn,
            "select uid, start_at, end_at, start_local::text, time_zone, is_all_day,"
            " start_date, end_date, recurrence_rule from crm.calendar_events",
        )
    }
    # 02:30 does not exist in Warsaw on 2026-03-29: read as 02:30 CET = 03:30 CEST.
    assert rows["spring-gap"][:4] == (
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 29, 2, 0),
        "2026-03-29 03:30:00",
        "Europe/Warsaw",
    )
    assert rows["weekly"][0] == utc(2026, 10, 20, 8, 0)
    assert rows["weekly"][2:4] == ("2026-10-20 10:00:00", "Europe/Warsaw")
    assert rows["weekly"][-1] == "FREQ=WEEKLY;BYDAY=TU;COUNT=4"
    # The all-day event on the fall-back day: midnight to midnight in Warsaw, 25 hours.
    assert rows["all-day"][:2] == (utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0))
    assert rows["all-day"][4:7] == (True, date(2026, 10, 25), date(2026, 10, 26))
    # 02:30 occurs twice in Warsaw on 2026-10-25: the first occurrence (CEST).
    assert rows["autumn-overlap"][0] == utc(2026, 10, 25, 0, 30)
    assert rows["new-york"][:1] == (utc(2026, 3, 8, 7, 30),)  # 02:30 EST = 03:30 EDT

    # Occurrences keep their wall-clock time in the event's zone: the weekly meeting is
    # at 10:00 in Warsaw on every date, 08:00 UTC before the change and 09:00 UTC after.
    occurrences = query(
        conn,
        "select occurrences.occurrence_number, occurrences.start_at,"
        " occurrences.start_local::text, occurrences.end_at"
        " from crm.calendar_occurrences as occurrences"
        " inner join crm.calendar_events as events using (event_id)"
        " where events.uid = 'weekly' order by occurrences.occurrence_number",
    )
    assert occurrences == [
        (1, utc(2026, 10, 20, 8, 0), "2026-10-20 10:00:00", utc(2026, 10, 20, 8, 30)),
        (2, utc(2026, 10, 27, 9, 0), "2026-10-27 10:00:00", utc(2026, 10, 27, 9, 30)),
        (3, utc(2026, 11, 3, 9, 0), "2026-11-03 10:00:00", utc(2026, 11, 3, 9, 30)),
        (4, utc(2026, 11, 10, 9, 0), "2026-11-10 10:00:00", utc(2026, 11, 10, 9, 30)),
    ]
    # A single event is its own (only) occurrence.
    assert query(
        conn,
        "select count(*), min(occurrences.start_at), min(occurrences.end_at)"
        " from crm.calendar_occurrences as occurrences"
        " inner join crm.calendar_events as events using (event_id) where events.uid = 'all-day'",
    ) == [(1, utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0))]

    assert review(conn) == [
        ("autumn-overlap", "ambiguous_local_time"),
        ("new-york", "nonexistent_local_time"),
        ("spring-gap", "nonexistent_local_time"),
    ]


def test_a_resent_event_replaces_the_previous_version_attendees_included(conn, crm, tmp_path):
    start = "<start>2026-11-24T10:00:00+01:00</start><end>2026-11-24T11:00:00+01:00</end>"
    first = event(
        "ev-1",
        "Planning",
        start + "<attendee><email>a@example.pl</email></attendee>"
        "<attendee><email>b@example.pl</email></attendee>",
        head="<sequence>0</sequence>",
    )
    load_file(conn, calendar_file(tmp_path / "v1.xml", "crm", first))
    assert crm()
    conn.commit()

    resent = event(
        "ev-1",
        "Planning (moved)",
        start.replace("10:00", "12:00").replace("11:00", "13:00")
        + '<attendee response="accepted"><email>C@example.pl</email></attendee>',
        head="<sequence>1</sequence>",
    )
    load_file(conn, calendar_file(tmp_path / "v2.xml", "crm", resent))
    assert crm()
    assert query(conn, "select title, start_at, event_sequence from crm.calendar_events") == [
        ("Planning (moved)", utc(2026, 11, 24, 11, 0), 1)
    ]
    assert query(conn, "select attendee_email, attendee_response from crm.calendar_attendees") == [
        ("c@example.pl", "accepted")
    ]
    conn.commit()

    # A stale copy (lower SEQUENCE) loaded later does not win; a deletion does.
    stale = event("ev-1", "Planning (stale)", start, head="<sequence>0</sequence>")
    load_file(conn, calendar_file(tmp_path / "v3.xml", "crm", stale))
    assert crm()
    assert query(conn, "select title from crm.calendar_events") == [("Planning (moved)",)]
    assert review(conn) == [("ev-1", "stale_version_ignored")]
    conn.commit()

    deleted = event(
        "ev-1", "Planning (moved)", start, head="<sequence>2</sequence><deleted>true</deleted>"
    )
    load_file(conn, calendar_file(tmp_path / "v4.xml", "crm", deleted))
    assert crm()
    assert query(conn, "select is_deleted, attendee_count from crm.calendar_events") == [(True, 0)]
    assert review(conn) == [], "the deletion is the newest version: nothing stale any more"


def test_an_unknown_company_goes_to_review_and_resolves_once_it_is_loaded(conn, crm, tmp_path):
    body = (
        "<start>2026-12-01T13:00:00+01:00</start>"
        "<company><sourceSystem>erp</sourceSystem><sourceRecordId>KH/7</sourceRecordId></company>"
    )
    load_file(conn, calendar_file(tmp_path / "cal.xml", "crm", event("ev-9", "Visit", body)))
    assert crm()
    assert query(conn, "select company_id, is_in_review from crm.calendar_events") == [(None, True)]
    assert query(conn, "select uid, reason, file_name, source_line from crm.calendar_review") == [
        ("ev-9", "unknown_company", "cal.xml", 3)
    ]
    conn.commit()

    load_file(conn, contractors_file(tmp_path / "erp.xml", "erp", ("KH/7", "Omega", "5261040828")))
    assert crm()
    assert query(
        conn,
        "select companies.nip, events.company_matched_by from crm.calendar_events as events"
        " inner join crm.companies as companies using (company_id)",
    ) == [("5261040828", "contractor_id")]
    assert review(conn) == []


def test_events_ending_before_they_start_are_kept_and_named_in_audit(conn, crm, tmp_path):
    load_file(
        conn,
        calendar_file(
            tmp_path / "bad.xml",
            "crm",
            event(
                "backwards",
                "Ends before it starts",
                "<start>2026-12-02T15:00:00+01:00</start><end>2026-12-02T14:00:00+01:00</end>",
            ),
            event(
                "inclusive-end",
                "All-day with an inclusive end date",
                "<startDate>2026-05-01</startDate><endDate>2026-05-01</endDate>",
            ),
            event(
                "fine",
                "Zero-length call",
                "<start>2026-12-02T15:00:00+01:00</start><end>2026-12-02T15:00:00+01:00</end>",
            ),
        ),
    )
    assert crm(), "the check warns; the build goes on"
    assert scalar(conn, "select count(*) from crm.calendar_events") == 3
    assert sorted(
        query(conn, "select uid from audit.calendar_events_ending_before_they_start")
    ) == [("backwards",), ("inclusive-end",)]
    assert review(conn) == [
        ("backwards", "end_before_start"),
        ("inclusive-end", "end_before_start"),
    ]


def test_a_build_without_new_events_rewrites_no_deduplicated_event(conn, crm, tmp_path):
    body = "<start>2026-12-01T13:00:00+01:00</start>"
    load_file(
        conn,
        calendar_file(
            tmp_path / "a.xml", "crm", event("e1", "One", body), event("e2", "Two", body)
        ),
    )
    assert crm()
    versions = "select event_key, xmin::text from intermediate.int_calendar_events_deduplicated"
    before = dict(query(conn, versions))
    conn.commit()

    # The same events again (one changed) in a new file: only the changed one is rewritten.
    load_file(
        conn,
        calendar_file(
            tmp_path / "b.xml", "crm", event("e1", "One", body), event("e2", "Two moved", body)
        ),
    )
    assert crm()
    after = dict(query(conn, versions))
    rewritten = {key for key in after if after[key] != before[key]}
    assert len(before) == 2
    assert rewritten == set(
        query(conn, "select event_id from crm.calendar_events where uid = 'e2'")[0]
    )
    assert review(conn) == [], "an unchanged repeat is no stale version"
