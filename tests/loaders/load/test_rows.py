"""Rows of raw tables: xsi:nil (contract 1.1) as _nil_fields / _is_nil, derived phone columns."""

from __future__ import annotations

import psycopg
from conftest import FIXTURES, query, scalar

from loaders.load import load_file
from loaders.load.validate import validate_file

NS = "urn:crm7:contract:contractors:v1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def contractors_xml(*records: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<contractors xmlns="{NS}" xmlns:xsi="{XSI}" sourceSystem="erp">\n'
        + "".join(records)
        + "</contractors>\n"
    )


def contractor(record_id: str, body: str = "") -> str:
    return (
        f"  <contractor><sourceRecordId>{record_id}</sourceRecordId>"
        f"<name>ACME</name>{body}</contractor>\n"
    )


def rows(conn: psycopg.Connection, statement: str) -> list[dict]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(statement).fetchall()


def test_a_nil_element_is_null_and_named_in_nil_fields_a_left_out_one_is_not(conn, tmp_path):
    path = tmp_path / "nil.xml"
    path.write_text(
        contractors_xml(
            contractor("K1", '<nip xsi:nil="true"/><fax xsi:nil="true"/><www>acme.pl</www>'),
            contractor("K2", "<www>acme.pl</www>"),  # nip and fax left out: no news
            contractor("K3", '<regon xsi:nil="1"/>'),  # xsi:nil="1" is true as well
        )
    )
    result = load_file(conn, path)
    assert (result.status, result.records_loaded, result.records_rejected) == ("loaded", 3, 0)

    found = rows(
        conn,
        "select source_record_id, nip, fax, fax_e164, www, _nil_fields, _is_nil "
        "from raw.contractors order by _record_no",
    )
    assert found[0] == {
        "source_record_id": "K1",
        "nip": None,
        "fax": None,
        "fax_e164": None,
        "www": "acme.pl",
        "_nil_fields": ["nip", "fax"],
        "_is_nil": False,
    }
    assert (found[1]["nip"], found[1]["fax"], found[1]["_nil_fields"]) == (None, None, [])
    assert found[2]["_nil_fields"] == ["regon"]
    assert {row["_is_nil"] for row in found} == {False}  # never true on a record table


def test_a_nil_child_element_is_a_row_with_is_nil_and_only_its_attributes(conn, tmp_path):
    path = tmp_path / "nil-children.xml"
    path.write_text(
        contractors_xml(
            contractor(
                "K1",
                '<address type="registered"><street xsi:nil="true"/><city>Łódź</city></address>'
                '<address type="correspondence" xsi:nil="true"/>'
                '<phone type="mobile" xsi:nil="true"/>'
                '<email xsi:nil="true"/>',
            )
        )
    )
    assert load_file(conn, path).status == "loaded"

    addresses = rows(
        conn,
        "select type, street, city, _position, _nil_fields, _is_nil "
        "from raw.contractor_addresses order by _position",
    )
    assert addresses == [
        {
            "type": "registered",
            "street": None,
            "city": "Łódź",
            "_position": 1,
            "_nil_fields": ["street"],
            "_is_nil": False,
        },
        {
            "type": "correspondence",
            "street": None,
            "city": None,
            "_position": 2,
            "_nil_fields": [],
            "_is_nil": True,
        },
    ]
    phones = rows(conn, "select type, value, value_e164, _is_nil from raw.contractor_phones")
    assert phones == [{"type": "mobile", "value": None, "value_e164": None, "_is_nil": True}]
    emails = rows(conn, "select value, _is_nil, _nil_fields from raw.contractor_emails")
    assert emails == [{"value": None, "_is_nil": True, "_nil_fields": []}]


def test_a_nil_element_with_content_is_rejected_naming_file_line_and_field(conn, tmp_path):
    path = tmp_path / "nil-with-content.xml"
    path.write_text(
        contractors_xml(
            contractor("K1"),
            contractor("K2", '<fax xsi:nil="true">22 654 32 10</fax>'),
            contractor("K3", '<address type="registered" xsi:nil="true"><city>X</city></address>'),
            contractor("K4", '<address xsi:nil="true"/>'),  # its required type still required
        )
    )
    result = load_file(conn, path)
    assert (result.records_loaded, result.records_rejected) == (1, 3)
    rejects = query(conn, "select record_no, source_line, path, reason from raw.rejects order by 1")
    assert [(number, line) for number, line, _path, _reason in rejects] == [(2, 4), (3, 5), (4, 6)]
    assert [element_path for _n, _l, element_path, _r in rejects] == [
        "contractor/fax",
        "contractor/address",
        "contractor/address",
    ]
    assert "nilled" in rejects[0][3] and "nilled" in rejects[1][3]
    assert "'type' is required" in rejects[2][3]
    assert scalar(conn, "select count(*) from raw.contractor_addresses") == 0

    # crm7 validate says the same, one line per problem: file:line: element path: message.
    report = validate_file(path)
    assert report.invalid == 3
    assert report.problems[0].startswith("nil-with-content.xml:4: contractor/fax: ")


def test_files_of_contract_version_1_0_still_load_with_empty_nil_lineage(conn):
    result = load_file(conn, FIXTURES / "contractors-3_valid.xml")
    assert result.status == "loaded" and result.records_loaded == 3
    for table in ("contractors", "contractor_addresses", "contractor_phones", "contractor_emails"):
        assert query(conn, f"select distinct _nil_fields, _is_nil from raw.{table}") in (
            [([], False)],
            [],
        )
    assert scalar(conn, "select count(*) from raw.contractor_phones") > 0


def test_phone_columns_get_e164_and_extension_beside_them(conn, tmp_path):
    path = tmp_path / "phones.xml"
    path.write_text(
        contractors_xml(
            contractor(
                "K1",
                "<phone>+48 22 654 32 10</phone>"
                "<phone>226543210 ext 15</phone>"
                "<phone>(42) 633-12-00 wew. 7</phone>"
                "<phone>0048 601 234 567</phone>"
                "<phone>123</phone>"
                "<fax>22 654-32-11 w. 3</fax>",
            ),
            contractor("K2", "<fax>+49 30 1234567</fax>"),
        )
    )
    assert load_file(conn, path).status == "loaded"
    phones = query(
        conn,
        "select value, value_e164, value_extension from raw.contractor_phones order by _position",
    )
    assert phones == [
        ("+48 22 654 32 10", "+48226543210", None),
        ("226543210 ext 15", "+48226543210", "15"),
        ("(42) 633-12-00 wew. 7", "+48426331200", "7"),
        ("0048 601 234 567", "+48601234567", None),
        ("123", None, None),  # not a possible number: kept as written, no E.164
    ]
    faxes = query(conn, "select fax, fax_e164, fax_extension from raw.contractors order by 1")
    assert faxes == [
        ("+49 30 1234567", "+49301234567", None),
        ("22 654-32-11 w. 3", "+48226543211", "3"),
    ]
