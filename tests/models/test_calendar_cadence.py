"""Calendar: the same loads give the same CRM whether built per load, once, or refreshed.

The current version of an event is defined on all its versions in raw: the highest
(SEQUENCE, sourceUpdatedAt) wins, the latest of those carrying it gives the content, and
an unchanged repeat is no new version (the event keeps the load, record and line of the
first record of the last unbroken run of its content). Several versions of one event in
one window, an identical repeat, a stale copy, content that changes and changes back at
the same SEQUENCE, a deletion, and a company loaded after its events: built after every
batch, once at the end, and per batch then with --full-refresh, the calendar tables and
the review queue hold the same rows.
"""

from __future__ import annotations

import json

from cadence_replay import assert_same_crm, replay_at_three_cadences
from test_calendar_integration import calendar_file, contractors_file, event

CALENDAR_RELATIONS = (
    "calendar_events",
    "calendar_attendees",
    "calendar_occurrences",
    "calendar_review",
)
START = "<start>2026-11-24T10:00:00+01:00</start><end>2026-11-24T11:00:00+01:00</end>"
COMPANY = "<company><sourceSystem>erp</sourceSystem><sourceRecordId>KH/7</sourceRecordId></company>"


def version(uid: str, title: str, sequence: int, extra: str = "", head: str = "") -> str:
    return event(
        uid,
        title,
        START + extra + f"<attendee><email>{uid}@example.pl</email></attendee>",
        head=f"<sequence>{sequence}</sequence>{head}",
    )


def test_versions_repeats_and_stale_copies_of_events_are_the_same_at_every_cadence(
    pg_server, tmp_path
):
    batches = [
        [
            calendar_file(
                tmp_path / "1.xml",
                "crm",
                version("a", "A", 0),
                version("a", "A moved", 1),  # two versions in one load
                version("b", "B", 0),
                version("c", "Visit", 0, COMPANY),  # a company not loaded yet
                version("d", "D", 3),
            )
        ],
        [
            calendar_file(
                tmp_path / "2.xml",
                "crm",
                version("a", "A moved", 1),  # an unchanged repeat
                version("b", "B changed", 0),  # same SEQUENCE, other content
                version("d", "D stale", 2),  # a stale copy
            )
        ],
        [
            calendar_file(
                tmp_path / "3.xml",
                "crm",
                version("b", "B", 0),  # back to the first content
                version("a", "A moved", 1),  # the repeat again
                version("d", "D", 3, head="<deleted>true</deleted>"),
            ),
            contractors_file(tmp_path / "erp.xml", "erp", ("KH/7", "Omega", "5261040828")),
        ],
    ]
    dumps = replay_at_three_cadences(pg_server, tmp_path / "target", batches, CALENDAR_RELATIONS)
    assert_same_crm(dumps)
    events = {
        row["uid"]: (row["title"], row["last_load_id"], row["first_load_id"], row["is_deleted"])
        for row in map(json.loads, dumps["once"]["calendar_events"])
    }
    assert events == {
        "a": ("A moved", 1, 1, False),  # its repeats in loads 2 and 3 are no new version
        "b": ("B", 3, 1, False),  # changed and changed back: the version of load 3
        "c": ("Visit", 1, 1, False),
        "d": ("D", 3, 1, True),  # the stale copy of load 2 lost, the deletion won
    }
    assert [json.loads(row)["company_id"] is not None for row in events_of(dumps, "c")] == [True]


def events_of(dumps: dict, uid: str) -> list[str]:
    return [row for row in dumps["once"]["calendar_events"] if json.loads(row)["uid"] == uid]
