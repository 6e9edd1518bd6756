"""How a contract's XSD maps onto raw tables."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from conftest import query

from loaders.contracts import all_contracts, read_contract
from loaders.load import load_file

UNION_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:c7="urn:crm7:contract-annotations"
           xmlns="urn:crm7:contract:moments:v1" targetNamespace="urn:crm7:contract:moments:v1"
           elementFormDefault="qualified">
  <xs:element name="moments">
    <xs:complexType><xs:sequence>
      <xs:element ref="moment" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="moment">
    <xs:annotation><xs:appinfo><c7:table name="moments"/></xs:appinfo></xs:annotation>
    <xs:complexType><xs:sequence>
      <xs:element name="at"><xs:simpleType><xs:union memberTypes="xs:dateTime xs:date"/></xs:simpleType></xs:element>
      <xs:element name="day" type="xs:date"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""


def test_a_union_type_becomes_a_text_column_and_a_single_primitive_a_typed_one(tmp_path: Path):
    xsd = tmp_path / "moments.xsd"
    xsd.write_text(UNION_XSD, encoding="utf-8")
    [table] = read_contract(xsd).tables
    assert [(column.name, column.pg_type) for column in table.columns] == [
        ("at", "text"),
        ("day", "date"),
    ]


def test_calendar_times_land_as_written_so_the_offset_is_still_known(conn, tmp_path: Path):
    contract = all_contracts()["urn:crm7:contract:calendar_events:v1"]
    columns = {column.name: column.pg_type for column in contract.records[0].columns}
    assert (columns["start"], columns["end"], columns["start_date"]) == ("text", "text", "date")

    path = tmp_path / "calendar.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<calendarEvents xmlns="urn:crm7:contract:calendar_events:v1" sourceSystem="crm">\n'
        "<event><uid>u1</uid><title>T</title><start>2026-03-29T02:30:00+01:00</start>"
        "<end>2026-03-29T04:00:00</end></event>\n"
        "</calendarEvents>\n",
        encoding="utf-8",
    )
    assert load_file(conn, path).status == "loaded"
    assert query(conn, 'select start, "end" from raw.calendar_events') == [
        ("2026-03-29T02:30:00+01:00", "2026-03-29T04:00:00")
    ]


def test_a_layout_cache_written_by_another_crm7_version_is_read_again(tmp_path, monkeypatch):
    """A cache whose classes no longer import (written by an older or newer checkout,
    e.g. after `git checkout` across a reorganisation) is ignored and rewritten."""
    import pickle

    from loaders.contracts.model import _cached_project_contracts

    ours = _cached_project_contracts.__globals__["contracts_dir"]()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _cached_project_contracts(ours)
    (cache_file,) = (tmp_path / "crm7").glob("contracts-*.pickle")
    # A class of a module that does not exist here (same length: the pickle stays whole).
    foreign = pickle.dumps(("key", PurePosixPath("x"))).replace(b"pathlib", b"gonemod")
    cache_file.write_bytes(foreign)
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(foreign)

    contracts = _cached_project_contracts(ours)

    assert "urn:crm7:contract:contractors:v1" in contracts
    assert pickle.loads(cache_file.read_bytes())[1].keys() == contracts.keys()
