"""``crm7 convert ksef``: KSeF e-invoices into one file of crm7's ``invoices`` contract.

Reads KSeF e-invoices, one invoice per file, in the schemas FA(2)
(``http://crd.gov.pl/wzor/2023/06/29/12648/``) and FA(3)
(``http://crd.gov.pl/wzor/2025/06/25/13775/``), and writes their invoices, in input order,
into ONE file of the contract ``urn:crm7:contract:invoices:v1``
(``contracts/invoices/v1/invoices.xsd``), streaming: one invoice in memory at a time.

Input is hostile until read: it is read through loaders.xml_safety (entity resolution, DTD
loading and network off; a DOCTYPE refused before its internal subset is read). Elements are
matched by namespace URI, never by prefix (``n0:``, ``ns0:``, ``tns:`` or none all occur).
Whatever cannot be mapped (a missing required field, an unknown RodzajFaktury, a malformed
amount, date or NIP, a text too long for the contract) raises ``KsefConversionError``
naming the file, line and element; then no output is written at all.

Mapping (KSeF -> contract)
--------------------------

=====================================  =================================================
sourceRecordId                         Podmiot1 NIP + "/" + Fa/P_2 (the same invoice
                                       converted again gets the same id: an update)
number, kind                           Fa/P_2, Fa/RodzajFaktury (VAT, KOR, ZAL, ROZ, UPR,
                                       KOR_ZAL, KOR_ROZ; anything else is an error)
direction                              left out: sales
issueDate, saleDate                    Fa/P_1; Fa/P_6, else Fa/OkresFa/P_6_Do (the day the
                                       period's supply ended)
correctedInvoiceId / Number / Reason   Podmiot1 NIP + "/" + DaneFaKorygowanej/
                                       NrFaKorygowanej / NrFaKorygowanej /
                                       PrzyczynaKorekty. A correction of several invoices
                                       (DaneFaKorygowanej repeated) gets neither id nor
                                       number: crm7 reviews it (correction_without_reference)
seller                                 Podmiot1: DaneIdentyfikacyjne/NIP, Nazwa; Adres
                                       AdresL1 + ", " + AdresL2; Adres/KodKraju
buyer                                  Podmiot2: NIP -> nip; KodUE + NrVatUE -> euVatId;
                                       NrID -> otherId; BrakID -> no identifier. Without
                                       Nazwa (allowed by KSeF) the name is "(brak nazwy)".
                                       Country: Adres/KodKraju, else KodKraju of NrID, else
                                       KodUE (EL -> GR)
currency                               Fa/KodWaluty (always written, PLN too)
exchangeRate                           non-PLN only: the KursWaluty of the lines when every
                                       line that has one gives the same rate; with no line
                                       rate, Fa/KursWalutyZ (advance invoices). Otherwise
                                       left out, and crm7 sends the invoice to review
                                       with missing_exchange_rate (PLN amounts stay empty)
paymentForm                            Platnosc/FormaPlatnosci (1-7). PlatnoscInna +
                                       OpisPlatnosci (free text) is left out
dueDate                                the first Platnosc/TerminPlatnosci/Termin; a term
                                       given only as TerminOpis (n days from an event) is
                                       left out
bankAccount                            Platnosc/RachunekBankowyFaktora/NrRB when the invoice
                                       is factored (the buyer pays the factor), else
                                       Platnosc/RachunekBankowy/NrRB; of several, the one
                                       whose OpisRachunku is the invoice currency, else the
                                       first. Spaces and dashes dropped
totalNet / totalVat / totalGross       sum of the P_13_* present / sum of P_14_1..P_14_5
                                       present (both left out when no P_13_* is) / P_15.
                                       P_14_*W (VAT in PLN of a foreign-currency invoice)
                                       is not used: every amount is in the invoice currency
vatTotal (one per rate, in this order) P_13_1/P_14_1 -> 23 (22 when the lines say 22, or
                                       issued before 2011); P_13_2/P_14_2 -> 8 (7);
                                       P_13_3/P_14_3 -> 5 (3); P_13_4/P_14_4 -> 4 (taxi
                                       flat rate); P_13_5/P_14_5 (OSS, dział XII rozdz. 6a)
                                       -> the lines' P_12_XII rate (one total per rate,
                                       from the lines, when they differ; "OSS" when no line
                                       has one); P_13_6_1 -> 0 KR; P_13_6_2 -> 0 WDT;
                                       P_13_6_3 -> 0 EX; P_13_7 -> zw; P_13_8 -> np I;
                                       P_13_9 -> np II; P_13_10 -> oo; P_13_11 (margin
                                       scheme, art. 119/120) -> "marża". Fields without
                                       P_14 have VAT 0. A rate whose net and VAT are 0 and
                                       no line uses is left out
line (FaWiersz, in order)              productId Indeks; name P_7 (else Indeks, else "(brak
                                       nazwy)"); quantity P_8B; unit P_8A; unitNetPrice
                                       P_9A; vatRate P_12 (FA(2) "0" and "np" see below;
                                       else P_12_XII for OSS; else "marża" on a margin
                                       invoice; else the invoice's only per-rate total);
                                       net P_11; vat P_11Vat, else net x rate / 100
                                       rounded half up to the grosz for a numeric rate,
                                       0 otherwise; gross = net + vat. A gross-only line
                                       (P_11A, art. 106e ust. 7-8) takes VAT from the gross:
                                       vat = P_11Vat, else gross x rate / (100 + rate);
                                       net = gross - vat. With neither, net = P_8B x P_9A.
                                       A line with no amount at all (a simplified invoice)
                                       takes the per-rate total when it is the only line
                                       and there is one rate, else it is left out
StanPrzed = 1 (corrections only)       the line is the state BEFORE the correction: its
                                       quantity and amounts are negated, so that the
                                       lines of a correction add up to its difference
payment                                Zaplacono = 1 + DataZaplaty -> one payment of P_15;
                                       each ZaplataCzesciowa -> KwotaZaplatyCzesciowej on
                                       DataZaplatyCzesciowej. A payment of 0 or less (a
                                       paid correction that lowers the amount) is left out:
                                       the contract's payments are positive
=====================================  =================================================

FA(2) rate codes: FA(2) has "0" and "np" where FA(3) has "0 KR" / "0 WDT" / "0 EX" and
"np I" / "np II". FA(2)'s "np" is documented as any supply outside Poland, so it is not
simply "np I": a line's "0" becomes the code of the only P_13_6_x field the invoice fills
(P_13_6_1 0 KR, P_13_6_2 0 WDT, P_13_6_3 0 EX) and "np" that of the only one of P_13_8
(np I) and P_13_9 (np II). When the totals do not decide, the code stays "0" or "np" and
crm7 lists the invoice in review (unknown_vat_rate).

Neither "marża", "OSS" nor a foreign OSS rate is in crm7's vat_rate dictionary: such
invoices load and are listed in review with unknown_vat_rate.

Every fallback taken is reported as a note (``ConversionResult.notes``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from lxml import etree

from loaders.contracts import contract_for_namespace
from loaders.contracts.facets import FieldFacets, field_facets
from loaders.errors import FileRejected, KsefConversionError, SourceSystemError
from loaders.xml_safety import parse_document

FA2_NAMESPACE = "http://crd.gov.pl/wzor/2023/06/29/12648/"
FA3_NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
SCHEMA_NAMES = {FA2_NAMESPACE: "FA(2)", FA3_NAMESPACE: "FA(3)"}
CONTRACT_NAMESPACE = "urn:crm7:contract:invoices:v1"
DEFAULT_SOURCE_SYSTEM = "ksef"

PRO_FORMA = "PRO"  # a kind of the contract's that no KSeF invoice is
CORRECTION_KINDS = frozenset({"KOR", "KOR_ZAL", "KOR_ROZ"})
MARGIN_RATE = "marża"  # P_13_11: no VAT rate, the margin scheme (art. 119 and 120)
OSS_RATE = "OSS"  # P_13_5 when no line gives its P_12_XII rate
NO_NAME = "(brak nazwy)"
VAT_RATE_SINCE_2011 = date(2011, 1, 1)  # 22 -> 23, 7 -> 8, 3 -> 5

NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
NIP = re.compile(r"^[0-9]{10}$")  # KSeF's TNrNIP; the contract accepts more spellings
# A VAT rate in percent (P_12_XII): written as a code, so no contract field bounds it.
OSS_RATE_DIGITS = (2, 5)
AMOUNT = "invoice/totalGross"  # every amount of the contract has its type
GROSZ = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Party:
    name: str
    nip: str | None = None
    eu_vat_id: str | None = None
    other_id: str | None = None
    address: str | None = None
    country_code: str | None = None


@dataclass(frozen=True)
class VatTotal:
    vat_rate: str
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Line:
    name: str
    net: Decimal
    vat_rate: str
    vat: Decimal
    product_id: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    unit_net_price: Decimal | None = None

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class Payment:
    paid_on: date
    amount: Decimal


@dataclass
class Invoice:
    """One KSeF invoice, mapped onto the contract's <invoice>."""

    path: Path
    schema: str  # FA(2) or FA(3)
    source_record_id: str
    number: str
    kind: str
    issue_date: date
    seller: Party
    buyer: Party
    currency: str
    total_gross: Decimal
    sale_date: date | None = None
    corrected_invoice_id: str | None = None
    corrected_invoice_number: str | None = None
    correction_reason: str | None = None
    exchange_rate: Decimal | None = None
    payment_form: str | None = None
    due_date: date | None = None
    bank_account: str | None = None
    total_net: Decimal | None = None
    total_vat: Decimal | None = None
    vat_totals: list[VatTotal] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ConversionResult:
    output: Path
    invoices: int = 0
    notes: list[str] = field(default_factory=list)  # "file: what was assumed or left out"


# --- the contract's limits --------------------------------------------------------------


@cache
def contract_field(path: str) -> FieldFacets:
    """What the invoices contract allows in the field at ``path`` (``invoice/seller/name``):
    read from its XSD, so that a limit is written there only."""
    return field_facets(contract_for_namespace(CONTRACT_NAMESPACE), path)


def ksef_kinds() -> tuple[str, ...]:
    """RodzajFaktury values converted: the contract's invoice kinds but pro forma."""
    return tuple(kind for kind in contract_field("invoice/kind").enumeration if kind != PRO_FORMA)


def _max_length(path: str) -> int | None:
    return contract_field(path).max_length


def _digits(path: str) -> tuple[int, int]:
    """(fraction digits, total digits) the contract allows in the field at ``path``."""
    facets = contract_field(path)
    assert facets.fraction_digits is not None and facets.total_digits is not None, path
    return facets.fraction_digits, facets.total_digits


# --- reading ----------------------------------------------------------------------------


def parse_safely(path: Path) -> etree._Element:
    """The root of a KSeF file, parsed with entities, DTDs and network off.

    Raises HostileXmlError for a DOCTYPE (before its internal subset is read) and
    FileRejected for a file that is not well-formed or cannot be read.
    """
    try:
        return parse_document(path)
    except OSError as error:
        raise FileRejected(str(path), f"cannot read the file: {error.strerror}") from None


class _Source:
    """One parsed KSeF file: elements by namespace URI, errors naming file, line and element."""

    def __init__(self, path: Path, root: etree._Element) -> None:
        self.path = path
        self.root = root
        self.namespace = etree.QName(root).namespace or ""
        self.notes: list[str] = []

    # -- finding

    def find(self, parent: etree._Element, steps: str) -> etree._Element | None:
        node: etree._Element | None = parent
        for step in steps.split("/"):
            node = node.find(f"{{{self.namespace}}}{step}")
            if node is None:
                return None
        return node

    def findall(self, parent: etree._Element, name: str) -> list[etree._Element]:
        return parent.findall(f"{{{self.namespace}}}{name}")

    def at(self, parent: etree._Element, steps: str) -> etree._Element:
        """The element at steps, or its parent when it is absent (for error messages)."""
        found = self.find(parent, steps)
        return parent if found is None else found

    # -- errors

    def where(self, element: etree._Element) -> str:
        steps = []
        node: etree._Element | None = element
        while node is not None:
            name = etree.QName(node).localname
            parent = node.getparent()
            if parent is not None:
                same = [sibling for sibling in parent if sibling.tag == node.tag]
                if len(same) > 1:
                    name = f"{name}[{same.index(node) + 1}]"
            steps.append(name)
            node = parent
        return "/".join(reversed(steps))

    def error(self, element: etree._Element, message: str) -> KsefConversionError:
        return KsefConversionError(str(self.path), self.where(element), message, element.sourceline)

    def missing(self, parent: etree._Element, steps: str) -> KsefConversionError:
        return KsefConversionError(
            str(self.path), f"{self.where(parent)}/{steps}", "missing", parent.sourceline
        )

    def note(self, message: str) -> None:
        self.notes.append(message)

    # -- values

    def text(
        self,
        parent: etree._Element,
        steps: str,
        required: bool = False,
        max_length: int | None = None,
    ) -> str | None:
        """The element's text with white space collapsed (as xs:token); None if absent."""
        element = self.find(parent, steps)
        if element is None:
            if required:
                raise self.missing(parent, steps)
            return None
        return self.value_of(element, required, max_length)

    def value_of(
        self, element: etree._Element, required: bool = False, max_length: int | None = None
    ) -> str | None:
        if len(element):
            raise self.error(element, "expected text, found child elements")
        value = " ".join((element.text or "").split())
        if not value:
            if required:
                raise self.error(element, "empty")
            return None
        if max_length is not None and len(value) > max_length:
            raise self.error(
                element, f"{len(value)} characters; the contract allows at most {max_length}"
            )
        return value

    def number(
        self,
        parent: etree._Element,
        steps: str,
        places: int,
        total_digits: int,
        required: bool = False,
    ) -> Decimal | None:
        element = self.find(parent, steps)
        if element is None:
            if required:
                raise self.missing(parent, steps)
            return None
        value = self.value_of(element, required=True)
        assert value is not None
        if not NUMBER.match(value):
            raise self.error(element, f"not a number: {value!r}")
        fraction = value.partition(".")[2]
        if len(fraction) > places:
            raise self.error(element, f"{value}: more than {places} decimal places")
        number = Decimal(value)
        if _total_digits(number) > total_digits:
            raise self.error(element, f"{value}: more than {total_digits} digits")
        return number

    def amount(self, parent: etree._Element, steps: str, required: bool = False) -> Decimal | None:
        number = self.number(parent, steps, *_digits(AMOUNT), required)
        return None if number is None else number.quantize(GROSZ)

    def day(self, parent: etree._Element, steps: str, required: bool = False) -> date | None:
        element = self.find(parent, steps)
        if element is None:
            if required:
                raise self.missing(parent, steps)
            return None
        value = self.value_of(element, required=True)
        assert value is not None
        try:
            if not DATE.match(value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise self.error(element, f"not a date (YYYY-MM-DD): {value!r}") from None


def _total_digits(number: Decimal) -> int:
    _sign, digits, exponent = number.normalize().as_tuple()
    assert isinstance(exponent, int)
    return len(digits) + max(exponent, 0)


def _code(number: Decimal) -> str:
    """A rate as a code: 23, 19.5 (no trailing zeros, never an exponent)."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _numeric_rate(code: str) -> Decimal | None:
    return Decimal(code) if NUMBER.match(code) and not code.startswith("-") else None


def _round(value: Decimal) -> Decimal:
    return value.quantize(GROSZ, rounding=ROUND_HALF_UP)


def _negated(value: Decimal) -> Decimal:
    return -value if value else abs(value)  # never "-0.00"


def _fa2_zero_and_np(source: _Source, fa: etree._Element) -> dict[str, str]:
    """FA(2) line codes "0" and "np" as FA(3) codes, decided by the totals the invoice fills."""
    decided = {}
    for code, fields in (
        ("0", (("P_13_6_1", "0 KR"), ("P_13_6_2", "0 WDT"), ("P_13_6_3", "0 EX"))),
        ("np", (("P_13_8", "np I"), ("P_13_9", "np II"))),
    ):
        present = {name: source.amount(fa, name) for name, _ in fields}
        filled = [new for name, new in fields if present[name] is not None]
        non_zero = [new for name, new in fields if present[name]]
        if len(filled) == 1:
            decided[code] = filled[0]
        elif len(non_zero) == 1:
            decided[code] = non_zero[0]
    return decided


@dataclass(frozen=True)
class _RateField:
    net: str  # P_13_x
    vat: str | None  # P_14_x, if the rate has one
    codes: tuple[str, ...]  # the rate codes it stands for, current first


RATE_FIELDS = (
    _RateField("P_13_1", "P_14_1", ("23", "22")),
    _RateField("P_13_2", "P_14_2", ("8", "7")),
    _RateField("P_13_3", "P_14_3", ("5", "3")),
    _RateField("P_13_4", "P_14_4", ("4",)),
    _RateField("P_13_5", "P_14_5", ()),  # OSS: the lines' P_12_XII
    _RateField("P_13_6_1", None, ("0 KR",)),
    _RateField("P_13_6_2", None, ("0 WDT",)),
    _RateField("P_13_6_3", None, ("0 EX",)),
    _RateField("P_13_7", None, ("zw",)),
    _RateField("P_13_8", None, ("np I",)),
    _RateField("P_13_9", None, ("np II",)),
    _RateField("P_13_10", None, ("oo",)),
    _RateField("P_13_11", None, (MARGIN_RATE,)),
)


@dataclass
class _RawLine:
    """A FaWiersz read, before its rate and amounts are settled."""

    element: etree._Element
    before: bool  # StanPrzed = 1
    rate: str | None  # P_12 (FA(2) codes translated), P_12_XII or None
    oss: bool
    net: Decimal | None
    gross: Decimal | None  # P_11A
    vat: Decimal | None  # P_11Vat
    quantity: Decimal | None
    unit_net_price: Decimal | None
    exchange_rate: Decimal | None
    name: str | None
    product_id: str | None
    unit: str | None


def read_invoice(path: Path) -> Invoice:
    """Read one KSeF file into an Invoice; raises KsefConversionError if it cannot be mapped."""
    path = Path(path)
    root = parse_safely(path)
    name = etree.QName(root)
    if name.namespace not in SCHEMA_NAMES or name.localname != "Faktura":
        raise KsefConversionError(
            str(path),
            None,
            f"not a KSeF FA(2) or FA(3) invoice: root element <{name.localname}> in namespace "
            f"{name.namespace or '(none)'}; expected <Faktura> in {FA2_NAMESPACE} or {FA3_NAMESPACE}",
            root.sourceline,
        )
    source = _Source(path, root)
    fa = source.find(root, "Fa")
    if fa is None:
        raise source.missing(root, "Fa")

    kind_element = source.find(fa, "RodzajFaktury")
    if kind_element is None:
        raise source.missing(fa, "RodzajFaktury")
    kind = source.value_of(kind_element, required=True)
    if kind not in ksef_kinds():
        raise source.error(
            kind_element,
            f"unknown RodzajFaktury {kind!r}; expected one of {', '.join(ksef_kinds())}",
        )
    assert kind is not None

    seller = _seller(source, root)
    assert seller.nip is not None
    number = source.text(fa, "P_2", required=True, max_length=_max_length("invoice/number"))
    assert number is not None
    source_record_id = f"{seller.nip}/{number}"
    id_length = _max_length("invoice/sourceRecordId")
    if id_length is not None and len(source_record_id) > id_length:
        raise source.error(
            source.at(fa, "P_2"),
            f"NIP/number {source_record_id!r} is longer than the {id_length} characters of "
            "sourceRecordId",
        )
    issue_date = source.day(fa, "P_1", required=True)
    assert issue_date is not None
    currency = source.text(fa, "KodWaluty", required=True)
    if not contract_field("invoice/currency").accepts(currency or ""):
        raise source.error(source.at(fa, "KodWaluty"), f"not a currency code: {currency!r}")
    assert currency is not None
    total_gross = source.amount(fa, "P_15", required=True)
    assert total_gross is not None

    invoice = Invoice(
        path=path,
        schema=SCHEMA_NAMES[source.namespace],
        source_record_id=source_record_id,
        number=number,
        kind=kind,
        issue_date=issue_date,
        seller=seller,
        buyer=_buyer(source, root),
        currency=currency,
        total_gross=total_gross,
        sale_date=source.day(fa, "P_6") or source.day(fa, "OkresFa/P_6_Do"),
    )
    if kind in CORRECTION_KINDS:
        _correction(source, fa, invoice)

    raw_lines = [_raw_line(source, element, kind) for element in source.findall(fa, "FaWiersz")]
    if invoice.schema == "FA(2)":
        _translate_fa2_rates(source, fa, raw_lines)
    margin = source.text(fa, "Adnotacje/PMarzy/P_PMarzy") == "1"
    _totals(source, fa, invoice, raw_lines)
    invoice.lines = _lines(source, invoice, raw_lines, margin)
    invoice.exchange_rate = _exchange_rate(source, fa, invoice, raw_lines)
    _payment(source, fa, invoice)
    invoice.notes = source.notes
    return invoice


def _party_address(
    source: _Source, party: etree._Element, role: str
) -> tuple[str | None, str | None]:
    """(address, country) of the party written as ``role`` (seller or buyer)."""
    address = source.find(party, "Adres")
    if address is None:
        return None, None
    lines = [source.text(address, "AdresL1"), source.text(address, "AdresL2")]
    joined = ", ".join(line for line in lines if line) or None
    allowed = _max_length(f"invoice/{role}/address")
    if joined is not None and allowed is not None and len(joined) > allowed:
        raise source.error(
            address,
            f"AdresL1 + AdresL2 is {len(joined)} characters; the contract allows {allowed}",
        )
    return joined, _country(source, address, "KodKraju", role)


def _country(source: _Source, parent: etree._Element, steps: str, role: str) -> str | None:
    code = source.text(parent, steps)
    if code is not None and not contract_field(f"invoice/{role}/countryCode").accepts(code):
        raise source.error(source.at(parent, steps), f"not a country code: {code!r}")
    return code


def _seller(source: _Source, root: etree._Element) -> Party:
    party = source.find(root, "Podmiot1")
    if party is None:
        raise source.missing(root, "Podmiot1")
    ids = source.find(party, "DaneIdentyfikacyjne")
    if ids is None:
        raise source.missing(party, "DaneIdentyfikacyjne")
    nip = _nip(source, ids)
    if nip is None:
        raise source.missing(ids, "NIP")
    name = source.text(ids, "Nazwa", required=True, max_length=_max_length("invoice/seller/name"))
    assert name is not None
    address, country = _party_address(source, party, "seller")
    return Party(name=name, nip=nip, address=address, country_code=country)


def _nip(source: _Source, ids: etree._Element) -> str | None:
    nip = source.text(ids, "NIP")
    if nip is not None and not NIP.match(nip):
        raise source.error(source.at(ids, "NIP"), f"not a NIP (10 digits): {nip!r}")
    return nip


def _buyer(source: _Source, root: etree._Element) -> Party:
    party = source.find(root, "Podmiot2")
    if party is None:
        raise source.missing(root, "Podmiot2")
    ids = source.find(party, "DaneIdentyfikacyjne")
    if ids is None:
        raise source.missing(party, "DaneIdentyfikacyjne")
    name = source.text(ids, "Nazwa", max_length=_max_length("invoice/buyer/name"))
    if name is None:
        source.note(f'buyer (Podmiot2) has no Nazwa: named "{NO_NAME}"')
        name = NO_NAME
    address, country = _party_address(source, party, "buyer")
    nip = _nip(source, ids)
    eu_vat_id = other_id = None
    eu_country = source.text(ids, "KodUE")
    if eu_country is not None:
        number = source.text(ids, "NrVatUE", required=True) or ""
        eu_vat_id = (eu_country + number).replace(" ", "").upper()
        if not contract_field("invoice/buyer/euVatId").accepts(eu_vat_id):
            raise source.error(
                source.at(ids, "NrVatUE"),
                f"KodUE + NrVatUE {eu_vat_id!r} is not an EU VAT number",
            )
        country = country or {"EL": "GR"}.get(eu_country, eu_country)
    if source.find(ids, "NrID") is not None:
        other_id = source.text(ids, "NrID", max_length=_max_length("invoice/buyer/otherId"))
        country = country or _country(source, ids, "KodKraju", "buyer")
    return Party(
        name=name,
        nip=nip,
        eu_vat_id=eu_vat_id,
        other_id=other_id,
        address=address,
        country_code=country,
    )


def _correction(source: _Source, fa: etree._Element, invoice: Invoice) -> None:
    invoice.correction_reason = source.text(
        fa, "PrzyczynaKorekty", max_length=_max_length("invoice/correctionReason")
    )
    corrected = source.findall(fa, "DaneFaKorygowanej")
    if len(corrected) > 1:
        source.note(
            f"corrects {len(corrected)} invoices (DaneFaKorygowanej): no correctedInvoiceId, "
            "crm7 reviews it as correction_without_reference"
        )
        return
    if not corrected:
        source.note("correction without DaneFaKorygowanej: no correctedInvoiceId")
        return
    number = source.text(
        corrected[0],
        "NrFaKorygowanej",
        required=True,
        max_length=_max_length("invoice/correctedInvoiceNumber"),
    )
    corrected_id = f"{invoice.seller.nip}/{number}"
    id_length = _max_length("invoice/correctedInvoiceId")
    if id_length is not None and len(corrected_id) > id_length:
        raise source.error(
            source.at(corrected[0], "NrFaKorygowanej"),
            f"NIP/number is longer than the {id_length} characters of correctedInvoiceId",
        )
    invoice.corrected_invoice_number = number
    invoice.corrected_invoice_id = corrected_id


def _raw_line(source: _Source, element: etree._Element, kind: str) -> _RawLine:
    before = source.text(element, "StanPrzed") == "1"
    if before and kind not in CORRECTION_KINDS:
        source.note(f"{source.where(element)}: StanPrzed on a {kind} invoice ignored")
        before = False
    rate = source.text(element, "P_12")
    oss = False
    if rate is None:
        oss_rate = source.number(element, "P_12_XII", *OSS_RATE_DIGITS)
        if oss_rate is not None:
            rate, oss = _code(oss_rate), True
    return _RawLine(
        element=element,
        before=before,
        rate=rate,
        oss=oss,
        net=source.amount(element, "P_11"),
        gross=source.amount(element, "P_11A"),
        vat=source.amount(element, "P_11Vat"),
        quantity=source.number(element, "P_8B", *_digits("invoice/line/quantity")),
        unit_net_price=source.number(element, "P_9A", *_digits("invoice/line/unitNetPrice")),
        exchange_rate=source.number(element, "KursWaluty", *_digits("invoice/exchangeRate")),
        name=source.text(element, "P_7", max_length=_max_length("invoice/line/name")),
        product_id=source.text(element, "Indeks", max_length=_max_length("invoice/line/productId")),
        unit=source.text(element, "P_8A", max_length=_max_length("invoice/line/unit")),
    )


def _translate_fa2_rates(source: _Source, fa: etree._Element, raw_lines: list[_RawLine]) -> None:
    decided = _fa2_zero_and_np(source, fa)
    for raw in raw_lines:
        if raw.rate not in ("0", "np"):
            continue
        if raw.rate in decided:
            raw.rate = decided[raw.rate]
        else:
            source.note(
                f"{source.where(raw.element)}: FA(2) rate {raw.rate!r} kept: the totals do "
                "not tell which FA(3) code it is (crm7 reviews it as unknown_vat_rate)"
            )


def _totals(
    source: _Source, fa: etree._Element, invoice: Invoice, raw_lines: list[_RawLine]
) -> None:
    line_rates = {raw.rate for raw in raw_lines if raw.rate is not None}
    nets: list[Decimal] = []
    vats: list[Decimal] = []
    for rate_field in RATE_FIELDS:
        net = source.amount(fa, rate_field.net)
        if net is None:
            continue
        vat = (source.amount(fa, rate_field.vat) if rate_field.vat else None) or ZERO
        nets.append(net)
        if rate_field.vat:
            vats.append(vat)
        if rate_field.net == "P_13_5":
            invoice.vat_totals.extend(_oss_totals(source, raw_lines, net, vat))
            continue
        code = _rate_code(rate_field.codes, line_rates, invoice.issue_date)
        if net or vat or code in line_rates:
            invoice.vat_totals.append(VatTotal(code, net, vat))
    if nets:
        invoice.total_net = sum(nets, ZERO)
        invoice.total_vat = sum(vats, ZERO)


def _rate_code(codes: tuple[str, ...], line_rates: set[str], issued: date) -> str:
    used = [code for code in codes if code in line_rates]
    if len(used) == 1:
        return used[0]
    return codes[1] if len(codes) > 1 and issued < VAT_RATE_SINCE_2011 else codes[0]


def _oss_totals(
    source: _Source, raw_lines: list[_RawLine], net: Decimal, vat: Decimal
) -> list[VatTotal]:
    rates = list(dict.fromkeys(raw.rate for raw in raw_lines if raw.oss and raw.rate))
    if len(rates) == 1:
        return [VatTotal(rates[0], net, vat)]
    if not rates:
        if net or vat:
            source.note(f'P_13_5 (OSS) without a line rate (P_12_XII): rate "{OSS_RATE}"')
            return [VatTotal(OSS_RATE, net, vat)]
        return []
    source.note("P_13_5 (OSS) covers several rates: one total per rate, summed from the lines")
    totals = []
    for rate in rates:
        lines = [
            _settle(source, raw, rate, quiet=True)
            for raw in raw_lines
            if raw.oss and raw.rate == rate
        ]
        settled = [line for line in lines if line is not None]
        totals.append(
            VatTotal(
                rate,
                sum((line.net for line in settled), ZERO),
                sum((line.vat for line in settled), ZERO),
            )
        )
    return totals


def _lines(
    source: _Source, invoice: Invoice, raw_lines: list[_RawLine], margin: bool
) -> list[Line]:
    only_rate = invoice.vat_totals[0] if len(invoice.vat_totals) == 1 else None
    lines = []
    for raw in raw_lines:
        rate = raw.rate
        if rate is None and margin:
            rate = MARGIN_RATE
        if rate is None and only_rate is not None:
            rate = only_rate.vat_rate
            source.note(
                f"{source.where(raw.element)}: no P_12: rate {rate} of the invoice's only total"
            )
        if rate is None:
            source.note(f"{source.where(raw.element)}: no VAT rate (P_12): line left out")
            continue
        line = _settle(source, raw, rate)
        if line is None and len(raw_lines) == 1 and only_rate is not None:
            source.note(
                f"{source.where(raw.element)}: no amounts: the line is the invoice's total "
                f"for rate {only_rate.vat_rate}"
            )
            line = _line(raw, rate, only_rate.net, only_rate.vat)
        if line is None:
            source.note(f"{source.where(raw.element)}: no amounts (P_11, P_11A): line left out")
            continue
        lines.append(line)
    return lines


def _settle(source: _Source, raw: _RawLine, rate: str, quiet: bool = False) -> Line | None:
    """The line's net and VAT from what it gives, or None if it gives no amount."""
    numeric = _numeric_rate(rate)
    if raw.net is not None:
        net = raw.net
        vat = raw.vat if raw.vat is not None else _round(net * (numeric or 0) / 100)
    elif raw.gross is not None:
        vat = raw.vat
        if vat is None:
            vat = _round(raw.gross * numeric / (100 + numeric)) if numeric else ZERO
        net = raw.gross - vat
    elif raw.quantity is not None and raw.unit_net_price is not None:
        net = _round(raw.quantity * raw.unit_net_price)
        vat = raw.vat if raw.vat is not None else _round(net * (numeric or 0) / 100)
        if not quiet:
            source.note(f"{source.where(raw.element)}: no P_11: net = P_8B x P_9A = {net}")
    else:
        return None
    return _line(raw, rate, net, vat)


def _line(raw: _RawLine, rate: str, net: Decimal, vat: Decimal) -> Line:
    quantity = raw.quantity
    if raw.before:  # the state before the correction: a difference is after minus before
        net, vat = _negated(net), _negated(vat)
        quantity = None if quantity is None else _negated(quantity)
    return Line(
        name=raw.name or raw.product_id or NO_NAME,
        net=net,
        vat_rate=rate,
        vat=vat,
        product_id=raw.product_id,
        quantity=quantity,
        unit=raw.unit,
        unit_net_price=raw.unit_net_price,
    )


def _exchange_rate(
    source: _Source, fa: etree._Element, invoice: Invoice, raw_lines: list[_RawLine]
) -> Decimal | None:
    if invoice.currency == "PLN":
        return None
    rates = list(
        dict.fromkeys(
            raw.exchange_rate for raw in raw_lines if raw.exchange_rate and raw.exchange_rate > 0
        )
    )
    if not rates:
        advance_rate = source.number(fa, "KursWalutyZ", *_digits("invoice/exchangeRate"))
        if advance_rate is not None and advance_rate > 0:
            rates = [advance_rate]
    if len(rates) == 1:
        return rates[0]
    reason = "no KursWaluty" if not rates else f"lines disagree ({', '.join(map(str, rates))})"
    source.note(
        f"{invoice.currency} invoice: exchangeRate left out, {reason}; crm7 reviews it as "
        "missing_exchange_rate"
    )
    return None


def _payment(source: _Source, fa: etree._Element, invoice: Invoice) -> None:
    payment = source.find(fa, "Platnosc")
    if payment is None:
        return
    form = source.text(payment, "FormaPlatnosci", max_length=_max_length("invoice/paymentForm"))
    invoice.payment_form = form
    if form is None and source.text(payment, "OpisPlatnosci"):
        source.note("PlatnoscInna/OpisPlatnosci (free text) not mapped to paymentForm")
    for term in source.findall(payment, "TerminPlatnosci"):
        due = source.day(term, "Termin")
        if due is not None:
            invoice.due_date = due
            break
    invoice.bank_account = _bank_account(source, payment, invoice.currency)

    if source.text(payment, "Zaplacono") == "1":
        paid_on = source.day(payment, "DataZaplaty", required=True)
        assert paid_on is not None
        _add_payment(source, invoice, paid_on, invoice.total_gross, "Zaplacono")
    for part in source.findall(payment, "ZaplataCzesciowa"):
        amount = source.amount(part, "KwotaZaplatyCzesciowej", required=True)
        paid_on = source.day(part, "DataZaplatyCzesciowej", required=True)
        assert amount is not None and paid_on is not None
        _add_payment(source, invoice, paid_on, amount, source.where(part))


def _add_payment(source: _Source, invoice: Invoice, paid_on: date, amount: Decimal, what: str):
    if amount > 0:
        invoice.payments.append(Payment(paid_on, amount))
    else:
        source.note(f"{what}: payment of {amount} left out (contract payments are positive)")


def _bank_account(source: _Source, payment: etree._Element, currency: str) -> str | None:
    accounts = source.findall(payment, "RachunekBankowyFaktora") or source.findall(
        payment, "RachunekBankowy"
    )
    if not accounts:
        return None
    chosen = next(
        (
            account
            for account in accounts
            if (source.text(account, "OpisRachunku") or "").upper() == currency
        ),
        accounts[0],
    )
    number = source.text(chosen, "NrRB", required=True) or ""
    number = re.sub(r"[\s-]", "", number).upper()
    account = contract_field("invoice/bankAccount")
    if not account.accepts(number):
        raise source.error(
            source.at(chosen, "NrRB"),
            f"not a bank account number ({' and '.join(account.patterns)}): {number!r}",
        )
    return number


# --- writing ----------------------------------------------------------------------------


def _add(parent: etree._Element, name: str, value: object) -> None:
    if value is None:
        return
    child = etree.SubElement(parent, f"{{{CONTRACT_NAMESPACE}}}{name}")
    if isinstance(value, Decimal):
        child.text = format(value, "f")
    else:
        child.text = str(value)


def _add_party(parent: etree._Element, name: str, party: Party) -> None:
    element = etree.SubElement(parent, f"{{{CONTRACT_NAMESPACE}}}{name}")
    _add(element, "nip", party.nip)
    _add(element, "euVatId", party.eu_vat_id)
    _add(element, "otherId", party.other_id)
    _add(element, "name", party.name)
    _add(element, "address", party.address)
    _add(element, "countryCode", party.country_code)


def invoice_element(invoice: Invoice) -> etree._Element:
    """The contract's <invoice> for one Invoice, children in the XSD's order."""
    element = etree.Element(f"{{{CONTRACT_NAMESPACE}}}invoice", nsmap={None: CONTRACT_NAMESPACE})
    _add(element, "sourceRecordId", invoice.source_record_id)
    _add(element, "number", invoice.number)
    _add(element, "kind", invoice.kind)
    _add(element, "issueDate", invoice.issue_date)
    _add(element, "saleDate", invoice.sale_date)
    _add(element, "correctedInvoiceId", invoice.corrected_invoice_id)
    _add(element, "correctedInvoiceNumber", invoice.corrected_invoice_number)
    _add(element, "correctionReason", invoice.correction_reason)
    _add_party(element, "seller", invoice.seller)
    _add_party(element, "buyer", invoice.buyer)
    _add(element, "currency", invoice.currency)
    _add(element, "exchangeRate", invoice.exchange_rate)
    _add(element, "paymentForm", invoice.payment_form)
    _add(element, "dueDate", invoice.due_date)
    _add(element, "bankAccount", invoice.bank_account)
    _add(element, "totalNet", invoice.total_net)
    _add(element, "totalVat", invoice.total_vat)
    _add(element, "totalGross", invoice.total_gross)
    for total in invoice.vat_totals:
        child = etree.SubElement(element, f"{{{CONTRACT_NAMESPACE}}}vatTotal")
        _add(child, "vatRate", total.vat_rate)
        _add(child, "net", total.net)
        _add(child, "vat", total.vat)
    for line in invoice.lines:
        child = etree.SubElement(element, f"{{{CONTRACT_NAMESPACE}}}line")
        _add(child, "productId", line.product_id)
        _add(child, "name", line.name)
        _add(child, "quantity", line.quantity)
        _add(child, "unit", line.unit)
        _add(child, "unitNetPrice", line.unit_net_price)
        _add(child, "net", line.net)
        _add(child, "vatRate", line.vat_rate)
        _add(child, "vat", line.vat)
        _add(child, "gross", line.gross)
    for payment in invoice.payments:
        child = etree.SubElement(element, f"{{{CONTRACT_NAMESPACE}}}payment")
        _add(child, "date", payment.paid_on)
        _add(child, "amount", payment.amount)
    return element


def _write(xf, element: etree._Element, depth: int = 1) -> None:
    """Stream one element through the incremental writer, indented, in the root's namespace.

    (``xf.write(element)`` would declare the namespace again on every invoice.)
    """
    with xf.element(element.tag):
        if len(element):
            for child in element:
                xf.write("\n" + "  " * (depth + 1))
                _write(xf, child, depth + 1)
            xf.write("\n" + "  " * depth)
        elif element.text is not None:
            xf.write(element.text)


def input_files(names: Iterable[str | Path]) -> list[Path]:
    """Files to convert: each file as given, each folder's .xml files (any case) by name."""
    files: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                (item for item in path.iterdir() if item.suffix.lower() == ".xml"),
                key=lambda item: item.name,
            )
            if not found:
                raise KsefConversionError(str(path), None, "the folder holds no .xml file")
            files.extend(item for item in found if item.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise KsefConversionError(str(path), None, "no such file or folder")
    return files


def convert_files(
    paths: Sequence[str | Path],
    output: str | Path,
    source_system: str = DEFAULT_SOURCE_SYSTEM,
) -> ConversionResult:
    """Convert KSeF files (or folders of them) into one invoices-contract file.

    Invoices are written as they are read, in input order. The output appears only when
    every file converted: it is written beside its final name and renamed at the end, so
    a failure (KsefConversionError, HostileXmlError, FileRejected) leaves no partial file.
    """
    if not contract_field("invoices/@sourceSystem").accepts(source_system):
        raise SourceSystemError(
            f"--source-system {source_system!r}: use lowercase letters, digits and "
            "underscores (e.g. ksef, erp)"
        )
    files = input_files(paths)
    output = Path(output)
    if output.resolve() in {path.resolve() for path in files}:
        raise KsefConversionError(str(output), None, "the output is one of the input files")
    result = ConversionResult(output)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        handle = open(partial, "wb")  # noqa: SIM115 (closed by the with below)
    except OSError as error:  # name the file the user asked for, not the partial one
        raise OSError(error.errno, error.strerror, str(output)) from None
    try:
        with handle:
            handle.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
            with etree.xmlfile(handle, encoding="UTF-8") as xf:
                root = f"{{{CONTRACT_NAMESPACE}}}invoices"
                with xf.element(
                    root, {"sourceSystem": source_system}, nsmap={None: CONTRACT_NAMESPACE}
                ):
                    for path in files:
                        invoice = read_invoice(path)
                        xf.write("\n  ")
                        _write(xf, invoice_element(invoice))
                        result.invoices += 1
                        result.notes.extend(f"{path}: {note}" for note in invoice.notes)
                    xf.write("\n")
            handle.write(b"\n")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return result
