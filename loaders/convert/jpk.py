"""``crm7 convert jpk``: JPK files (V7M/V7K, FA, MAG) into contract files.

The structure is picked by the root's namespace (never by a prefix or a file name):

==================================================  =============  ====================
namespace                                           structure      writes
==================================================  =============  ====================
http://crd.gov.pl/wzor/2020/05/08/9393/             JPK_V7M (1)    contractors,
http://crd.gov.pl/wzor/2021/07/08/07081/            JPK_V7M (2)    invoices (headers
http://crd.gov.pl/wzor/2020/05/08/9394/             JPK_V7K (1)    with per-rate totals,
http://crd.gov.pl/wzor/2021/07/08/07082/            JPK_V7K (2)    no lines)
http://jpk.mf.gov.pl/wzor/2019/03/21/03211/         JPK_FA (2)     contractors, invoices
http://jpk.mf.gov.pl/wzor/2019/09/27/09271/         JPK_FA (3)     with lines
http://jpk.mf.gov.pl/wzor/2016/03/09/03093/         JPK_MAG (1)    warehouse documents
==================================================  =============  ====================

Every file is streamed (``loaders.xml_safety.iterparse_safely``: the DOCTYPE guard, entity
resolution, DTD loading and network off): one register row, invoice or document in memory
at a time. JPK_FA lists its invoice lines (FakturaWiersz) after all invoices and JPK_MAG a
document's lines after its headers, so a first pass spills the lines into a temporary
SQLite file on disk, read back per document in the second pass: memory stays flat.

Mapping (JPK_V7 -> contracts)
-----------------------------

=====================================  =================================================
SprzedazWiersz                         one sales invoice: seller the taxpayer (Podmiot1
                                       NIP and PelnaNazwa, or ImiePierwsze + Nazwisko),
                                       buyer the counterparty
ZakupWiersz                            one purchase invoice (direction purchase): seller
                                       the counterparty, buyer the taxpayer
NrKontrahenta / NrDostawcy             10 digits (dashes, spaces, a PL prefix allowed):
                                       nip; with KodKrajuNadaniaTIN of another EU country:
                                       euVatId; "brak" or empty: no identifier; anything
                                       else: otherId
NazwaKontrahenta / NazwaDostawcy       name (and the contractor's name)
KodKrajuNadaniaTIN                     countryCode (PL when absent)
DowodSprzedazy / DowodZakupu           number
DataWystawienia / DataZakupu           issueDate; DataSprzedazy -> saleDate
                                       (DataWplywu, the day a purchase was received, is
                                       left out)
sourceRecordId                         sales: taxpayer NIP + "/" + number (as crm7 convert
                                       ksef and JPK_FA write it, so the same invoice from
                                       KSeF or JPK_FA is the same record); purchases:
                                       counterparty id + "/" + number. A number repeated
                                       in one file gets "#2", "#3" ... in order
kind                                   VAT; KOR when the row's gross is negative (a
                                       correction; JPK does not name the corrected
                                       invoice, so crm7 reviews it)
TypDokumentu / DokumentZakupu          RO, WEW, FP, MK, VAT_RR: not in the invoices
                                       contract, noted once per file
K_19/K_20 -> 23, K_17/K_18 -> 8,       vatTotal (net, VAT) per rate, in this order
K_15/K_16 -> 5, K_13 -> 0 KR,          (22 / 7 for periods before 2011 do not occur in
K_14 -> 0 KR, K_21 -> 0 WDT,           JPK_V7, which starts in 2020). Fields 0 or absent
K_22 -> 0 EX, K_10 -> zw,              are left out. K_23..K_36 (acquisitions, imports,
K_11 -> np I, K_12 -> np II,           reverse charge, flat-rate and special entries) are
K_31/K_32 -> oo                        VAT the taxpayer settles, not amounts of the
                                       invoice, and K_31/K_32 the buyer's reverse charge:
                                       K_31/K_32 -> oo, the others -> noted, left out
K_40/K_41, K_42/K_43 (purchases)       one vatTotal "23" is NOT assumed: a purchase row
                                       gives net and deductible VAT without a rate, so
                                       they become totalNet / totalVat only; K_44..K_47
                                       (corrections of deducted VAT) noted, left out
totalNet / totalVat / totalGross       the sums of the mapped nets / VATs / net + VAT
counterparty -> contractors            one contractor per distinct counterparty id (its
                                       NIP digits, else country + number, else "name:" +
                                       the name): sourceRecordId, name, nip; the output's
                                       source system (default jpk) marks it as coming
                                       from a VAT register
=====================================  =================================================

Mapping (JPK_FA -> contracts)
-----------------------------

P_2A number; P_1 issueDate; P_6 saleDate; KodWaluty currency; P_3C/P_3D/P_4A+P_4B seller
name / address / NIP; P_3A/P_3B/P_5A+P_5B buyer (no P_3A: "(brak nazwy)"); P_4B/P_5B with a
non-PL prefix: euVatId. RodzajFaktury VAT -> VAT, KOREKTA -> KOR (NrFaKorygowanej ->
correctedInvoiceNumber and the corrected invoice's id, PrzyczynaKorekty -> reason),
ZAL -> ZAL. P_13_1/P_14_1 -> 23, P_13_2/P_14_2 -> 8, P_13_3/P_14_3 -> 5, P_13_4/P_14_4 -> 4,
P_13_5(/P_14_5) -> np I, P_13_6 -> 0 KR, P_13_7 -> zw. P_15 totalGross. FakturaWiersz by
P_2B: P_7 name, P_8A unit, P_8B quantity, P_9A unitNetPrice, P_11 net (else P_11A gross, VAT
taken out at the rate; else quantity x price), P_12 rate ("0" -> 0 KR, "np" -> np I). Each
buyer and seller but the taxpayer becomes a contractor (address on one line, in the
contractor's name only). Lines of a number that several invoices share go to the first.

Mapping (JPK_MAG -> warehouse documents)
----------------------------------------

PZ, WZ, RW and MM: Numer<T> number and the document's id (taxpayer NIP + "/" + type + "/" +
number; a repeated number gets "#2" ...), Data<T> issueDate, DataOtrzymaniaPZ /
DataWydaniaWZ / DataWydaniaRW / DataWydaniaMM operationDate, Magazyn warehouse (MM: SkadMM
when given, else Magazyn; DokadMM targetWarehouse), NumerFa<T> relatedInvoiceNumber, Wartosc<T>
totalValue; lines <T>Wiersz by Numer2<T>: KodTowaru<T> productId (else the name),
Ilosc...<T> quantity, JednostkaMiary<T> unit, CenaJedn<T> unitPrice, WartoscPozycji<T>
value. The counterparty is given by name only (Dostawca, OdbiorcaWZ): left out, noted.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from loaders.convert.output import CONTRACTORS, INVOICES, WAREHOUSE_DOCUMENTS, Outputs, Target
from loaders.convert.output import contract_field as target_field
from loaders.errors import FileRejected, JpkConversionError, SourceSystemError
from loaders.identifiers import normalize_nip
from loaders.xml_safety import iterparse_safely, read_root_start, release

DEFAULT_SOURCE_SYSTEM = "jpk"
V7 = {
    "http://crd.gov.pl/wzor/2020/05/08/9393/": "JPK_V7M (1)",
    "http://crd.gov.pl/wzor/2021/07/08/07081/": "JPK_V7M (2)",
    "http://crd.gov.pl/wzor/2020/05/08/9394/": "JPK_V7K (1)",
    "http://crd.gov.pl/wzor/2021/07/08/07082/": "JPK_V7K (2)",
}
FA = {
    "http://jpk.mf.gov.pl/wzor/2019/03/21/03211/": "JPK_FA (2)",
    "http://jpk.mf.gov.pl/wzor/2019/09/27/09271/": "JPK_FA (3)",
}
MAG = {"http://jpk.mf.gov.pl/wzor/2016/03/09/03093/": "JPK_MAG (1)"}
STRUCTURES = {**V7, **FA, **MAG}

NO_NAME = "(brak nazwy)"
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "XI",
    ]
)
NIP_SPELLING = re.compile(r"^(PL)?[0-9]{10}$")
ZERO = Decimal("0.00")

# (net field, VAT field or None, rate code), sales: in the order written
V7_SALES_RATES = (
    ("K_19", "K_20", "23"),
    ("K_17", "K_18", "8"),
    ("K_15", "K_16", "5"),
    ("K_13", None, "0 KR"),
    ("K_14", None, "0 KR"),
    ("K_21", None, "0 WDT"),
    ("K_22", None, "0 EX"),
    ("K_10", None, "zw"),
    ("K_11", None, "np I"),
    ("K_12", None, "np II"),
    ("K_31", "K_32", "oo"),
)
V7_SALES_SETTLED = tuple(f"K_{n}" for n in range(23, 37) if n not in (31, 32))
V7_PURCHASE_AMOUNTS = (("K_40", "K_41"), ("K_42", "K_43"))
V7_PURCHASE_CORRECTIONS = ("K_44", "K_45", "K_46", "K_47")
FA_RATES = (
    ("P_13_1", "P_14_1", "23"),
    ("P_13_2", "P_14_2", "8"),
    ("P_13_3", "P_14_3", "5"),
    ("P_13_4", "P_14_4", "4"),
    ("P_13_5", "P_14_5", "np I"),
    ("P_13_6", None, "0 KR"),
    ("P_13_7", None, "zw"),
)
FA_LINE_RATES = {"0": "0 KR", "np": "np I"}
FA_KINDS = {"VAT": "VAT", "KOREKTA": "KOR", "ZAL": "ZAL"}
MAG_TYPES = ("PZ", "WZ", "RW", "MM")
MAG_OPERATION_DATES = {
    "PZ": "DataOtrzymaniaPZ",
    "WZ": "DataWydaniaWZ",
    "RW": "DataWydaniaRW",
    "MM": "DataWydaniaMM",
}
MAG_QUANTITIES = {
    "PZ": "IloscPrzyjetaPZ",
    "WZ": "IloscWydanaWZ",
    "RW": "IloscWydanaRW",
    "MM": "IloscWydanaMM",
}


@dataclass
class ConversionResult:
    output: Path
    written: dict[str, int] = field(default_factory=dict)  # file name -> records
    structures: dict[str, int] = field(default_factory=dict)  # JPK structure -> files
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Counterparty:
    key: str  # the contractor's sourceRecordId
    name: str
    nip: str | None = None
    eu_vat_id: str | None = None
    other_id: str | None = None
    country: str | None = None
    address: str | None = None


class _File:
    """One JPK file being converted: its namespace, notes and named errors."""

    def __init__(self, path: Path, namespace: str) -> None:
        self.path = path
        self.namespace = namespace
        self.structure = STRUCTURES[namespace]
        self.notes: list[str] = []
        self._noted: set[str] = set()
        self.seen_ids: dict[str, int] = {}
        self._parent: etree._Element | None = None
        self._children: dict[str, etree._Element] = {}

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"

    def note_once(self, key: str, message: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.notes.append(f"{self.path}: {message}")

    def error(self, element: etree._Element | None, name: str, message: str):
        line = None if element is None else element.sourceline
        return JpkConversionError(str(self.path), name, message, line)

    def child(self, parent: etree._Element, name: str) -> etree._Element | None:
        """The first child named ``name`` (local name: JPK mixes its own and the etd:
        namespace), from a map of the parent's children built once per parent."""
        if parent is not self._parent:
            children: dict[str, etree._Element] = {}
            for child in parent:
                if isinstance(child.tag, str):
                    children.setdefault(child.tag.rpartition("}")[2], child)
            self._parent, self._children = parent, children
        return self._children.get(name)

    def text(self, parent: etree._Element, name: str, required: bool = False) -> str | None:
        found = self.child(parent, name)
        value = None if found is None or found.text is None else " ".join(found.text.split())
        if not value:
            if required:
                raise self.error(parent, name, f"required element {name} is missing or empty")
            return None
        return value

    def bounded(self, target: Target, path: str, parent, name: str, required=False):
        value = self.text(parent, name, required)
        limit = target_field(target, path).max_length
        if value is not None and limit is not None and len(value) > limit:
            raise self.error(
                self.child(parent, name),
                name,
                f"{len(value)} characters, the contract's {path} takes at most {limit}",
            )
        return value

    def amount(self, parent: etree._Element, name: str) -> Decimal | None:
        value = self.text(parent, name)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.error(self.child(parent, name), name, f"not an amount: {value!r}") from None
        if not number.is_finite() or number != number.quantize(Decimal("0.01")):
            raise self.error(
                self.child(parent, name), name, f"not an amount with at most 2 decimals: {value!r}"
            )
        return number.quantize(Decimal("0.01"))

    def number(self, parent: etree._Element, name: str, places: int) -> Decimal | None:
        value = self.text(parent, name)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.error(self.child(parent, name), name, f"not a number: {value!r}") from None
        if not number.is_finite() or number != round(number, places):
            raise self.error(
                self.child(parent, name), name, f"more than {places} decimals: {value!r}"
            )
        return number

    def day(self, parent: etree._Element, name: str, required: bool = False) -> str | None:
        value = self.text(parent, name, required)
        if value is not None and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise self.error(self.child(parent, name), name, f"not a date yyyy-mm-dd: {value!r}")
        return value

    def unique_id(self, key: str) -> str:
        """``key``, or ``key#2``, ``#3`` ... when the file already had it."""
        count = self.seen_ids.get(key, 0) + 1
        self.seen_ids[key] = count
        if count == 1:
            return key
        self.note_once("repeated", f"document numbers repeat in the file: ids {key}#{count} ...")
        return f"{key}#{count}"

    def record_id(self, element: etree._Element, name: str, key: str) -> str:
        limit = target_field(INVOICES, "invoice/sourceRecordId").max_length or 100
        if len(key) + 4 > limit:
            raise self.error(
                element, name, f"the record id {key!r} would exceed {limit} characters"
            )
        return key


def structure_of(path: Path) -> str:
    """The namespace of a JPK file, read from its root start tag (the DOCTYPE guard)."""
    try:
        root = read_root_start(path, limit=None)
    except OSError as error:
        raise FileRejected(str(path), f"cannot read the file: {error.strerror}") from None
    qname = etree.QName(root.tag)
    if qname.localname != "JPK" or qname.namespace not in STRUCTURES:
        known = ", ".join(sorted(set(STRUCTURES.values())))
        raise JpkConversionError(
            str(path),
            qname.localname,
            f"not a JPK structure crm7 converts (namespace {qname.namespace!r}); it reads {known}",
            1,
        )
    return qname.namespace


def _taxpayer(jpk: _File, podmiot: etree._Element) -> Counterparty:
    ids = jpk.child(podmiot, "IdentyfikatorPodmiotu")
    holder = ids
    if holder is None:
        holder = jpk.child(podmiot, "OsobaNiefizyczna")
    if holder is None:
        holder = jpk.child(podmiot, "OsobaFizyczna")
    if holder is None:
        raise jpk.error(podmiot, "Podmiot1", "no IdentyfikatorPodmiotu / Osoba...")
    nip = jpk.text(holder, "NIP", required=True)
    name = jpk.text(holder, "PelnaNazwa")
    if name is None:
        name = " ".join(
            part
            for part in (jpk.text(holder, "ImiePierwsze"), jpk.text(holder, "Nazwisko"))
            if part
        )
    return Counterparty(key=nip or "", name=name or NO_NAME, nip=nip)


def _party(jpk: _File, number: str | None, name: str | None, country: str | None) -> Counterparty:
    """A counterparty from a register's number, name and TIN country."""
    country = (country or "").upper() or None
    compact = re.sub(r"[\s\-.]", "", number or "").upper()
    name = name or NO_NAME
    if compact in ("", "BRAK", "BRAKNIP", "BRAK_NIP"):
        key = f"name:{' '.join(name.lower().split())}"[:100]
        return Counterparty(key=key, name=name, country=country)
    if NIP_SPELLING.match(compact) and country in (None, "PL"):
        digits = normalize_nip(compact) or compact
        return Counterparty(key=digits, name=name, nip=digits, country=country)
    if country in EU_COUNTRIES and country != "PL":
        number_part = compact[2:] if compact.startswith(country) else compact
        eu = f"{country}{number_part}"
        if target_field(INVOICES, "invoice/buyer/euVatId").accepts(eu):
            return Counterparty(key=eu, name=name, eu_vat_id=eu, country=country)
    prefix = country or ""
    other = compact if compact.startswith(prefix) else f"{prefix}{compact}"
    return Counterparty(key=other[:100], name=name, other_id=compact[:100], country=country)


def _party_items(party: Counterparty) -> list:
    return [
        ("nip", party.nip),
        ("euVatId", party.eu_vat_id),
        ("otherId", party.other_id),
        ("name", party.name[:500]),
        ("address", party.address[:500] if party.address else None),
        ("countryCode", "GR" if party.country == "EL" else party.country),
    ]


class _Contractors:
    """Counterparties written once each (memory: the distinct counterparty ids)."""

    def __init__(self, outputs: Outputs) -> None:
        self.outputs = outputs
        self.seen: set[str] = set()

    def add(self, party: Counterparty, taxpayer_nip: str | None) -> None:
        if party.key in self.seen or (party.nip and party.nip == normalize_nip(taxpayer_nip)):
            return
        self.seen.add(party.key)
        self.outputs.file(CONTRACTORS).write(
            [
                ("sourceRecordId", party.key),
                ("name", party.name[:500]),
                ("nip", party.nip),
            ]
        )


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


# --- JPK_V7 -----------------------------------------------------------------------------


def _v7(jpk: _File, outputs: Outputs, contractors: _Contractors) -> None:
    taxpayer: Counterparty | None = None
    sales, purchase = jpk.tag("SprzedazWiersz"), jpk.tag("ZakupWiersz")
    podmiot = jpk.tag("Podmiot1")
    for element in iterparse_safely(jpk.path, (podmiot, sales, purchase)):
        if element.tag == podmiot:
            taxpayer = _taxpayer(jpk, element)
            release(element)
            continue
        if taxpayer is None:
            raise jpk.error(element, "Podmiot1", "the register comes before Podmiot1")
        if element.tag == sales:
            items = _v7_sales(jpk, element, taxpayer, contractors)
        else:
            items = _v7_purchase(jpk, element, taxpayer, contractors)
        outputs.file(INVOICES).write(items)
        release(element)


def _v7_party(jpk: _File, row: etree._Element, number: str, name: str) -> Counterparty:
    return _party(
        jpk,
        jpk.text(row, number),
        jpk.bounded(CONTRACTORS, "contractor/name", row, name),
        jpk.text(row, "KodKrajuNadaniaTIN"),
    )


def _kind(gross: Decimal) -> str:
    return "KOR" if gross < 0 else "VAT"


def _v7_sales(jpk: _File, row, taxpayer: Counterparty, contractors: _Contractors) -> list:
    number = jpk.bounded(INVOICES, "invoice/number", row, "DowodSprzedazy", required=True)
    issued = jpk.day(row, "DataWystawienia", required=True)
    buyer = _v7_party(jpk, row, "NrKontrahenta", "NazwaKontrahenta")
    contractors.add(buyer, taxpayer.nip)
    totals = []
    for net_field, vat_field, code in V7_SALES_RATES:
        net = jpk.amount(row, net_field)
        vat = jpk.amount(row, vat_field) if vat_field else None
        if net or vat:
            totals.append((code, net or ZERO, vat or ZERO))
    for name in V7_SALES_SETTLED:
        if jpk.amount(row, name):
            jpk.note_once(
                "settled",
                "K_23..K_30, K_33..K_36 (VAT the taxpayer settles, not amounts of "
                "the invoice) left out",
            )
    _document_type(jpk, row, "TypDokumentu")
    net, vat = _sum(t[1] for t in totals), _sum(t[2] for t in totals)
    key = jpk.record_id(row, "DowodSprzedazy", f"{taxpayer.nip}/{number}")
    return [
        ("sourceRecordId", jpk.unique_id(key)),
        ("number", number),
        ("kind", _kind(net + vat)),
        ("direction", "sales"),
        ("issueDate", issued),
        ("saleDate", jpk.day(row, "DataSprzedazy")),
        ("seller", _party_items(taxpayer)),
        ("buyer", _party_items(buyer)),
        ("totalNet", net),
        ("totalVat", vat),
        ("totalGross", net + vat),
        *[("vatTotal", [("vatRate", c), ("net", n), ("vat", v)]) for c, n, v in totals],
    ]


def _v7_purchase(jpk: _File, row, taxpayer: Counterparty, contractors: _Contractors) -> list:
    number = jpk.bounded(INVOICES, "invoice/number", row, "DowodZakupu", required=True)
    issued = jpk.day(row, "DataZakupu", required=True)
    seller = _v7_party(jpk, row, "NrDostawcy", "NazwaDostawcy")
    contractors.add(seller, taxpayer.nip)
    nets, vats = [], []
    for net_field, vat_field in V7_PURCHASE_AMOUNTS:
        nets.append(jpk.amount(row, net_field) or ZERO)
        vats.append(jpk.amount(row, vat_field) or ZERO)
    for name in V7_PURCHASE_CORRECTIONS:
        if jpk.amount(row, name):
            jpk.note_once("corrections", "K_44..K_47 (corrections of deducted VAT) left out")
    if jpk.text(row, "DataWplywu"):
        jpk.note_once("DataWplywu", "DataWplywu (the day a purchase came in) left out")
    _document_type(jpk, row, "DokumentZakupu")
    net, vat = _sum(nets), _sum(vats)
    key = jpk.record_id(row, "DowodZakupu", f"{seller.key}/{number}")
    return [
        ("sourceRecordId", jpk.unique_id(key)),
        ("number", number),
        ("kind", _kind(net + vat)),
        ("direction", "purchase"),
        ("issueDate", issued),
        ("seller", _party_items(seller)),
        ("buyer", _party_items(taxpayer)),
        ("totalNet", net),
        ("totalVat", vat),
        ("totalGross", net + vat),
    ]


def _document_type(jpk: _File, row, name: str) -> None:
    kind = jpk.text(row, name)
    if kind:
        jpk.note_once(f"{name}={kind}", f"{name} {kind} is not in the invoices contract: left out")


# --- lines spilled to disk --------------------------------------------------------------


class _Spill:
    """Lines of documents kept on disk until their document is written (flat memory)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="crm7-jpk-")
        self.db = sqlite3.connect(Path(self._dir.name) / "lines.sqlite")
        self.db.execute("create table lines (doc text, seq integer, item text)")
        self.seq = 0

    def add(self, doc: str, item: list) -> None:
        import json

        self.seq += 1
        self.db.execute(
            "insert into lines values (?, ?, ?)", (doc, self.seq, json.dumps(item, default=str))
        )

    def ready(self) -> None:
        self.db.execute("create index lines_doc on lines (doc, seq)")

    def take(self, doc: str) -> list[list]:
        import json

        rows = self.db.execute("select item from lines where doc = ? order by seq", (doc,))
        items = [json.loads(item) for (item,) in rows]
        self.db.execute("delete from lines where doc = ?", (doc,))
        return [[tuple(pair) for pair in item] for item in items]

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()


# --- JPK_FA -----------------------------------------------------------------------------


def _fa(jpk: _File, outputs: Outputs, contractors: _Contractors) -> None:
    spill = _Spill()
    try:
        line_tag = jpk.tag("FakturaWiersz")
        for element in iterparse_safely(jpk.path, (line_tag,)):
            doc = jpk.text(element, "P_2B", required=True) or ""
            spill.add(doc, _fa_line(jpk, element))
            release(element)
        spill.ready()
        taxpayer: Counterparty | None = None
        podmiot, invoice = jpk.tag("Podmiot1"), jpk.tag("Faktura")
        for element in iterparse_safely(jpk.path, (podmiot, invoice)):
            if element.tag == podmiot:
                taxpayer = _taxpayer(jpk, element)
            else:
                if taxpayer is None:
                    raise jpk.error(element, "Podmiot1", "invoices come before Podmiot1")
                outputs.file(INVOICES).write(
                    _fa_invoice(jpk, element, taxpayer, spill, contractors)
                )
            release(element)
    finally:
        spill.close()


def _fa_line(jpk: _File, row) -> list:
    raw_rate = jpk.text(row, "P_12")
    rate = FA_LINE_RATES.get(raw_rate or "", raw_rate)
    if raw_rate in FA_LINE_RATES:
        jpk.note_once(f"P_12={raw_rate}", f'P_12 "{raw_rate}" written as "{rate}"')
    if rate is None:
        rate = "zw"
        jpk.note_once("P_12", "FakturaWiersz without P_12: rate zw assumed (no VAT)")
    numeric = Decimal(rate) if re.fullmatch(r"[0-9]+", rate) else None
    quantity = jpk.number(row, "P_8B", 6)
    price = jpk.number(row, "P_9A", 8)
    net = jpk.amount(row, "P_11")
    gross = jpk.amount(row, "P_11A")
    if net is not None:
        vat = (net * (numeric or 0) / 100).quantize(Decimal("0.01"))
    elif gross is not None:
        vat = (gross * (numeric or 0) / (100 + (numeric or 0))).quantize(Decimal("0.01"))
        net = gross - vat
        jpk.note_once("P_11A", "a line with P_11A only: VAT taken out of the gross at its rate")
    else:
        net = ((quantity or ZERO) * (price or ZERO)).quantize(Decimal("0.01"))
        vat = (net * (numeric or 0) / 100).quantize(Decimal("0.01"))
        jpk.note_once("P_11", "a line without P_11 / P_11A: net = P_8B x P_9A")
    name = jpk.bounded(INVOICES, "invoice/line/name", row, "P_7") or NO_NAME
    return [
        ("name", name),
        ("quantity", quantity),
        ("unit", jpk.text(row, "P_8A")),
        ("unitNetPrice", price),
        ("net", net),
        ("vatRate", rate),
        ("vat", vat),
        ("gross", net + vat),
    ]


def _fa_party(jpk: _File, row, name: str, address: str, prefix: str, nip: str) -> Counterparty:
    country = jpk.text(row, prefix)
    party = _party(jpk, jpk.text(row, nip), jpk.text(row, name), country)
    limit = target_field(INVOICES, "invoice/buyer/address").max_length or 500
    return Counterparty(
        key=party.key,
        name=party.name,
        nip=party.nip,
        eu_vat_id=party.eu_vat_id,
        other_id=party.other_id,
        country=party.country,
        address=(jpk.text(row, address) or "")[:limit] or None,
    )


def _fa_invoice(jpk: _File, row, taxpayer: Counterparty, spill: _Spill, contractors) -> list:
    number = jpk.bounded(INVOICES, "invoice/number", row, "P_2A", required=True)
    raw_kind = jpk.text(row, "RodzajFaktury", required=True) or ""
    kind = FA_KINDS.get(raw_kind)
    if kind is None:
        raise jpk.error(
            jpk.child(row, "RodzajFaktury"),
            "RodzajFaktury",
            f"{raw_kind!r} is none of {', '.join(FA_KINDS)}",
        )
    seller = _fa_party(jpk, row, "P_3C", "P_3D", "P_4A", "P_4B")
    if seller.nip is None:
        seller = Counterparty(seller.key, seller.name, taxpayer.nip, address=seller.address)
    buyer = _fa_party(jpk, row, "P_3A", "P_3B", "P_5A", "P_5B")
    if jpk.text(row, "P_3A") is None:
        jpk.note_once("P_3A", f'invoices without a buyer name (P_3A): "{NO_NAME}"')
    if buyer.nip or buyer.eu_vat_id or buyer.other_id or jpk.text(row, "P_3A"):
        contractors.add(buyer, taxpayer.nip)
    totals = []
    for net_field, vat_field, code in FA_RATES:
        net = jpk.amount(row, net_field)
        vat = jpk.amount(row, vat_field) if vat_field else None
        if net or vat:
            totals.append((code, net or ZERO, vat or ZERO))
    gross = jpk.amount(row, "P_15")
    if gross is None:
        raise jpk.error(row, "P_15", "required element P_15 is missing or empty")
    seller_nip = normalize_nip(taxpayer.nip)
    key = jpk.record_id(row, "P_2A", f"{seller_nip}/{number}")
    source_id = jpk.unique_id(key)
    lines = spill.take(number) if source_id == key else []
    corrected = jpk.bounded(INVOICES, "invoice/correctedInvoiceNumber", row, "NrFaKorygowanej")
    items = [
        ("sourceRecordId", source_id),
        ("number", number),
        ("kind", kind),
        ("direction", "sales"),
        ("issueDate", jpk.day(row, "P_1", required=True)),
        ("saleDate", jpk.day(row, "P_6")),
        ("correctedInvoiceId", f"{seller_nip}/{corrected}" if corrected else None),
        ("correctedInvoiceNumber", corrected),
        (
            "correctionReason",
            jpk.bounded(INVOICES, "invoice/correctionReason", row, "PrzyczynaKorekty"),
        ),
        ("seller", _party_items(seller)),
        ("buyer", _party_items(buyer)),
        ("currency", jpk.text(row, "KodWaluty") or "PLN"),
    ]
    if totals:
        items += [
            ("totalNet", _sum(t[1] for t in totals)),
            ("totalVat", _sum(t[2] for t in totals)),
        ]
    items.append(("totalGross", gross))
    items += [("vatTotal", [("vatRate", c), ("net", n), ("vat", v)]) for c, n, v in totals]
    items += [("line", line) for line in lines]
    if (jpk.text(row, "KodWaluty") or "PLN") != "PLN":
        jpk.note_once(
            "currency",
            "JPK_FA gives no exchange rate: crm7 reviews foreign-currency "
            "invoices as missing_exchange_rate",
        )
    return items


# --- JPK_MAG ----------------------------------------------------------------------------


def _mag(jpk: _File, outputs: Outputs) -> None:
    spill = _Spill()
    try:
        line_tags = {jpk.tag(f"{kind}Wiersz"): kind for kind in MAG_TYPES}
        for element in iterparse_safely(jpk.path, tuple(line_tags)):
            kind = line_tags[element.tag]
            doc = jpk.text(element, f"Numer2{kind}", required=True) or ""
            spill.add(f"{kind}/{doc}", _mag_line(jpk, element, kind))
            release(element)
        spill.ready()
        taxpayer: Counterparty | None = None
        warehouse: str | None = None
        podmiot, magazyn = jpk.tag("Podmiot1"), jpk.tag("Magazyn")
        headers = {jpk.tag(f"{kind}Wartosc"): kind for kind in MAG_TYPES}
        for element in iterparse_safely(jpk.path, (podmiot, magazyn, *headers)):
            if element.tag == podmiot:
                taxpayer = _taxpayer(jpk, element)
            elif element.tag == magazyn:
                warehouse = " ".join((element.text or "").split())[:40] or None
            else:
                if taxpayer is None or warehouse is None:
                    raise jpk.error(element, "Magazyn", "documents come before Podmiot1/Magazyn")
                kind = headers[element.tag]
                outputs.file(WAREHOUSE_DOCUMENTS).write(
                    _mag_document(jpk, element, kind, taxpayer, warehouse, spill)
                )
            release(element)
    finally:
        spill.close()


def _mag_line(jpk: _File, row, kind: str) -> list:
    code = jpk.text(row, f"KodTowaru{kind}")
    name = jpk.text(row, f"NazwaTowaru{kind}")
    if code is None:
        jpk.note_once("KodTowaru", f"lines without KodTowaru{kind}: the product name is its id")
    product = (code or name or NO_NAME)[:100]
    return [
        ("productId", product),
        ("quantity", jpk.number(row, MAG_QUANTITIES[kind], 6) or Decimal(0)),
        ("unit", (jpk.text(row, f"JednostkaMiary{kind}") or "")[:40] or None),
        ("unitPrice", jpk.number(row, f"CenaJedn{kind}", 4)),
        ("value", jpk.number(row, f"WartoscPozycji{kind}", 4)),
    ]


def _mag_document(jpk: _File, row, kind, taxpayer: Counterparty, warehouse, spill) -> list:
    number = jpk.bounded(WAREHOUSE_DOCUMENTS, "document/number", row, f"Numer{kind}", required=True)
    key = jpk.record_id(row, f"Numer{kind}", f"{taxpayer.nip}/{kind}/{number}")
    source_id = jpk.unique_id(key)
    lines = spill.take(f"{kind}/{number}") if source_id == key else []
    for party in ("Dostawca", "OdbiorcaWZ", "OdbiorcaRW"):
        if jpk.text(row, party):
            jpk.note_once(
                party,
                f"{party} (a name, no NIP) left out: the contract links a "
                "counterparty by id or NIP",
            )
    target = jpk.text(row, "DokadMM") if kind == "MM" else None
    source = jpk.text(row, "SkadMM") if kind == "MM" else None
    if kind == "RW" and (jpk.text(row, "SkadRW") or jpk.text(row, "DokadRW")):
        jpk.note_once("RW", "SkadRW / DokadRW (where an RW issues from / to) left out")
    return [
        ("sourceRecordId", source_id),
        ("type", kind),
        ("number", number),
        ("issueDate", jpk.day(row, f"Data{kind}", required=True)),
        ("operationDate", jpk.day(row, MAG_OPERATION_DATES[kind])),
        ("warehouse", source[:40] if source else warehouse),
        ("targetWarehouse", target[:40] if target else None),
        ("relatedInvoiceNumber", jpk.text(row, f"NumerFa{kind}")),
        ("totalValue", jpk.number(row, f"Wartosc{kind}", 4)),
        *[("line", line) for line in lines],
    ]


# --- the command ------------------------------------------------------------------------


def input_files(names: Iterable[str | Path]) -> list[Path]:
    """Files to convert: each file as given, each folder's .xml files by name."""
    files: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
            if not found:
                raise JpkConversionError(str(path), None, "the folder holds no .xml file")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise JpkConversionError(str(path), None, "no such file or folder")
    return files


def convert_files(
    paths: Sequence[str | Path], output: str | Path, source_system: str = DEFAULT_SOURCE_SYSTEM
) -> ConversionResult:
    """Convert JPK files (or folders) into contract files in the folder ``output``.

    Writes contractors.xml and invoices.xml (V7, FA) and warehouse_documents.xml (MAG),
    only those the inputs give. Nothing is written unless every file converted.
    """
    if not target_field(INVOICES, "invoices/@sourceSystem").accepts(source_system):
        raise SourceSystemError(
            f"--source-system {source_system!r}: use lowercase letters, digits and "
            "underscores (e.g. jpk, erp)"
        )
    files = input_files(paths)
    kinds = [(path, structure_of(path)) for path in files]
    result = ConversionResult(Path(output))
    always: list[Target] = []
    if any(ns in V7 or ns in FA for _p, ns in kinds):
        always += [CONTRACTORS, INVOICES]
    if any(ns in MAG for _p, ns in kinds):
        always.append(WAREHOUSE_DOCUMENTS)
    with Outputs(Path(output), source_system, tuple(always)) as outputs:
        contractors = _Contractors(outputs)
        for path, namespace in kinds:
            jpk = _File(path, namespace)
            try:
                if namespace in V7:
                    _v7(jpk, outputs, contractors)
                elif namespace in FA:
                    _fa(jpk, outputs, contractors)
                else:
                    _mag(jpk, outputs)
            except OSError as error:
                raise FileRejected(str(path), f"cannot read the file: {error.strerror}") from None
            result.structures[jpk.structure] = result.structures.get(jpk.structure, 0) + 1
            result.notes.extend(jpk.notes)
        result.written = outputs.written()
    return result


def iter_structures(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    for path in paths:
        yield path, STRUCTURES[structure_of(path)]
