"""crm7 convert jpk: the JPK samples in ../shared/reference/jpk into contract files.

The samples are read where they are, never copied; a variant a test needs (a DOCTYPE, a
truncated file) is written to the test's tmp_path. The official schemas are loaded
offline, as ../shared/reference/catalog.xml maps them.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from conftest import REFERENCE, ROOT, query, run_crm7
from lxml import etree

from loaders.convert.jpk import FA, MAG, STRUCTURES, V7, convert_files
from loaders.errors import FileRejected, HostileXmlError, JpkConversionError
from loaders.load import load_file

JPK = REFERENCE / "jpk"
SAMPLES = JPK / "samples"
SCHEMAS = JPK / "schemas"
CATALOG = REFERENCE / "catalog.xml"
NS = {
    "i": "urn:crm7:contract:invoices:v1",
    "k": "urn:crm7:contract:contractors:v1",
    "w": "urn:crm7:contract:warehouse_documents:v1",
}
SCHEMA_FILES = {
    "JPK_V7M (1)": "Schemat_JPK_V7M(1)_v1-2E.xsd",
    "JPK_V7M (2)": "Schemat_JPK_V7M(2)_v1-0.xsd",
    "JPK_V7K (1)": "Schemat_JPK_V7K(1)_v1-2E.xsd",
    "JPK_V7K (2)": "Schemat_JPK_V7K(2)_v1-0.xsd",
    "JPK_FA (2)": "Schemat_JPK_FA(2)_v1-0.xsd",
    "JPK_FA (3)": "Schemat_JPK_FA(3)_v1-0.xsd",
    "JPK_MAG (1)": "Schemat_JPK_MAG(1)_v1-0.xsd",
}


@functools.cache
def _rewrites() -> tuple[tuple[str, Path], ...]:
    catalog = etree.parse(str(CATALOG))
    return tuple(
        (row.get("uriStartString"), REFERENCE / row.get("rewritePrefix"))
        for row in catalog.getroot()
        if isinstance(row.tag, str) and row.tag.endswith("rewriteURI")
    )


def _offline(uri: str) -> str:
    for start, prefix in _rewrites():
        if uri.startswith(start):
            return str(prefix / uri.removeprefix(start))
    return uri


@functools.cache
def jpk_schema(structure: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / SCHEMA_FILES[structure]), uri_mapper=_offline)


@functools.cache
def contract_schema(name: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(ROOT / "contracts" / name / "v1" / f"{name}.xsd"))


def samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.xml"))


def namespace(path: Path) -> str:
    return etree.QName(etree.parse(str(path)).getroot()).namespace


def count(paths: list[Path], *names: str) -> int:
    total = 0
    for path in paths:
        ns = namespace(path)
        root = etree.parse(str(path)).getroot()
        total += sum(len(root.findall(f".//{{{ns}}}{name}")) for name in names)
    return total


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("jpk")
    convert_files(samples(), output)
    return output


def test_every_sample_is_valid_jpk_and_of_a_structure_crm7_reads():
    found = {STRUCTURES[namespace(path)] for path in samples()}
    assert found == set(SCHEMA_FILES)
    for path in samples():
        assert jpk_schema(STRUCTURES[namespace(path)]).is_valid(str(path)), path.name


def test_every_sample_converts_record_for_record_and_validates(converted, tmp_path):
    v7 = [path for path in samples() if namespace(path) in V7]
    fa = [path for path in samples() if namespace(path) in FA]
    mag = [path for path in samples() if namespace(path) in MAG]
    for name, file in (
        ("invoices", "invoices.xml"),
        ("contractors", "contractors.xml"),
        ("warehouse_documents", "warehouse_documents.xml"),
    ):
        contract_schema(name).validate(str(converted / file))
    invoices = etree.parse(str(converted / "invoices.xml")).getroot()
    documents = etree.parse(str(converted / "warehouse_documents.xml")).getroot()
    expected = count(v7, "SprzedazWiersz", "ZakupWiersz") + count(fa, "Faktura")
    assert len(invoices.findall("i:invoice", NS)) == expected
    assert len(documents.findall("w:document", NS)) == count(
        mag, "PZWartosc", "WZWartosc", "RWWartosc", "MMWartosc"
    )
    for sample in ("jpk_v7m2_valid_sprzedaz_zakupy_osoba_niefizyczna.xml", "jpk_fa2_valid.xml"):
        one = tmp_path / sample
        convert_files([SAMPLES / sample], one)
        root = etree.parse(str(one / "invoices.xml")).getroot()
        ids = [e.text for e in root.findall("i:invoice/i:sourceRecordId", NS)]
        assert len(ids) == len(set(ids)), "every row of a file is its own record"
    lines = invoices.findall("i:invoice/i:line", NS)
    assert len(lines) == count(fa, "FakturaWiersz")


def invoice(converted: Path, record_id: str) -> etree._Element:
    root = etree.parse(str(converted / "invoices.xml")).getroot()
    found = [
        e
        for e in root.findall("i:invoice", NS)
        if e.findtext("i:sourceRecordId", None, NS) == record_id
    ]
    assert found, record_id
    return found[0]


def test_v7_sales_row_rate_fields_become_vat_totals(converted):
    # jpk_v7k1_..._sprzedaz: row 10 K_10 (zw) ... the first file's rows with K_19/K_20
    root = etree.parse(str(converted / "invoices.xml")).getroot()
    rates = {
        (t.findtext("i:vatRate", None, NS), t.findtext("i:net", None, NS))
        for t in root.findall("i:invoice/i:vatTotal", NS)
    }
    assert {("zw", "150.10"), ("np I", "150.11"), ("np II", "150.12"), ("0 KR", "150.13")} <= {
        (rate, str(Decimal(net).quantize(Decimal("0.01")))) for rate, net in rates
    }
    first = invoice(converted, "7018631981/523/67272")
    assert first.findtext("i:direction", None, NS) == "sales"
    assert first.findtext("i:buyer/i:nip", None, NS) == "9527765432"
    assert first.findtext("i:seller/i:nip", None, NS) == "7018631981"
    assert first.findtext("i:issueDate", None, NS) in ("2020-04-23", "2022-04-23")


def test_v7_purchase_rows_are_purchases_from_the_supplier(converted):
    root = etree.parse(str(converted / "invoices.xml")).getroot()
    purchases = [
        e
        for e in root.findall("i:invoice", NS)
        if e.findtext("i:direction", None, NS) == "purchase"
    ]
    assert purchases
    for e in purchases:
        seller_nip = e.findtext("i:seller/i:nip", None, NS)
        assert e.findtext("i:sourceRecordId", None, NS).startswith(f"{seller_nip}/")
        assert e.findtext("i:buyer/i:nip", None, NS) == "7018631981"
        net, vat, gross = (
            Decimal(e.findtext(f"i:{f}", None, NS)) for f in ("totalNet", "totalVat", "totalGross")
        )
        assert net + vat == gross


def test_fa_correction_points_at_the_corrected_invoice_and_lines_attach(converted):
    root = etree.parse(str(converted / "invoices.xml")).getroot()
    corrections = [
        e for e in root.findall("i:invoice", NS) if e.findtext("i:kind", None, NS) == "KOR"
    ]
    assert corrections
    assert {e.findtext("i:correctedInvoiceNumber", None, NS) for e in corrections} == {"543/732456"}
    assert {e.findtext("i:correctedInvoiceId", None, NS) for e in corrections} == {
        "8117960116/543/732456"
    }


def test_mag_documents_carry_type_warehouse_and_lines(converted):
    root = etree.parse(str(converted / "warehouse_documents.xml")).getroot()
    types = {e.findtext("w:type", None, NS) for e in root.findall("w:document", NS)}
    assert types == {"PZ", "WZ", "RW", "MM"}
    moved = [e for e in root.findall("w:document", NS) if e.findtext("w:type", None, NS) == "MM"]
    assert {e.findtext("w:targetWarehouse", None, NS) for e in moved} >= {"Rawicz"}
    assert any(e.findall("w:line", NS) for e in moved)


def test_converting_again_gives_the_same_ids(converted, tmp_path):
    convert_files(samples(), tmp_path)
    for name in ("invoices.xml", "contractors.xml", "warehouse_documents.xml"):
        assert (tmp_path / name).read_bytes() == (converted / name).read_bytes()


# --- hostile and broken input ------------------------------------------------------------


def sample_text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def test_a_doctype_is_refused_and_nothing_written(tmp_path):
    text = sample_text("jpk_v7m2_valid_sprzedaz_osoba_fizyczna.xml")
    bomb = '<!DOCTYPE JPK [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n'
    hostile = tmp_path / "hostile.xml"
    hostile.write_text(text.replace("?>\n", "?>\n" + bomb, 1), encoding="utf-8")
    with pytest.raises(HostileXmlError, match="DOCTYPE"):
        convert_files([SAMPLES / "jpk_fa2_valid.xml", hostile], tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_truncated_file_names_its_line_and_nothing_is_written(tmp_path):
    text = sample_text("jpk_v7m2_valid_sprzedaz_osoba_fizyczna.xml")
    truncated = tmp_path / "truncated.xml"
    truncated.write_text(text[: len(text) // 2], encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(FileRejected, match=r"truncated\.xml:\d+.*not well-formed"):
        convert_files([SAMPLES / "jpk_fa2_valid.xml", truncated], out)
    assert not list(out.iterdir())


def test_a_wrong_code_page_is_refused_with_its_line(tmp_path):
    text = sample_text("jpk_mag1_valid_pz.xml")
    broken = tmp_path / "cp1250.xml"
    broken.write_bytes(text.encode("cp1250"))  # declares utf-8, holds cp1250 bytes
    with pytest.raises(FileRejected, match=r"cp1250\.xml:\d+"):
        convert_files([broken], tmp_path / "out")


def test_another_xml_and_an_unmappable_value_are_named_errors(tmp_path):
    other = tmp_path / "other.xml"
    other.write_text('<JPK xmlns="http://example.com/"/>', encoding="utf-8")
    with pytest.raises(JpkConversionError, match="not a JPK structure"):
        convert_files([other], tmp_path / "out")
    text = sample_text("jpk_v7m2_valid_sprzedaz_osoba_fizyczna.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text(text.replace("<tns:K_10>150.1</tns:K_10>", "<tns:K_10>1,5</tns:K_10>"))
    with pytest.raises(JpkConversionError, match=r"bad\.xml:\d+: K_10: not an amount"):
        convert_files([bad], tmp_path / "out")


def test_command_prints_one_line_and_exits_1_on_a_broken_file(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<JPK xmlns='http://crd.gov.pl/wzor/2021/07/08/07081/'><tns:", "utf-8")
    result = run_crm7("convert", "jpk", str(broken), "-o", str(tmp_path / "out"), env=None)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.match(r"crm7: .*broken\.xml:1", result.stderr)


# --- loading the outputs -----------------------------------------------------------------


def test_converted_samples_load_with_no_rejects_and_counterparties_become_companies(
    conn, database, crm, converted
):
    for name in ("contractors.xml", "invoices.xml", "warehouse_documents.xml"):
        result = load_file(conn, converted / name)
        assert result.status == "loaded", result.message
        assert result.records_rejected == 0, name
    assert query(conn, "select count(*) from raw.rejects") == [(0,)]
    assert crm("run", "--select", "+companies", "--threads", "1")
    nips = {row[0] for row in query(conn, "select nip from crm.companies where nip is not null")}
    assert {"9527765432", "3897424335"} <= nips
