"""crm7 convert ksef: real KSeF e-invoices (../shared/reference) into the invoices contract.

The samples are read where they are, never copied. A variant a test needs (another
prefix, a BrakID buyer, a hostile DOCTYPE) is written to the test's tmp_path.
"""

from __future__ import annotations

import functools
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from conftest import REFERENCE, ROOT, query, run_crm7
from lxml import etree

from loaders.convert.ksef import (
    FA2_NAMESPACE,
    FA3_NAMESPACE,
    MARGIN_RATE,
    OSS_RATE,
    convert_files,
    invoice_element,
    read_invoice,
)
from loaders.errors import HostileXmlError, KsefConversionError
from loaders.load import load_file

SAMPLES = REFERENCE / "ksef" / "samples"
KSEF_FOP = SAMPLES / "ksef4dev_ksef-fop"
FAKTURY = KSEF_FOP / "faktury"
TEMPLATE = SAMPLES / "CIRFMF_ksef-client-csharp/KSeF.Client.Tests.Core/Templates"
KSEF_SCHEMAS = REFERENCE / "ksef" / "schemas"
KSEF_BASE_TYPES = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
CONTRACT_XSD = ROOT / "contracts" / "invoices" / "v1" / "invoices.xsd"
NS = {"c": "urn:crm7:contract:invoices:v1"}
SAFE_PARSER = {"resolve_entities": False, "no_network": True, "load_dtd": False}
KINDS = {"VAT", "KOR", "ZAL", "ROZ", "UPR", "KOR_ZAL", "KOR_ROZ"}


def _offline(uri: str) -> str:
    """The official schemas import their base types from crd.gov.pl: the local copies
    instead, as ../shared/reference/catalog.xml maps them."""
    if uri.startswith(KSEF_BASE_TYPES):
        return str(KSEF_SCHEMAS / "bazowe" / uri.removeprefix(KSEF_BASE_TYPES))
    return uri


@functools.cache
def ksef_schema(namespace: str) -> xmlschema.XMLSchema:
    name = {FA2_NAMESPACE: "schemat_FA(2)_v1-0E.xsd", FA3_NAMESPACE: "schemat_FA(3)_v1-0E.xsd"}
    return xmlschema.XMLSchema(str(KSEF_SCHEMAS / name[namespace]), uri_mapper=_offline)


@functools.cache
def contract_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(CONTRACT_XSD))


@functools.cache
def valid_samples() -> tuple[Path, ...]:
    """Every ksef-fop FA(2)/FA(3) file valid against its official schema, by path.

    Some ksef-fop files are invalid on purpose (fragments without Podmiot1, an element
    out of order, text in TerminOpis): the official schema decides, not a list here.
    """
    found = []
    for path in sorted(KSEF_FOP.rglob("*")):
        if not path.is_file() or path.suffix.lower() != ".xml":
            continue
        root = etree.parse(str(path), etree.XMLParser(**SAFE_PARSER)).getroot()
        namespace = etree.QName(root).namespace
        if namespace in (FA2_NAMESPACE, FA3_NAMESPACE) and ksef_schema(namespace).is_valid(
            str(path)
        ):
            found.append(path)
    return tuple(found)


def convert(path: Path) -> etree._Element:
    """One KSeF file as the contract's <invoice> element."""
    return invoice_element(read_invoice(path))


def text(element: etree._Element, path: str) -> str | None:
    found = element.find("/".join(f"c:{step}" for step in path.split("/")), NS)
    return None if found is None else found.text


def texts(element: etree._Element, path: str) -> list[str | None]:
    return [
        found.text for found in element.findall("/".join(f"c:{s}" for s in path.split("/")), NS)
    ]


def lines(invoice: etree._Element) -> list[dict[str, str | None]]:
    return [
        {child.tag.split("}")[1]: child.text for child in line}
        for line in invoice.findall("c:line", NS)
    ]


def vat_totals(invoice: etree._Element) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (text(total, "vatRate"), text(total, "net"), text(total, "vat"))
        for total in invoice.findall("c:vatTotal", NS)
    ]


def variant(tmp_path: Path, sample: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of a sample in tmp_path with literal replacements (each must apply)."""
    content = sample.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in content, f"{old!r} not in {sample.name}"
        content = content.replace(old, new)
    path = tmp_path / sample.name
    path.write_text(content, encoding="utf-8")
    return path


def local_env() -> dict[str, str]:
    return dict(os.environ)


# --- every valid sample ----------------------------------------------------------------


def test_every_valid_sample_converts_and_the_file_validates_against_the_contract(tmp_path):
    samples = valid_samples()
    kinds = {read_invoice(path).kind for path in samples}
    assert len(samples) == 63, "the official schemas accept 63 ksef-fop FA(2)/FA(3) samples"
    assert kinds == KINDS, "the samples cover every RodzajFaktury"
    assert {read_invoice(path).schema for path in samples} == {"FA(2)", "FA(3)"}

    output = tmp_path / "invoices.xml"
    result = convert_files(samples, output)

    assert result.invoices == len(samples)
    contract_schema().validate(str(output))
    root = etree.parse(str(output), etree.XMLParser(**SAFE_PARSER)).getroot()
    assert root.get("sourceSystem") == "ksef"
    assert root.nsmap == {None: NS["c"]}, "one default namespace, declared on the root only"
    numbers = [text(invoice, "number") for invoice in root]
    assert numbers == [read_invoice(path).number for path in samples], "input order"
    assert list(tmp_path.iterdir()) == [output], "no partial file left behind"


def test_a_prefixed_namespace_reads_the_same_as_the_default_one(tmp_path):
    sample = FAKTURY / "fa3/podstawowa/FA_3_Przyklad_4_EUR.xml"
    content = sample.read_text(encoding="utf-8")
    prefixed = re.sub(r"<(/?)(?=[A-Za-z])", r"<\1tns:", content).replace(
        f'xmlns="{FA3_NAMESPACE}"', f'xmlns:tns="{FA3_NAMESPACE}"'
    )
    assert "<tns:Faktura" in prefixed and "<tns:P_15>" in prefixed
    (tmp_path / "prefixed.xml").write_text(prefixed, encoding="utf-8")

    assert etree.tostring(convert(tmp_path / "prefixed.xml")) == etree.tostring(convert(sample))
    # ...and the one sample written with a prefix (n0:) is among the valid ones above.
    assert FAKTURY / "fa3/zalacznik/FA_3_Zalacznik_Przyklad_2.xml" in valid_samples()


# --- field values of chosen samples ----------------------------------------------------


def test_basic_fa2_invoice_header_parties_totals_lines_and_terms():
    invoice = convert(FAKTURY / "fa2/podstawowa/FA_2_Przyklad_9.xml")

    assert text(invoice, "sourceRecordId") == "9999999999/FV2022/02/150"
    assert text(invoice, "number") == "FV2022/02/150"
    assert text(invoice, "kind") == "VAT"
    assert text(invoice, "direction") is None, "sales: the default"
    assert text(invoice, "issueDate") == "2022-02-15"
    assert text(invoice, "saleDate") == "2022-01-01", "OkresFa/P_6_Do when there is no P_6"
    assert text(invoice, "seller/nip") == "9999999999"
    assert text(invoice, "seller/name") == "ABC Leasing S.A."
    assert text(invoice, "seller/address") == "ul. Kwiatowa 1 m. 2, 00-001 Warszawa"
    assert text(invoice, "seller/countryCode") == "PL"
    assert text(invoice, "buyer/nip") == "1111111111"
    assert text(invoice, "buyer/name") == "Gmina Bzdziszewo"
    assert text(invoice, "currency") == "PLN"
    assert text(invoice, "exchangeRate") is None
    assert text(invoice, "paymentForm") == "6"
    assert text(invoice, "dueDate") == "2022-03-15"
    assert text(invoice, "bankAccount") == "73111111111111111111111111"
    assert (text(invoice, "totalNet"), text(invoice, "totalVat")) == ("2300.00", "460.00")
    assert text(invoice, "totalGross") == "2760.00"
    assert vat_totals(invoice) == [("23", "2000.00", "460.00"), ("zw", "300.00", "0.00")]
    assert lines(invoice) == [
        {
            "name": "rata leasingowa za 01/2022",
            "quantity": "1",
            "unit": "szt.",
            "unitNetPrice": "2000",
            "net": "2000.00",
            "vatRate": "23",
            "vat": "460.00",
            "gross": "2460.00",
        },
        {
            "name": "pakiet ubezpieczeń za 01/2022",
            "quantity": "1",
            "unit": "szt.",
            "unitNetPrice": "300",
            "net": "300.00",
            "vatRate": "zw",
            "vat": "0.00",
            "gross": "300.00",
        },
    ]
    assert invoice.findall("c:payment", NS) == []


def test_every_rate_field_becomes_its_rate_code_and_a_paid_invoice_one_payment():
    invoice = convert(FAKTURY / "fa3/podstawowa/FA_3_complex.xml")

    assert [rate for rate, _net, _vat in vat_totals(invoice)] == [
        "23",
        "8",
        "5",
        "4",
        OSS_RATE,  # P_13_5 with no P_12_XII line
        "0 KR",
        "0 WDT",
        "0 EX",
        "zw",
        "np I",
        "np II",
        "oo",
        MARGIN_RATE,
    ]
    assert vat_totals(invoice)[1] == ("8", "500.00", "40.00")
    assert text(invoice, "totalNet") == "5950.00", "the sum of every P_13_*"
    assert text(invoice, "totalVat") == "382.00", "the sum of P_14_*"
    assert text(invoice, "totalGross") == "5962.00", "P_15, as sent"
    first = lines(invoice)[0]
    assert first["productId"] == "PROD-001"
    assert (first["unitNetPrice"], first["net"], first["vat"]) == ("53.5993543", "500.00", "115.00")
    assert texts(invoice, "payment/date") == ["2025-12-15"]
    assert texts(invoice, "payment/amount") == ["5962.00"]
    assert text(invoice, "dueDate") == "2025-12-30"


@pytest.mark.parametrize(
    "name",
    [
        "faktury/fa2/korygujaca/FA_2_Przyklad_2.xml",
        "OrderSectionTemplateTest/correction_stan_przed.xml",
    ],
)
def test_correction_lines_before_the_correction_are_negated_into_differences(name):
    path = KSEF_FOP / name
    invoice = convert(path)
    found = lines(invoice)

    assert text(invoice, "kind") == "KOR"
    assert found[0]["net"].startswith("-") and found[0]["quantity"].startswith("-")
    assert not found[1]["net"].startswith("-")
    net = sum(Decimal(line["net"]) for line in found)
    gross = sum(Decimal(line["gross"]) for line in found)
    assert all(
        Decimal(line["gross"]) == Decimal(line["net"]) + Decimal(line["vat"]) for line in found
    )
    if "fa2" in name:
        assert net == Decimal("-162.60") == Decimal(text(invoice, "totalNet"))
        assert gross == Decimal("-200.00") == Decimal(text(invoice, "totalGross"))
        assert [line["vat"] for line in found] == ["-373.98", "336.58"]
        assert text(invoice, "correctedInvoiceId") == "9999999999/FV2022/02/150"
        assert text(invoice, "correctedInvoiceNumber") == "FV2022/02/150"
        assert text(invoice, "correctionReason") == (
            "obniżka ceny o 200 zł z uwagi na uszkodzenia estetyczne"
        )
    else:
        assert net == Decimal("100.00") and gross == Decimal("123.00") == Decimal(
            text(invoice, "totalGross")
        )
        assert text(invoice, "correctedInvoiceId") is None, "the sample has no DaneFaKorygowanej"


def test_eur_invoice_currency_rate_gross_line_and_partial_payments():
    invoice = convert(FAKTURY / "fa3/podstawowa/FA_3_Przyklad_4_EUR.xml")

    assert text(invoice, "currency") == "EUR"
    assert text(invoice, "exchangeRate") == "4.3200", "KursWaluty of the line"
    line = lines(invoice)[0]
    # P_11A = 123 (gross) at 23%: VAT from the gross, net = gross - VAT
    assert (line["net"], line["vat"], line["gross"]) == ("100.00", "23.00", "123.00")
    assert texts(invoice, "payment/date") == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert texts(invoice, "payment/amount") == ["100.00", "200.00", "300.00"]


def test_foreign_currency_without_a_rate_leaves_it_out_with_a_note():
    parsed = read_invoice(FAKTURY / "fa3/poza_ue/FA_3_Przyklad_23.xml")
    invoice = invoice_element(parsed)

    assert text(invoice, "currency") == "USD"
    assert text(invoice, "exchangeRate") is None
    assert any("missing_exchange_rate" in note for note in parsed.notes)
    assert text(invoice, "buyer/otherId") == "999999999"
    assert text(invoice, "buyer/nip") is None and text(invoice, "buyer/euVatId") is None
    assert text(invoice, "buyer/countryCode") == "US"
    assert vat_totals(invoice) == [("0 EX", "8000.00", "0.00")]


def test_eu_buyer_and_a_correction_of_many_invoices():
    parsed = read_invoice(FAKTURY / "fa2/korygujaca/5210415750-20250811-55DF27967567-5B.xml")
    invoice = invoice_element(parsed)

    assert text(invoice, "buyer/euVatId") == "ATU12305736", "KodUE + NrVatUE"
    assert text(invoice, "buyer/nip") is None
    assert text(invoice, "buyer/countryCode") == "AT"
    assert text(invoice, "correctedInvoiceId") is None, "283 corrected invoices: no single one"
    assert any("correction_without_reference" in note for note in parsed.notes)
    assert (text(invoice, "currency"), text(invoice, "exchangeRate")) == ("EUR", "4.32")
    assert vat_totals(invoice) == [("0 WDT", "-565.80", "0.00")]


def test_buyer_without_identifier_brakid(tmp_path):
    sample = FAKTURY / "fa3/poza_ue/FA_3_Przyklad_23.xml"
    path = variant(
        tmp_path,
        sample,
        ("<KodKraju>US</KodKraju>\n\t\t\t<NrID>999999999</NrID>", "<BrakID>1</BrakID>"),
    )
    assert ksef_schema(FA3_NAMESPACE).is_valid(str(path)), "still a valid FA(3) invoice"
    invoice = convert(path)

    buyer = invoice.find("c:buyer", NS)
    assert [etree.QName(child).localname for child in buyer] == ["name", "address", "countryCode"]
    assert text(invoice, "buyer/name") == "EFG Ltd."


def test_margin_scheme_invoice_and_fa2_gross_lines():
    invoice = convert(FAKTURY / "fa2/podstawowa/FA_2_Przyklad_19.xml")

    assert vat_totals(invoice) == [("23", "813.00", "187.00"), (MARGIN_RATE, "2000.00", "0.00")]
    margin, own = lines(invoice)
    assert (margin["vatRate"], margin["net"], margin["vat"]) == (MARGIN_RATE, "2000.00", "0.00")
    assert (own["vatRate"], own["net"], own["vat"], own["gross"]) == (
        "23",
        "813.01",
        "186.99",
        "1000.00",
    )


@pytest.mark.parametrize(
    ("total", "line_rate", "expected"),
    [("P_13_6_2", "0", "0 WDT"), ("P_13_6_3", "0", "0 EX"), ("P_13_8", "np", "np I")],
)
def test_fa2_zero_and_np_rates_take_their_fa3_code_from_the_totals(
    tmp_path, total, line_rate, expected
):
    sample = FAKTURY / "fa2/podstawowa/FA_2_Przyklad_9.xml"
    path = variant(
        tmp_path,
        sample,
        ("<P_13_7>300</P_13_7>", f"<{total}>300</{total}>"),
        ("<P_12>zw</P_12>", f"<P_12>{line_rate}</P_12>"),
    )
    invoice = convert(path)

    assert vat_totals(invoice)[1] == (expected, "300.00", "0.00")
    assert lines(invoice)[1]["vatRate"] == expected


def test_simplified_invoice_line_without_amounts_takes_the_only_rate_total():
    parsed = read_invoice(FAKTURY / "fa2/uproszczona/FA_2_Przyklad_15.xml")
    invoice = invoice_element(parsed)

    assert text(invoice, "kind") == "UPR"
    assert lines(invoice) == [
        {
            "name": "wiertarka Wiertex mk5",
            "net": "365.85",
            "vatRate": "23",
            "vat": "84.15",
            "gross": "450.00",
        }
    ]
    assert text(invoice, "buyer/name") == "(brak nazwy)", "Podmiot2 without Nazwa"
    assert parsed.notes, "every fallback is noted"


# --- refused and unmappable input ------------------------------------------------------


@pytest.mark.parametrize(
    ("doctype", "reference"),
    [
        ('<!DOCTYPE Faktura [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>', "&b;"),
        ('<!DOCTYPE Faktura [<!ENTITY secret SYSTEM "file:///etc/passwd">]>', "&secret;"),
    ],
)
def test_a_doctype_is_refused_before_anything_is_expanded(tmp_path, doctype, reference):
    sample = FAKTURY / "fa3/podstawowa/FA_3_Przyklad_4_EUR.xml"
    path = variant(
        tmp_path,
        sample,
        ('<?xml version="1.0" encoding="utf-8"?>', f'<?xml version="1.0"?>\n{doctype}'),
        ("<Nazwa>test</Nazwa>", f"<Nazwa>{reference}</Nazwa>"),
    )
    output = tmp_path / "out.xml"

    with pytest.raises(HostileXmlError, match="refuses DTDs and entities") as refused:
        convert_files([path], output)
    assert str(path) in str(refused.value)
    assert not output.exists()
    assert sorted(item.name for item in tmp_path.iterdir()) == [path.name], "no partial output"


def test_placeholder_template_error_names_file_and_element():
    path = TEMPLATE / "invoice-template-fa-3.xml"

    with pytest.raises(KsefConversionError) as error:
        read_invoice(path)

    assert error.value.path == str(path)
    assert error.value.element == "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP"
    assert error.value.line is not None
    assert "#nip#" in str(error.value) and str(path) in str(error.value)


@pytest.mark.parametrize(
    ("old", "new", "element", "message"),
    [
        ("<RodzajFaktury>VAT", "<RodzajFaktury>PRO", "Faktura/Fa/RodzajFaktury", "unknown"),
        ("<P_15>123</P_15>", "<P_15>123,00</P_15>", "Faktura/Fa/P_15", "not a number"),
        ("<P_15>123</P_15>", "<P_15>123.456</P_15>", "Faktura/Fa/P_15", "decimal places"),
        ("<P_1>2025-12-04</P_1>", "<P_1>04.12.2025</P_1>", "Faktura/Fa/P_1", "not a date"),
        ("<P_2>15/2024</P_2>", "", "Faktura/Fa/P_2", "missing"),
        (
            "<P_2>15/2024</P_2>",
            f"<P_2>{'9' * 101}</P_2>",
            "Faktura/Fa/P_2",
            "101 characters; the contract allows at most 100",
        ),
    ],
)
def test_what_cannot_be_mapped_is_a_named_error(tmp_path, old, new, element, message):
    path = variant(tmp_path, FAKTURY / "fa3/podstawowa/FA_3_Przyklad_4_EUR.xml", (old, new))

    with pytest.raises(KsefConversionError, match=message) as error:
        read_invoice(path)
    assert error.value.element == element


def test_a_fragment_and_a_file_of_another_schema_are_named_errors():
    with pytest.raises(KsefConversionError, match="Faktura/Podmiot1: missing"):
        read_invoice(KSEF_FOP / "AdnotacjeTemplateTest/minimal.xml")
    with pytest.raises(KsefConversionError, match="not a KSeF FA\\(2\\) or FA\\(3\\) invoice"):
        read_invoice(FAKTURY / "fa_rr/podstawowa/FA_RR_1_Przyklad_1.xml")


# --- the command -----------------------------------------------------------------------


def test_command_converts_a_folder_and_fails_cleanly_on_a_template(tmp_path):
    folder = FAKTURY / "fa3/podstawowa"
    output = tmp_path / "ksef.xml"
    result = run_crm7("convert", "ksef", str(folder), "--output", str(output), env=local_env())

    assert result.returncode == 0, result.stderr
    expected = len(list(folder.glob("*.xml")))
    assert f"{output}: {expected} invoices from KSeF, source system ksef" in result.stdout
    contract_schema().validate(str(output))

    failed = tmp_path / "failed.xml"
    template = TEMPLATE / "invoice-template-fa-3.xml"
    result = run_crm7(
        "convert", "ksef", str(folder), str(template), "-o", str(failed), env=local_env()
    )
    assert result.returncode == 1
    assert f"{template}:" in result.stderr
    assert "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not failed.exists()


# --- loading the output ----------------------------------------------------------------


def test_converted_samples_load_with_no_rejects(conn, tmp_path):
    output = tmp_path / "ksef-invoices.xml"
    convert_files(valid_samples(), output, source_system="ksef")

    result = load_file(conn, output)

    assert result.status == "loaded", result.message
    assert (result.records_read, result.records_rejected) == (len(valid_samples()), 0)
    assert query(
        conn,
        "select contract, source_system, status, records_read, records_loaded, records_rejected "
        "from raw.loads",
    ) == [("invoices", "ksef", "loaded", 63, 63, 0)]
    assert query(conn, "select count(*) from raw.rejects") == [(0,)]
    assert query(
        conn,
        "select distinct source_record_id, currency, exchange_rate from raw.invoices "
        "where source_record_id = '5451824119/15/2024'",
    ) == [("5451824119/15/2024", "EUR", Decimal("4.3200"))]
