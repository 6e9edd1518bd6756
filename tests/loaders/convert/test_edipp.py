"""crm7 convert edipp: the two synthetic EDI++ files of ../shared/reference/edipp, record
for record as their README describes them; broken variants are written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from conftest import REFERENCE, ROOT, query, run_crm7
from lxml import etree

from loaders.convert.edipp import MAX_LINE, convert_files
from loaders.errors import EdippConversionError
from loaders.load import load_file

EDIPP = REFERENCE / "edipp"
SUBIEKT = EDIPP / "synthetic_subiekt_export.epp"
REWIZOR = EDIPP / "synthetic_rewizor_export.epp"
NS = {
    "i": "urn:crm7:contract:invoices:v1",
    "k": "urn:crm7:contract:contractors:v1",
    "p": "urn:crm7:contract:products:v1",
    "c": "urn:crm7:contract:prices:v1",
    "w": "urn:crm7:contract:warehouse_documents:v1",
}
CONTRACTS = {
    "contractors.xml": "contractors",
    "products.xml": "products",
    "prices.xml": "prices",
    "invoices.xml": "invoices",
    "warehouse_documents.xml": "warehouse_documents",
}


def converted(tmp_path: Path, source: Path) -> Path:
    out = tmp_path / source.stem
    convert_files([source], out)
    for name in out.iterdir():
        xmlschema.XMLSchema(
            str(ROOT / "contracts" / CONTRACTS[name.name] / "v1" / f"{CONTRACTS[name.name]}.xsd")
        ).validate(str(name))
    return out


def root(folder: Path, name: str) -> etree._Element:
    return etree.parse(str(folder / name)).getroot()


def invoices(folder: Path) -> dict[str, etree._Element]:
    return {
        e.findtext("i:sourceRecordId", None, NS): e
        for e in root(folder, "invoices.xml").findall("i:invoice", NS)
    }


def rates(invoice: etree._Element) -> list[tuple[str, str, str]]:
    return [
        tuple(t.findtext(f"i:{f}", None, NS) for f in ("vatRate", "net", "vat"))
        for t in invoice.findall("i:vatTotal", NS)
    ]


@pytest.mark.parametrize("source", [SUBIEKT, REWIZOR], ids=["subiekt", "rewizor"])
def test_both_files_documents_record_for_record(tmp_path, source):
    out = converted(tmp_path, source)
    found = invoices(out)
    assert list(found) == ["FS 1/2026", "KFS 1/2026"]
    fs, kfs = found["FS 1/2026"], found["KFS 1/2026"]
    assert rates(fs) == [("23", "800.00", "184.00"), ("5", "160.00", "8.00")]
    assert [fs.findtext(f"i:{f}", None, NS) for f in ("totalNet", "totalVat", "totalGross")] == [
        "960.00",
        "192.00",
        "1152.00",
    ]
    assert fs.findtext("i:buyer/i:nip", None, NS) == "5211143437"
    assert fs.findtext("i:buyer/i:address", None, NS).startswith("ul. Stara 1")
    assert fs.findtext("i:seller/i:nip", None, NS) == "725-358-25-85"
    assert fs.findtext("i:paymentForm", None, NS) == "6"
    assert fs.findtext("i:dueDate", None, NS) == "2026-01-29"
    assert kfs.findtext("i:kind", None, NS) == "KOR"
    assert kfs.findtext("i:correctedInvoiceId", None, NS) == "FS 1/2026"
    assert kfs.findtext("i:buyer/i:nip", None, NS) == "521-114-34-37"
    assert rates(kfs) == [("23", "-130.00", "-29.90")]
    assert kfs.findtext("i:totalGross", None, NS) == "-159.90"
    documents = root(out, "warehouse_documents.xml").findall("w:document", NS)
    assert [d.findtext("w:number", None, NS) for d in documents] == ["PZ 1/2026"]
    assert documents[0].findtext("w:counterpartyNip", None, NS) == "783 219 91 16"
    assert documents[0].findtext("w:counterpartyId", None, NS) == "CMA"
    contractors = root(out, "contractors.xml").findall("k:contractor", NS)
    assert [
        (c.findtext("k:sourceRecordId", None, NS), c.findtext("k:nip", None, NS))
        for c in contractors
    ] == [
        ("ZOLW", "521-114-34-37"),
        ("CMA", "PL7832199116"),
        ("BRZECZYSZCZ", None),
        ("NORDFIKTIV", None),
    ]


def test_subiekt_goods_lines_products_prices_and_the_correction_reason(tmp_path):
    out = converted(tmp_path, SUBIEKT)
    fs, kfs = invoices(out)["FS 1/2026"], invoices(out)["KFS 1/2026"]
    lines = [
        tuple(
            line.findtext(f"i:{f}", None, NS) for f in ("productId", "quantity", "net", "vatRate")
        )
        for line in fs.findall("i:line", NS)
    ]
    assert lines == [
        ("KAWA-1KG", "10.000000", "650.00", "23"),
        ("PORADNIK", "4.000000", "160.00", "5"),
        ("TRANSPORT", "1.000000", "150.00", "23"),
    ]
    first = kfs.find("i:line", NS)
    assert (first.findtext("i:quantity", None, NS), first.findtext("i:net", None, NS)) == (
        "-2.000000",
        "-130.00",
    )
    assert kfs.findtext("i:correctionReason", None, NS) == "Zwrot 2 szt. – uszkodzone opakowania"
    zolw = root(out, "contractors.xml").find("k:contractor", NS)
    assert [
        zolw.findtext(f"k:address/k:{f}", None, NS)
        for f in ("street", "buildingNumber", "flatNumber", "postalCode", "city")
    ] == [
        "ul. Świętojańska",
        "12",
        "4",
        "80-180",
        "Gdańsk",
    ]
    assert zolw.findtext("k:regon", None, NS) == "990394512"
    cma = root(out, "contractors.xml").findall("k:contractor", NS)[1]
    assert cma.findtext("k:name", None, NS) == 'Zakład Usługowy "Ćma" Sp. j.'
    products = root(out, "products.xml").findall("p:product", NS)
    assert [
        (
            p.findtext("p:code", None, NS),
            p.findtext("p:gtin", None, NS),
            p.findtext("p:baseUnit", None, NS),
        )
        for p in products
    ] == [
        ("KAWA-1KG", "2900001122337", "szt"),
        ("PORADNIK", "2900004455661", "szt"),
        ("TRANSPORT", None, "usł"),
    ]
    prices = root(out, "prices.xml").findall("c:price", NS)
    assert len(prices) == 6
    assert (
        prices[0].findtext("c:netPrice", None, NS),
        prices[0].findtext("c:grossPrice", None, NS),
    ) == ("80.0000", "98.4000")


def test_rewizor_has_vat_tables_and_a_warehouse_document_without_lines(tmp_path):
    out = converted(tmp_path, REWIZOR)
    assert not invoices(out)["FS 1/2026"].findall("i:line", NS)
    assert not (out / "products.xml").exists()
    assert not root(out, "warehouse_documents.xml").findall("w:document/w:line", NS)


def test_lf_endings_and_a_utf8_file_read_leniently_with_notes(tmp_path):
    lf = tmp_path / "lf.epp"
    lf.write_bytes(SUBIEKT.read_bytes().replace(b"\r\n", b"\n"))
    result = convert_files([lf], tmp_path / "lf")
    assert any("LF line endings" in note for note in result.notes)
    utf8 = tmp_path / "utf8.epp"
    utf8.write_bytes(SUBIEKT.read_bytes().decode("cp1250").encode("utf-8"))
    result = convert_files([utf8], tmp_path / "utf8")
    assert any("UTF-8" in note for note in result.notes)
    fs = invoices(tmp_path / "utf8")["FS 1/2026"]
    assert fs.findtext("i:buyer/i:name", None, NS) == "Przedsiębiorstwo Handlowe „Żółw” Sp. z o.o."


def broken(tmp_path: Path, content: bytes, name: str = "broken.epp") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_truncated_file_is_refused_and_nothing_written(tmp_path):
    data = SUBIEKT.read_bytes()
    cut = data[: data.index(b'2,1,"PORADNIK"')]  # FS 1/2026 announces 3 lines, 1 follows
    out = tmp_path / "out"
    with pytest.raises(EdippConversionError, match=r"broken\.epp:5: FS field 25.*truncated"):
        convert_files([broken(tmp_path, cut)], out)
    assert not list(out.iterdir())


def test_wrong_code_page_unknown_field_count_and_huge_line(tmp_path):
    data = SUBIEKT.read_bytes()
    latin = data.replace(b",1250,", b",852,", 1).decode("cp1250").encode("utf-16-le")
    with pytest.raises(EdippConversionError):
        convert_files([broken(tmp_path, latin, "utf16.epp")], tmp_path / "a")
    page = data.replace(b",1250,", b",437,", 1)
    with pytest.raises(EdippConversionError, match=r"field 3 \(code page\): '437'"):
        convert_files([broken(tmp_path, page, "page.epp")], tmp_path / "b")
    fields = data.replace(b'2,1,"PORADNIK",', b'2,1,"PORADNIK",1,', 1)
    with pytest.raises(
        EdippConversionError, match=r"fields\.epp:\d+: goods line: 23 fields match no known layout"
    ):
        convert_files([broken(tmp_path, fields, "fields.epp")], tmp_path / "c")
    huge = tmp_path / "huge.epp"
    with huge.open("wb") as handle:
        handle.write(data[: data.index(b"[NAGLOWEK]")])
        handle.write(b"[NAGLOWEK]\r\n" + b"x" * (MAX_LINE + 10) + b"\r\n")
    with pytest.raises(EdippConversionError, match=r"huge\.epp:\d+: a line longer than 1 MiB"):
        convert_files([huge], tmp_path / "d")


def test_command_one_line_and_exit_1(tmp_path):
    path = broken(tmp_path, b'[INFO]\r\n"1.11",3,437\r\n')
    result = run_crm7("convert", "edipp", str(path), "-o", str(tmp_path / "out"), env=None)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith("crm7: ")


def test_both_files_load_with_no_rejects(conn, tmp_path):
    for source in (SUBIEKT, REWIZOR):
        out = tmp_path / source.stem
        convert_files([source], out, source_system=source.stem.split("_")[1])
        for name in (
            "contractors.xml",
            "products.xml",
            "prices.xml",
            "invoices.xml",
            "warehouse_documents.xml",
        ):
            if (out / name).exists():
                result = load_file(conn, out / name)
                assert result.status == "loaded", result.message
                assert result.records_rejected == 0, name
    assert query(conn, "select count(*) from raw.rejects") == [(0,)]
    assert query(conn, "select count(*) from raw.invoices") == [(4,)]
