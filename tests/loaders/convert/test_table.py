"""crm7 convert table: CSV (cp1250, UTF-8 with BOM, ";", decimal commas) and XLSX through a
YAML profile; the shipped examples and broken variants written to tmp_path."""

from __future__ import annotations

import csv
import tracemalloc

import pytest
import xmlschema
from conftest import ROOT, run_crm7
from lxml import etree

from loaders.convert import table
from loaders.convert.table import convert_table, read_profile, suggest_profile
from loaders.errors import TableConversionError

EXAMPLES = ROOT / "examples"
CSV_FILE = EXAMPLES / "converters" / "kontrahenci_cp1250.csv"
XLSX_FILE = EXAMPLES / "converters" / "towary.xlsx"
CSV_PROFILE = EXAMPLES / "profiles" / "kontrahenci_csv.yml"
XLSX_PROFILE = EXAMPLES / "profiles" / "towary_xlsx.yml"
NS = {"k": "urn:crm7:contract:contractors:v1", "p": "urn:crm7:contract:products:v1"}


def validate(path, contract: str) -> etree._Element:
    xmlschema.XMLSchema(str(ROOT / "contracts" / contract / "v1" / f"{contract}.xsd")).validate(
        str(path)
    )
    return etree.parse(str(path)).getroot()


def errors(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("encoding", ["cp1250", "utf-8-sig"])
def test_csv_in_cp1250_and_utf8_bom_converts_and_bad_rows_go_to_the_error_csv(tmp_path, encoding):
    source = tmp_path / f"kontrahenci_{encoding}.csv"
    source.write_text(CSV_FILE.read_text(encoding="cp1250"), encoding=encoding, newline="")
    profile = tmp_path / "profile.yml"
    profile.write_text(
        CSV_PROFILE.read_text(encoding="utf-8").replace(
            "encoding: cp1250", f"encoding: {encoding}"
        ),
        encoding="utf-8",
    )
    out = tmp_path / "contractors.xml"
    result = convert_table([source], profile, out)
    root = validate(out, "contractors")
    assert (result.records, result.errors) == (2, 2)
    first = root.find("k:contractor", NS)
    assert first.findtext("k:name", None, NS) == "Spółdzielnia Mleczarska „Łąka”"
    assert first.findtext("k:email", None, NS) == "biuro@laka.example"
    assert [
        first.findtext(f"k:address/k:{f}", None, NS)
        for f in ("street", "buildingNumber", "flatNumber", "city", "country")
    ] == [
        "ul. Żytnia",
        "15",
        "3",
        "Warszawa",
        "PL",
    ]
    rows = errors(result.error_file)
    assert rows[0][:4] == ["file", "row", "column", "reason"]
    assert [(r[1], r[2]) for r in rows[1:]] == [("4", "Nazwa pełna"), ("5", "E-mail")]
    assert rows[1][4] == "K-0003"


def test_xlsx_with_decimal_commas_and_the_preview(tmp_path):
    out = tmp_path / "products.xml"
    result = convert_table([XLSX_FILE], XLSX_PROFILE, out)
    root = validate(out, "products")
    products = root.findall("p:product", NS)
    assert [p.findtext("p:code", None, NS) for p in products] == ["MAKA-1KG", "OLEJ-5L", "USL-TR"]
    assert products[1].findtext("p:minStockQuantity", None, NS) == "2.5"
    assert products[1].findtext("p:baseUnit", None, NS) == "szt"
    assert [r[1] for r in errors(result.error_file)[1:]] == ["5"]
    shown: list[str] = []
    convert_table([XLSX_FILE], XLSX_PROFILE, tmp_path / "x.xml", preview=2, printer=shown.append)
    assert len(shown) == 2 and "<code>MAKA-1KG</code>" in shown[0]
    assert not (tmp_path / "x.xml").exists()


def test_csv_decimal_commas_and_dates_in_a_products_profile(tmp_path):
    source = tmp_path / "p.csv"
    source.write_text("Symbol;Nazwa;Jm;Min\nA;Alfa;szt;1 234,5\nB;Beta;kg;0,25\n", "utf-8")
    profile = tmp_path / "p.yml"
    profile.write_text(
        "contract: products\nfields:\n  sourceRecordId: Symbol\n  name: Nazwa\n"
        "  baseUnit: Jm\n  minStockQuantity: Min\n",
        "utf-8",
    )
    root = validate(
        convert_table([source], profile, tmp_path / "p.xml") and tmp_path / "p.xml", "products"
    )
    assert [p.findtext("p:minStockQuantity", None, NS) for p in root] == ["1234.5", "0.25"]


def test_whole_file_problems_write_nothing(tmp_path):
    out = tmp_path / "out.xml"
    wrong = tmp_path / "utf8.csv"
    wrong.write_bytes(CSV_FILE.read_bytes())  # cp1250 bytes, a profile saying UTF-8
    profile = tmp_path / "utf8.yml"
    profile.write_text(CSV_PROFILE.read_text("utf-8").replace("cp1250", "utf-8-sig"), "utf-8")
    with pytest.raises(TableConversionError, match="is not utf-8-sig text"):
        convert_table([wrong], profile, out)
    strict = tmp_path / "strict.yml"
    strict.write_text(CSV_PROFILE.read_text("utf-8").replace("ignore", "error"), "utf-8")
    with pytest.raises(TableConversionError, match="columns no field maps: 'Opiekun'"):
        convert_table([CSV_FILE], strict, out)
    missing = tmp_path / "missing.yml"
    missing.write_text(CSV_PROFILE.read_text("utf-8").replace("column: NIP", "column: Numer NIP"))
    with pytest.raises(TableConversionError, match="no column 'Numer NIP'"):
        convert_table([CSV_FILE], missing, out)
    with pytest.raises(TableConversionError, match="no such field"):
        bad = tmp_path / "bad.yml"
        bad.write_text("contract: contractors\nfields:\n  nazwa: Nazwa\n", "utf-8")
        read_profile(bad)
    assert not out.exists()
    assert not list(tmp_path.glob(".*partial"))


def test_a_huge_line_is_refused_with_flat_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(table, "MAX_LINE", 1 << 20)
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.write(CSV_FILE.read_bytes().split(b"\r\n")[0] + b"\r\n")
        for _ in range(64):  # one 64 MiB line
            handle.write(b"x" * (1 << 20))
        handle.write(b"\r\n")
    tracemalloc.start()
    with pytest.raises(TableConversionError, match=r"huge\.csv:2: a line longer than 1 MiB"):
        convert_table([huge], CSV_PROFILE, tmp_path / "out.xml")
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak >> 20} MiB while refusing a 64 MiB line"
    assert not (tmp_path / "out.xml").exists()


def test_suggest_marks_every_guess_and_finds_the_obvious_columns():
    draft = suggest_profile(CSV_FILE)
    assert "every mapping below is a guess" in draft
    assert "  nip: {column: 'NIP'}  # guess (exact)" in draft
    assert "  name: {column: 'Nazwa pełna'}  # guess" in draft
    assert "encoding: cp1250" in draft and 'separator: ";"' in draft
    assert "# sourceRecordId: REQUIRED" in draft


def test_command_exit_codes(tmp_path):
    ok = run_crm7(
        "convert",
        "table",
        str(CSV_FILE),
        "-p",
        str(CSV_PROFILE),
        "-o",
        str(tmp_path / "c.xml"),
        env=None,
    )
    assert ok.returncode == 1 and "2 rows could not be mapped" in ok.stderr
    assert (tmp_path / "c.xml").exists() and (tmp_path / "c.errors.csv").exists()
    bad = run_crm7(
        "convert",
        "table",
        str(CSV_FILE),
        "-p",
        str(tmp_path / "none.yml"),
        "-o",
        str(tmp_path / "d.xml"),
        env=None,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("crm7: ")
