"""``crm7 convert edipp``: EDI++ (``.epp``) exports of Subiekt, Rewizor, Rachmistrz and
others into contract files: contractors, products, prices, invoices, warehouse documents.

The format: ``../shared/reference/edipp/FORMAT.md`` (EDI++ 1.05-1.11). A file is read line by
line (a line longer than ``MAX_LINE`` bytes is refused before it is read whole), decoded
with the code page of ``[INFO]`` field 3 (1250 -> cp1250, 852 -> cp852), one document (its
header and lines) in memory at a time. A first pass reads only the small lookups that come
after the documents they serve (``PRZYCZYNYKOREKT``, the product names of ``TOWARY``).

Mapping
-------

=====================================  =================================================
KONTRAHENCI (31 fields; 30 accepted)   contractor: sourceRecordId code (2); name full
                                       name (4), else short (3); shortName (3); nip (8)
                                       when it is a Polish NIP in any spelling (an EU VAT
                                       id such as DE321917267 is left out, noted: the
                                       contract has no EU VAT field); regon (9); address
                                       registered: street and number (7) split into
                                       street / buildingNumber / flatNumber, postal code
                                       (6), city (5), country ISO (31), else EU prefix
                                       (29), else PL; phone (10), fax (11), email (13),
                                       www (14). A phone or e-mail the contract does not
                                       take, the bank (26, 27), contact person and user
                                       fields are left out (bank account: noted)
TOWARY (42 fields)                     product: sourceRecordId and code (2), name (5),
                                       gtin (4, when 8/12/13/14 digits), pkwiu (9),
                                       baseUnit (10), vatRate (11, see rates),
                                       minStockQuantity (22)
CENNIK (7 fields)                      price: productId (1), priceList (2), netPrice (3),
                                       grossPrice (4), validFrom the export date ([INFO]
                                       field 20, else its period end, else today: noted)
FS FZ FR RS RZ PA ZW FWN FWO FM and    invoice: sourceRecordId the full number (7; the
the corrections KFS KFZ KRS KRZ KWN    type and a space put in front when missing,
KWO KFM                                noted); kind VAT, corrections KOR, extended
                                       status 37/39 ZAL, 38 KOR_ZAL, 73 and PA UPR;
                                       direction purchase for FZ FR RZ FWO and their
                                       corrections, else sales; issueDate (22),
                                       saleDate (23); correction: correctedInvoiceId and
                                       -Number the corrected full number (8),
                                       correctionReason the PRZYCZYNYKOREKT texts;
                                       the counterparty (buyer of a sale, seller of a
                                       purchase): sourceId code (12), nip (18, as for
                                       contractors; an EU id -> euVatId), name (14, else
                                       13), address "street, postal code city" (17, 16,
                                       15), countryCode EU prefix (61); the other party
                                       is the sender of [INFO] (7, 11, 8-10); currency
                                       (47), exchangeRate (48, non-PLN); paymentForm the
                                       payment_type code of the method's name (34:
                                       Przelew 6, Gotówka 1 ...); dueDate (35);
                                       totalNet / totalVat / totalGross (28, 29, 30)
goods lines (22 fields; 31 in          line: productId (3), name the product's TOWARY
corrections)                           name, else the one-off service name (22), else the
                                       code; quantity (11), unit (10), unitNetPrice (14),
                                       net (17), vatRate (16), vat (18), gross (19). A
                                       correction line is after (1-22) minus before
                                       (26, 29-31): the difference. vatTotal: the lines
                                       summed per rate (a rate whose sum is 0 is left
                                       out)
VAT-table rows (5, 14 or 18 fields)    vatTotal: vatRate from the symbol (1), net (3),
                                       vat (4), gross (5)
PZ WZ PW RW MMW (VPZ -> PZ, VWZ -> WZ) warehouse document: sourceRecordId the full
                                       number, type (MMW -> MM), number, issueDate (22),
                                       operationDate (24), warehouse [INFO] field 12,
                                       targetWarehouse (11, MMW), counterpartyId (12),
                                       counterpartyNip (18), totalValue (28); lines:
                                       productId (3), quantity (12, the stock unit),
                                       unitPrice (13), value quantity x price
=====================================  =================================================

Rates: the numbers as themselves (23, 8, 5, 4); 0 -> "0 KR", but "0 EX" for an export and
"0 WDT" for an intra-EU document (transaction kind, header field 55); symbols zw, oo,
ex -> "0 EX", ue -> "0 WDT", npo -> "np I"; the negative codes of goods lines (-1 zw, -2
ex, -3 ue, -4 npo, -5 oo) likewise. Units lose a trailing dot (``szt.`` -> ``szt``).

Not converted, counted in a note: orders ZD/ZK, cash and bank documents KP/KW/BP/BW,
settlements RLS/RLZ, fiscal reports RF/PRF/NZ and every other dictionary block.

Lenient reading, each noted: LF line endings (and a last line without one); an
``[INFO]`` version quoted or bare; an ``[INFO]`` of fewer than 24 fields (the fields
read: 2, 3, 7-12, 18, 20); KONTRAHENCI with 30 fields; dates of 8 digits; empty texts
written ``""``; a file that is valid UTF-8 while [INFO] names 1250/852 (read as UTF-8).
Refused, naming file, line and field: a field count no layout has, a text that does not
decode in the code page, a document whose line count (25) differs from the lines that
follow (a truncated file), an unknown code page, an amount or date that is not one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from loaders.convert.output import (
    CONTRACTORS,
    INVOICES,
    PRICES,
    PRODUCTS,
    WAREHOUSE_DOCUMENTS,
    Outputs,
    Target,
    contract_field,
)
from loaders.convert.values import accepted, payment_form, split_street
from loaders.errors import EdippConversionError, SourceSystemError

DEFAULT_SOURCE_SYSTEM = "edipp"
MAX_LINE = 1 << 20  # 1 MiB: no EDI++ record comes near it
CODE_PAGES = {"1250": "cp1250", "852": "cp852"}
LABELS = ("[INFO]", "[NAGLOWEK]", "[ZAWARTOSC]")
HEADER_FIELDS = 62
INFO_FIELDS = 24
SALES = {"FS", "RS", "PA", "ZW", "FWN", "FM", "KFS", "KRS", "KWN", "KFM"}
PURCHASE = {"FZ", "FR", "RZ", "FWO", "KFZ", "KRZ", "KWO"}
CORRECTIONS = {
    "KFS": "FS",
    "KFZ": "FZ",
    "KRS": "RS",
    "KRZ": "RZ",
    "KWN": "FWN",
    "KWO": "FWO",
    "KFM": "FM",
}
WAREHOUSE = {"PZ": "PZ", "WZ": "WZ", "PW": "PW", "RW": "RW", "MMW": "MM", "VPZ": "PZ", "VWZ": "WZ"}
SKIPPED_DOCUMENTS = {"ZD", "ZK", "KP", "KW", "BP", "BW", "RLS", "RLZ", "RF", "PRF", "NZ"}
SYMBOLS = {"zw": "zw", "oo": "oo", "ex": "0 EX", "ue": "0 WDT", "npo": "np I"}
NEGATIVE_RATES = {"-1": "zw", "-2": "0 EX", "-3": "0 WDT", "-4": "np I", "-5": "oo"}
BLOCK_FIELDS = {"KONTRAHENCI": (31, 30), "TOWARY": (42,), "CENNIK": (7,), "PRZYCZYNYKOREKT": (3,)}
EMPTY_QUOTED = re.compile(r'(^|,)""(,|$)')
GROSZ = Decimal("0.01")
ZERO = Decimal("0.00")
NO_NAME = "(brak nazwy)"


@dataclass
class ConversionResult:
    output: Path
    written: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Record:
    line: int
    fields: list[str | None]
    quoted_first: bool

    def get(self, number: int) -> str | None:
        """Field ``number`` (1-based, as FORMAT.md counts), None when empty or absent."""
        if number > len(self.fields):
            return None
        return self.fields[number - 1]


@dataclass
class _Info:
    purpose: str
    encoding: str
    sender_name: str
    sender_nip: str | None
    sender_address: str | None
    warehouse: str | None
    exported: date | None
    period_end: date | None


class _File:
    """One .epp file: its lines decoded, its notes, errors naming file, line and field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.notes: list[str] = []
        self._noted: set[str] = set()
        self.encoding = "ascii"
        self.info: _Info | None = None
        self.skipped: dict[str, int] = {}

    def note_once(self, key: str, message: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.notes.append(f"{self.path}: {message}")

    def error(self, line: int | None, what: str | None, message: str) -> EdippConversionError:
        return EdippConversionError(str(self.path), what, message, line)

    # -- reading

    def lines(self) -> Iterator[tuple[int, bytes]]:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 (closed below)
        except OSError as error:
            raise self.error(None, None, f"cannot read the file: {error.strerror}") from None
        with handle:
            number = 0
            crlf = lf = 0
            while True:
                raw = handle.readline(MAX_LINE + 1)
                if not raw:
                    break
                number += 1
                if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                    raise self.error(
                        number,
                        None,
                        f"a line longer than {MAX_LINE // 1024 // 1024} MiB: "
                        "not an EDI++ record (is this an .epp file?)",
                    )
                if raw.endswith(b"\r\n"):
                    crlf += 1
                elif raw.endswith(b"\n"):
                    lf += 1
                yield number, raw.rstrip(b"\r\n")
            if lf and not crlf:
                self.note_once("lf", "LF line endings (the specification's are CR LF): read alike")

    def _code_page_of(self, raw: bytes) -> None:
        """[INFO]'s first fields are ASCII: its code page (field 3) read before decoding."""
        if self.encoding == "utf-8":
            return
        fields = next(csv.reader([raw.decode("latin-1")]), [])
        page = fields[2].strip() if len(fields) > 2 else ""
        self.encoding = CODE_PAGES.get(page, "latin-1")

    def decode(self, number: int, raw: bytes) -> str:
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            self.note_once("bom", "a UTF-8 byte-order mark before [INFO]: read as UTF-8")
            self.encoding = "utf-8"
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as error:
            if self.encoding != "utf-8":
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    self.note_once(
                        "utf8",
                        f"[INFO] names code page {self.encoding}, the text is UTF-8: read as UTF-8",
                    )
                    self.encoding = "utf-8"
                    return text
            raise self.error(
                number,
                None,
                f"byte 0x{raw[error.start]:02x} at column {error.start + 1} is "
                f"not {self.encoding} text: the file is not in the code page its [INFO] names "
                "(field 3)",
            ) from None

    def records(self) -> Iterator[tuple[str, _Record]]:
        """(section label, record) for every record line; blank lines skipped."""
        section = None
        for number, raw in self.lines():
            if section == "[INFO]" and self.info is None and raw.strip():
                self._code_page_of(raw)
            text = self.decode(number, raw)
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.upper() in LABELS:
                section = stripped.upper()
                yield section, _Record(number, [], False)
                continue
            if section is None:
                raise self.error(number, None, "no [INFO] label at the start: not an EDI++ file")
            fields = next(csv.reader([text], doublequote=True, strict=False))
            values: list[str | None] = [value if value != "" else None for value in fields]
            if '""' in text and EMPTY_QUOTED.search(text):
                self.note_once("empty", 'empty texts written "" read as empty')
            yield section, _Record(number, values, stripped.startswith('"'))

    # -- values

    def amount(self, record: _Record, number: int, what: str, places: int = 2) -> Decimal | None:
        value = record.get(number)
        if value is None:
            return None
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise self.error(
                record.line, f"field {number} ({what})", f"not an amount: {value!r}"
            ) from None
        if not parsed.is_finite():
            raise self.error(record.line, f"field {number} ({what})", f"not an amount: {value!r}")
        rounded = parsed.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if rounded != parsed:
            self.note_once(f"round{places}", f"amounts rounded half up to {places} decimals")
        return rounded

    def day(self, record: _Record, number: int, what: str) -> date | None:
        value = record.get(number)
        if value is None:
            return None
        value = value.strip()
        if re.fullmatch(r"[0-9]{8}", value):
            self.note_once("date8", "dates of 8 digits (yyyymmdd) read as dates")
        elif not re.fullmatch(r"[0-9]{8}000000|[0-9]{14}", value):
            raise self.error(
                record.line, f"field {number} ({what})", f"not a date yyyymmddhhnnss: {value!r}"
            )
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        except ValueError:
            raise self.error(
                record.line, f"field {number} ({what})", f"no such day: {value!r}"
            ) from None

    def text(self, record: _Record, number: int, target: Target, path: str) -> str | None:
        value = record.get(number)
        if value is None:
            return None
        value = " ".join(value.split())
        if not value:
            return None
        limit = contract_field(target, path).max_length
        if limit is not None and len(value) > limit:
            raise self.error(
                record.line,
                f"field {number}",
                f"{len(value)} characters, the contract's {path} takes at most {limit}",
            )
        return value


# --- [INFO] ------------------------------------------------------------------------------


def _info(epp: _File, record: _Record) -> _Info:
    if len(record.fields) < 3:
        raise epp.error(record.line, "[INFO]", f"{len(record.fields)} fields: not an [INFO] record")
    if len(record.fields) != INFO_FIELDS:
        epp.note_once("info", f"[INFO] has {len(record.fields)} fields (24 in the specification)")
    page = (record.get(3) or "").strip()
    encoding = CODE_PAGES.get(page)
    if encoding is None:
        raise epp.error(
            record.line, "[INFO] field 3 (code page)", f"{page!r} is neither 1250 nor 852"
        )
    street, postal, city = record.get(10), record.get(9), record.get(8)
    address = ", ".join(part for part in (street, " ".join(p for p in (postal, city) if p)) if part)
    return _Info(
        purpose=(record.get(2) or "").strip(),
        encoding=encoding,
        sender_name=" ".join((record.get(7) or record.get(6) or NO_NAME).split()),
        sender_nip=accepted(INVOICES, "invoice/seller/nip", record.get(11)),
        sender_address=address or None,
        warehouse=(record.get(12) or "").strip()[:40] or None,
        exported=epp.day(record, 20, "Kiedy wykonano") if len(record.fields) >= 20 else None,
        period_end=epp.day(record, 18, "Koniec okresu") if len(record.fields) >= 18 else None,
    )


# --- rates -------------------------------------------------------------------------------


def _rate_from_percent(epp: _File, value: Decimal, transaction: str | None) -> str:
    text = format(value.normalize(), "f")
    if text in NEGATIVE_RATES:
        return NEGATIVE_RATES[text]
    if value == 0:
        return {"1": "0 EX", "2": "0 WDT"}.get(transaction or "", "0 KR")
    return text


def _rate_from_symbol(symbol: str, transaction: str | None) -> str:
    symbol = symbol.strip()
    if symbol.lower() in SYMBOLS:
        return SYMBOLS[symbol.lower()]
    if symbol == "0":
        return {"1": "0 EX", "2": "0 WDT"}.get(transaction or "", "0 KR")
    return symbol


def _unit(epp: _File, value: str | None) -> str | None:
    if value is None:
        return None
    unit = " ".join(value.split())
    if unit.endswith(".") and len(unit) > 1:
        epp.note_once("unit", 'units written with a dot ("szt.") lose it ("szt")')
        unit = unit.rstrip(".")
    return unit[:40] or None


# --- first pass --------------------------------------------------------------------------


@dataclass
class _Lookups:
    product_names: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)


def _lookups(epp: _File) -> _Lookups:
    found = _Lookups()
    block = None
    after_header = False
    for section, record in epp.records():
        if section == "[INFO]" and record.fields:
            if epp.info is None:
                epp.info = _info(epp, record)
                epp.encoding = epp.info.encoding if epp.encoding != "utf-8" else epp.encoding
            continue
        if section == "[NAGLOWEK]":
            if record.fields:
                block = (record.get(1) or "").strip().upper() if len(record.fields) == 1 else None
                after_header = True
            continue
        if section == "[ZAWARTOSC]" and record.fields and after_header:
            if block == "TOWARY" and len(record.fields) >= 5 and record.get(2):
                found.product_names[record.get(2) or ""] = " ".join((record.get(5) or "").split())
            elif block == "PRZYCZYNYKOREKT" and len(record.fields) >= 3 and record.get(1):
                found.reasons.setdefault(record.get(1) or "", []).append(
                    " ".join((record.get(3) or "").split())
                )
    return found


# --- second pass -------------------------------------------------------------------------


@dataclass
class _Document:
    header: _Record
    lines: list[_Record] = field(default_factory=list)


def _convert_file(epp: _File, outputs: Outputs, lookups: _Lookups) -> None:
    epp.encoding, epp.info = "ascii", None
    info: _Info | None = None
    block: str | None = None
    document: _Document | None = None
    awaiting_content = False
    for section, record in epp.records():
        if not record.fields:  # a label
            if section == "[NAGLOWEK]" and document is not None:
                _flush(epp, outputs, lookups, document)
                document = None
            if section == "[ZAWARTOSC]" and not awaiting_content:
                raise epp.error(record.line, "[ZAWARTOSC]", "not right after a [NAGLOWEK]")
            if section == "[ZAWARTOSC]":
                awaiting_content = False
            continue
        if section == "[INFO]":
            if info is not None:
                raise epp.error(record.line, "[INFO]", "a second [INFO] record")
            info = _info(epp, record)
            epp.info = info
            if epp.encoding != "utf-8":
                epp.encoding = info.encoding
            continue
        if info is None:
            raise epp.error(record.line, None, "[INFO] must come first")
        if section == "[NAGLOWEK]":
            awaiting_content = True
            if len(record.fields) == 1:
                block = (record.get(1) or "").strip().upper()
                document = None
                if block not in BLOCK_FIELDS:
                    epp.skipped[block] = epp.skipped.get(block, 0)
            else:
                block = None
                document = _Document(record)
            continue
        # [ZAWARTOSC]
        if document is not None:
            document.lines.append(record)
        elif block is not None:
            _block_record(epp, outputs, block, record)
    if document is not None:
        _flush(epp, outputs, lookups, document)
    if info is None:
        raise epp.error(None, None, "no [INFO] record: not an EDI++ file")
    for name, count in sorted(epp.skipped.items()):
        epp.note_once(
            f"skip {name}", f"{name}: {count} records not converted (no contract for them)"
        )


def _block_record(epp: _File, outputs: Outputs, block: str, record: _Record) -> None:
    counts = BLOCK_FIELDS.get(block)
    if counts is None:
        epp.skipped[block] = epp.skipped.get(block, 0) + 1
        return
    if len(record.fields) not in counts:
        if len(record.fields) > counts[0]:
            epp.note_once(f"extra {block}", f"{block}: fields after field {counts[0]} ignored")
        else:
            raise epp.error(
                record.line,
                block,
                f"{len(record.fields)} fields match no known layout (the "
                f"specification has {counts[0]})",
            )
    if block == "KONTRAHENCI":
        if len(record.fields) == 30:
            epp.note_once("k30", "KONTRAHENCI with 30 fields (field 31, the ISO country, absent)")
        outputs.file(CONTRACTORS).write(_contractor(epp, record))
    elif block == "TOWARY":
        outputs.file(PRODUCTS).write(_product(epp, record))
    elif block == "CENNIK":
        outputs.file(PRICES).write(_price(epp, record))


def _nip(epp: _File, value: str | None, record: _Record, target: Target, path: str):
    """(nip, EU VAT id) of a NIP field: a Polish NIP in any spelling, or an EU VAT id."""
    if value is None:
        return None, None
    text = " ".join(value.split())
    if accepted(target, path, text):
        return text, None
    compact = re.sub(r"[\s\-]", "", text).upper()
    if accepted(INVOICES, "invoice/buyer/euVatId", compact):
        return None, compact
    raise epp.error(record.line, f"NIP {text!r}", "neither a NIP nor an EU VAT id")


def _country(record: _Record, iso: int, eu: int) -> str | None:
    code = (record.get(iso) or record.get(eu) or "").strip().upper()
    return {"EL": "GR"}.get(code, code) if re.fullmatch(r"[A-Z]{2}", code) else None


def _contractor(epp: _File, record: _Record) -> list:
    code = epp.text(record, 2, CONTRACTORS, "contractor/sourceRecordId")
    if code is None:
        raise epp.error(record.line, "KONTRAHENCI field 2", "no contractor code")
    nip, eu = _nip(epp, record.get(8), record, CONTRACTORS, "contractor/nip")
    if eu:
        epp.note_once(
            "eu",
            f"contractor {code}: EU VAT id {eu} left out (the contractors "
            "contract has no EU VAT field)",
        )
    street, building, flat = split_street(record.get(7) or "")
    city = epp.text(record, 5, CONTRACTORS, "contractor/address/city")
    address = None
    if city:
        address = (
            "address",
            [
                ("street", street),
                ("buildingNumber", building),
                ("flatNumber", flat),
                ("postalCode", epp.text(record, 6, CONTRACTORS, "contractor/address/postalCode")),
                ("city", city),
                ("country", _country(record, 31, 29)),
            ],
            {"type": "registered"},
        )
    phone = accepted(
        CONTRACTORS, "contractor/phone", " ".join((record.get(10) or "").split()) or None
    )
    if record.get(10) and phone is None:
        epp.note_once("phone", "phones the contract does not take as written are left out")
    email = accepted(CONTRACTORS, "contractor/email", (record.get(13) or "").strip() or None)
    if record.get(13) and email is None:
        epp.note_once("email", "e-mails the contract does not take are left out")
    if record.get(27):
        epp.note_once(
            "bank",
            "bank name and account (fields 26-27) left out: the contractors "
            "contract has no bank account",
        )
    return [
        ("sourceRecordId", code),
        (
            "name",
            epp.text(record, 4, CONTRACTORS, "contractor/name")
            or epp.text(record, 3, CONTRACTORS, "contractor/name")
            or NO_NAME,
        ),
        ("shortName", epp.text(record, 3, CONTRACTORS, "contractor/shortName")),
        ("nip", nip),
        ("regon", accepted(CONTRACTORS, "contractor/regon", (record.get(9) or "").strip() or None)),
        address or ("address", None),
        ("phone", phone),
        ("fax", accepted(CONTRACTORS, "contractor/fax", (record.get(11) or "").strip() or None)),
        ("email", email),
        ("www", epp.text(record, 14, CONTRACTORS, "contractor/www")),
    ]


def _product(epp: _File, record: _Record) -> list:
    code = epp.text(record, 2, PRODUCTS, "product/sourceRecordId")
    if code is None:
        raise epp.error(record.line, "TOWARY field 2", "no product code")
    unit = _unit(epp, record.get(10))
    if unit is None:
        raise epp.error(record.line, "TOWARY field 10", "no base unit")
    symbol = record.get(11)
    return [
        ("sourceRecordId", code),
        ("code", code),
        ("name", epp.text(record, 5, PRODUCTS, "product/name") or code),
        ("gtin", accepted(PRODUCTS, "product/gtin", (record.get(4) or "").strip() or None)),
        ("pkwiu", epp.text(record, 9, PRODUCTS, "product/pkwiu")),
        ("baseUnit", unit),
        ("vatRate", _rate_from_symbol(symbol, None) if symbol else None),
        ("minStockQuantity", epp.amount(record, 22, "Stan minimalny", 6) or None),
    ]


def _price(epp: _File, record: _Record) -> list:
    info = epp.info
    assert info is not None
    valid_from = info.exported or info.period_end
    if valid_from is None:
        valid_from = date.today()
        epp.note_once("validFrom", "prices valid from today: [INFO] gives no export date")
    else:
        epp.note_once("validFrom", f"prices valid from the export date {valid_from}")
    return [
        ("priceList", epp.text(record, 2, PRICES, "price/priceList")),
        ("productId", epp.text(record, 1, PRICES, "price/productId")),
        ("netPrice", epp.amount(record, 3, "Cena netto", 4)),
        ("grossPrice", epp.amount(record, 4, "Cena brutto", 4)),
        ("validFrom", valid_from),
    ]


def _full_number(epp: _File, kind: str, number: str | None, line: int, what: str) -> str:
    if not number:
        raise epp.error(line, what, "no full document number")
    number = " ".join(number.split())
    if not number.upper().startswith(f"{kind} "):
        epp.note_once(f"number {what}", f"{what} without the type in front: '{kind} ' added")
        number = f"{kind} {number}"
    return number


def _flush(epp: _File, outputs: Outputs, lookups: _Lookups, document: _Document) -> None:
    header = document.header
    kind = (header.get(1) or "").strip().upper()
    if len(header.fields) < HEADER_FIELDS:
        raise epp.error(
            header.line,
            f"[NAGLOWEK] {kind}",
            f"{len(header.fields)} fields match no known "
            f"layout (a document header has {HEADER_FIELDS})",
        )
    if len(header.fields) > HEADER_FIELDS:
        epp.note_once("header+", f"document headers: fields after field {HEADER_FIELDS} ignored")
    if kind in SKIPPED_DOCUMENTS or (kind not in SALES | PURCHASE and kind not in WAREHOUSE):
        epp.skipped[kind] = epp.skipped.get(kind, 0) + 1
        return
    expected = epp.amount(header, 25, "Liczba pozycji", 0)
    goods = (epp.info.purpose if epp.info else "") != "0"
    if goods and expected is not None and int(expected) != len(document.lines):
        raise epp.error(
            header.line,
            f"{kind} field 25 (Liczba pozycji)",
            f"{int(expected)} lines announced, "
            f"{len(document.lines)} follow: is the file truncated?",
        )
    if kind in WAREHOUSE:
        outputs.file(WAREHOUSE_DOCUMENTS).write(_warehouse_document(epp, document, kind))
    else:
        outputs.file(INVOICES).write(_invoice(epp, lookups, document, kind, goods))


def _counterparty(epp: _File, header: _Record, role: str) -> list:
    nip, eu = _nip(epp, header.get(18), header, INVOICES, f"invoice/{role}/nip")
    street, postal, city = header.get(17), header.get(16), header.get(15)
    address = ", ".join(p for p in (street, " ".join(x for x in (postal, city) if x)) if p)
    return [
        ("sourceId", epp.text(header, 12, INVOICES, f"invoice/{role}/sourceId")),
        ("nip", nip),
        ("euVatId", eu),
        (
            "name",
            epp.text(header, 14, INVOICES, f"invoice/{role}/name")
            or epp.text(header, 13, INVOICES, f"invoice/{role}/name")
            or NO_NAME,
        ),
        ("address", " ".join(address.split())[:500] or None),
        ("countryCode", _country(header, 61, 61)),
    ]


def _sender(epp: _File) -> list:
    info = epp.info
    assert info is not None
    return [
        ("nip", info.sender_nip),
        ("name", info.sender_name[:500]),
        ("address", info.sender_address[:500] if info.sender_address else None),
    ]


def _invoice(epp: _File, lookups: _Lookups, document: _Document, kind: str, goods: bool) -> list:
    header = document.header
    number = _full_number(epp, kind, header.get(7), header.line, "field 7 (Pełny numer)")
    transaction = (header.get(55) or "").strip()
    status = (header.get(41) or "0").strip()
    status = str(int(status) % 100) if status.isdigit() else "0"
    if kind in CORRECTIONS:
        invoice_kind = "KOR_ZAL" if status == "38" else "KOR"
    elif status in ("37", "39"):
        invoice_kind = "ZAL"
    elif status == "73" or kind == "PA":
        invoice_kind = "UPR"
        if kind == "PA":
            epp.note_once("PA", "receipts (PA) written as simplified invoices (UPR)")
    else:
        invoice_kind = "VAT"
    if kind == "ZW":
        invoice_kind = "KOR"
        epp.note_once("ZW", "retail returns (ZW) written as corrections without a reference")
    corrected = None
    if kind in CORRECTIONS and header.get(8):
        corrected = _full_number(epp, CORRECTIONS[kind], header.get(8), header.line, "field 8")
    reasons = lookups.reasons.get(number) or lookups.reasons.get(header.get(7) or "") or []
    currency = (header.get(47) or "PLN").strip().upper() or "PLN"
    counterparty = _counterparty(epp, header, "buyer" if kind in SALES else "seller")
    lines, totals = _content(epp, lookups, document, goods, kind in CORRECTIONS, transaction)
    seller, buyer = (_sender(epp), counterparty) if kind in SALES else (counterparty, _sender(epp))
    exchange = epp.amount(header, 48, "Kurs waluty", 6) if currency != "PLN" else None
    return [
        ("sourceRecordId", number[:100]),
        ("number", number[:100]),
        ("kind", invoice_kind),
        ("direction", "sales" if kind in SALES else "purchase"),
        ("issueDate", epp.day(header, 22, "Data wystawienia")),
        ("saleDate", epp.day(header, 23, "Data sprzedaży")),
        ("correctedInvoiceId", corrected),
        ("correctedInvoiceNumber", corrected),
        ("correctionReason", "; ".join(reasons)[:500] or None),
        ("seller", seller),
        ("buyer", buyer),
        ("currency", currency),
        ("exchangeRate", exchange if exchange else None),
        ("paymentForm", payment_form(header.get(34))),
        ("dueDate", epp.day(header, 35, "Termin płatności")),
        ("totalNet", epp.amount(header, 28, "Wartość netto")),
        ("totalVat", epp.amount(header, 29, "Wartość VAT")),
        ("totalGross", epp.amount(header, 30, "Wartość brutto") or ZERO),
        *[
            ("vatTotal", [("vatRate", r), ("net", n), ("vat", v), ("gross", n + v)])
            for r, (n, v) in totals.items()
        ],
        *[("line", line) for line in lines],
    ]


def _content(epp, lookups, document, goods, correction, transaction):
    lines: list[list] = []
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for record in document.lines:
        if record.quoted_first or not goods:  # a VAT-table row
            if len(record.fields) not in (5, 14, 18):
                raise epp.error(
                    record.line,
                    "VAT table",
                    f"{len(record.fields)} fields match no known layout (5, 14 or 18)",
                )
            rate = _rate_from_symbol(record.get(1) or "", transaction)
            net = epp.amount(record, 3, "Wartość netto") or ZERO
            vat = epp.amount(record, 4, "Wartość VAT") or ZERO
            old = totals.get(rate, (ZERO, ZERO))
            totals[rate] = (old[0] + net, old[1] + vat)
            continue
        allowed = (22, 31) if correction else (22,)
        if len(record.fields) not in allowed:
            raise epp.error(
                record.line,
                "goods line",
                f"{len(record.fields)} fields match no "
                f"known layout ({' or '.join(map(str, allowed))})",
            )
        percent = epp.amount(record, 16, "Stawka VAT", 4) or Decimal(0)
        rate = _rate_from_percent(epp, percent, transaction)
        quantity = epp.amount(record, 11, "Ilość", 6)
        net = epp.amount(record, 17, "Wartość netto") or ZERO
        vat = epp.amount(record, 18, "Wartość VAT") or ZERO
        gross = epp.amount(record, 19, "Wartość brutto") or (net + vat)
        if len(record.fields) == 31:
            quantity = (quantity or Decimal(0)) - (epp.amount(record, 26, "Ilość przed", 6) or 0)
            net -= epp.amount(record, 29, "Netto przed") or ZERO
            vat -= epp.amount(record, 30, "VAT przed") or ZERO
            gross -= epp.amount(record, 31, "Brutto przed") or ZERO
        code = (record.get(3) or "").strip() or None
        name = lookups.product_names.get(code or "") or (record.get(22) or "").strip() or code
        lines.append(
            [
                ("productId", code[:100] if code else None),
                ("name", (name or NO_NAME)[:500]),
                ("quantity", quantity),
                ("unit", _unit(epp, record.get(10))),
                ("unitNetPrice", epp.amount(record, 14, "Cena netto", 8)),
                ("net", net),
                ("vatRate", rate),
                ("vat", vat),
                ("gross", gross),
            ]
        )
        old = totals.get(rate, (ZERO, ZERO))
        totals[rate] = (old[0] + net, old[1] + vat)
    totals = {rate: sums for rate, sums in totals.items() if sums != (ZERO, ZERO)}
    return lines, totals


def _warehouse_document(epp: _File, document: _Document, kind: str) -> list:
    header = document.header
    number = _full_number(epp, kind, header.get(7), header.line, "field 7 (Pełny numer)")
    info = epp.info
    assert info is not None
    if info.warehouse is None:
        raise epp.error(
            header.line, "[INFO] field 12", "no warehouse code for a warehouse document"
        )
    nip, _eu = _nip(epp, header.get(18), header, WAREHOUSE_DOCUMENTS, "document/counterpartyNip")
    lines = []
    for record in document.lines:
        if len(record.fields) not in (22, 31):
            raise epp.error(
                record.line, "goods line", f"{len(record.fields)} fields match no known layout (22)"
            )
        quantity = epp.amount(record, 12, "Ilość mag.", 6) or Decimal(0)
        price = epp.amount(record, 13, "Cena magazynowa", 4)
        lines.append(
            [
                ("productId", (record.get(3) or NO_NAME).strip()[:100]),
                ("quantity", quantity),
                ("unitPrice", price),
                (
                    "value",
                    (quantity * price).quantize(Decimal("0.0001")) if price is not None else None,
                ),
            ]
        )
    target = (header.get(11) or "").strip()
    return [
        ("sourceRecordId", number[:100]),
        ("type", WAREHOUSE[kind]),
        ("number", number[:100]),
        ("issueDate", epp.day(header, 22, "Data wystawienia")),
        ("operationDate", epp.day(header, 24, "Data otrzymania")),
        ("warehouse", info.warehouse),
        ("targetWarehouse", target or None if kind == "MMW" else None),
        ("counterpartyId", epp.text(header, 12, WAREHOUSE_DOCUMENTS, "document/counterpartyId")),
        ("counterpartyNip", nip),
        ("totalValue", epp.amount(header, 28, "Wartość netto", 4)),
        *[("line", line) for line in lines],
    ]


# --- the command -------------------------------------------------------------------------


def input_files(names: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".epp" and p.is_file())
            if not found:
                raise EdippConversionError(str(path), None, "the folder holds no .epp file")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise EdippConversionError(str(path), None, "no such file or folder")
    return files


def convert_files(
    paths: Sequence[str | Path], output: str | Path, source_system: str = DEFAULT_SOURCE_SYSTEM
) -> ConversionResult:
    """Convert .epp files (or folders) into one file per contract in the folder ``output``.

    Nothing is written unless every file converted (EdippConversionError otherwise).
    """
    if not contract_field(INVOICES, "invoices/@sourceSystem").accepts(source_system):
        raise SourceSystemError(
            f"--source-system {source_system!r}: use lowercase letters, digits and "
            "underscores (e.g. subiekt, rewizor)"
        )
    files = input_files(paths)
    result = ConversionResult(Path(output))
    with Outputs(Path(output), source_system) as outputs:
        for path in files:
            epp = _File(path)
            lookups = _lookups(epp)
            _convert_file(epp, outputs, lookups)
            result.notes.extend(epp.notes)
        result.written = outputs.written()
    return result
