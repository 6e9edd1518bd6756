"""Tiny XML files of the contractors, invoices, calendar and financials contracts, written
as a client writes them from the contract pages (contracts/*/v1/*.xsd), for the cadence
tests: a handful of NIPs and source record ids, so that random batches collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cadence_harness import XmlFile

ROOT = Path(__file__).resolve().parents[2]
CONTRACTORS_XSD = ROOT / "contracts" / "contractors" / "v1" / "contractors.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

SOURCES = ("crm", "erp")
RECORD_IDS = ("K1", "K2", "K3")
# Valid checksums (5261040828 is the demo's; the others are computed), spelled as exports do.
VALID_NIPS = ("5261040828", "3000633221", "8146335585")
INVALID_NIP = "5261040827"  # one digit off: fails the checksum, so the record goes to review
NIP_SPELLINGS = ("{n}", "PL {n}", "{a}-{b}-{c}-{d}")
VALID_REGONS = ("283162967", "404947770")
INVALID_REGON = "283162968"
NAMES = ("Alfa Sp. z o.o.", "ALFA SPÓŁKA Z O.O.", "Beta S.A.", "Gamma sp.j.")
CITIES = ("Warszawa", "Kraków")
SELLER = "<seller><nip>5271234563</nip><name>Hurtownia Przykład Sp. z o.o.</name></seller>"


def spell_nip(nip: str, spelling: int) -> str:
    return NIP_SPELLINGS[spelling % len(NIP_SPELLINGS)].format(
        n=nip, a=nip[:3], b=nip[3:6], c=nip[6:8], d=nip[8:]
    )


def nillable_elements(xsd: Path = CONTRACTORS_XSD) -> frozenset[str]:
    """Names of the contractors contract's elements a file may clear with xsi:nil="true"
    (contracts 1.1); empty while the contract has none."""
    from lxml import etree

    tree = etree.parse(str(xsd), etree.XMLParser(resolve_entities=False, no_network=True))
    return frozenset(
        element.get("name")
        for element in tree.iter("{http://www.w3.org/2001/XMLSchema}element")
        if element.get("nillable") == "true" and element.get("name")
    )


@dataclass(frozen=True)
class Contractor:
    """One contractor record. ``None`` leaves an element out ("no news"); CLEARED writes
    ``xsi:nil="true"`` (contracts 1.1: "this field is now empty")."""

    record_id: str
    name: str
    nip: str | None = None
    nip_spelling: int = 0
    regon: str | None = None
    city: str | None = None
    phone: str | None = None
    fax: str | None = None
    email: str | None = None
    www: str | None = None
    deleted: bool = False

    def xml(self) -> str:
        parts = [f"<sourceRecordId>{self.record_id}</sourceRecordId>"]
        if self.deleted:
            parts.append("<deleted>true</deleted>")
        parts.append(f"<name>{self.name}</name>")
        parts.append(_element("nip", self.nip and spell_nip(self.nip, self.nip_spelling)))
        parts.append(_element("regon", self.regon))
        if self.city is not None:
            parts.append(f'<address type="registered"><city>{self.city}</city></address>')
        parts.append(_element("phone", self.phone))
        parts.append(_element("fax", self.fax))
        parts.append(_element("email", self.email))
        parts.append(_element("www", self.www))
        return "  <contractor>" + "".join(parts) + "</contractor>\n"


class _Cleared(str):
    """The marker of a field sent as xsi:nil="true"."""


CLEARED = _Cleared("")


def _element(name: str, value: str | None) -> str:
    if value is None:
        return ""
    if value is CLEARED:
        return f'<{name} xsi:nil="true"/>'
    return f"<{name}>{value}</{name}>"


def contractors_file(name: str, source_system: str, records: tuple[Contractor, ...]) -> XmlFile:
    return XmlFile(
        name,
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<contractors xmlns="urn:crm7:contract:contractors:v1" xmlns:xsi="{XSI}"'
        f' sourceSystem="{source_system}">\n'
        + "".join(record.xml() for record in records)
        + "</contractors>\n",
    )


@dataclass(frozen=True)
class Invoice:
    """A sales invoice whose buyer refers to a contractor by its source id, its NIP, or both."""

    record_id: str
    gross: int
    buyer_source_id: str | None = None
    buyer_nip: str | None = None
    deleted: bool = False

    def xml(self) -> str:
        net = round(self.gross / 1.23, 2)
        vat = round(self.gross - net, 2)
        buyer = _element("sourceId", self.buyer_source_id) + _element("nip", self.buyer_nip)
        return (
            f"  <invoice><sourceRecordId>{self.record_id}</sourceRecordId>"
            + ("<deleted>true</deleted>" if self.deleted else "")
            + f"<number>FV/{self.record_id}</number><kind>VAT</kind>"
            + f"<issueDate>2026-10-01</issueDate>{SELLER}"
            + f"<buyer>{buyer}<name>Nabywca</name></buyer>"
            + f"<dueDate>2026-10-15</dueDate><totalGross>{self.gross:.2f}</totalGross>"
            + f"<line><name>Towar</name><net>{net:.2f}</net><vatRate>23</vatRate>"
            + f"<vat>{vat:.2f}</vat><gross>{self.gross:.2f}</gross></line></invoice>\n"
        )


def invoices_file(name: str, source_system: str, records: tuple[Invoice, ...]) -> XmlFile:
    return XmlFile(
        name,
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<invoices xmlns="urn:crm7:contract:invoices:v1" sourceSystem="{source_system}">\n'
        + "".join(record.xml() for record in records)
        + "</invoices>\n",
    )


def company_reference(source_system: str | None, record_id: str | None, nip: str | None) -> str:
    return (
        "<company>"
        + _element("sourceSystem", source_system if record_id else None)
        + _element("sourceRecordId", record_id)
        + _element("nip", nip)
        + "</company>"
    )


@dataclass(frozen=True)
class Event:
    uid: str
    title: str
    day: int
    company_source: str | None = None
    company_record_id: str | None = None
    company_nip: str | None = None
    deleted: bool = False

    def xml(self) -> str:
        company = (
            company_reference(self.company_source, self.company_record_id, self.company_nip)
            if self.company_record_id or self.company_nip
            else ""
        )
        return (
            f"  <event><uid>{self.uid}</uid>"
            + ("<deleted>true</deleted>" if self.deleted else "")
            + f"<title>{self.title}</title>"
            + f"<start>2026-11-{self.day:02d}T10:00:00+01:00</start>"
            + f"<end>2026-11-{self.day:02d}T11:00:00+01:00</end>{company}</event>\n"
        )


def calendar_file(name: str, source_system: str, records: tuple[Event, ...]) -> XmlFile:
    return XmlFile(
        name,
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<calendarEvents xmlns="urn:crm7:contract:calendar_events:v1"'
        f' sourceSystem="{source_system}">\n'
        + "".join(record.xml() for record in records)
        + "</calendarEvents>\n",
    )


@dataclass(frozen=True)
class Financials:
    month: int
    current: int
    overdue: int
    company_record_id: str | None = None
    company_nip: str | None = None
    credit_limit: int | None = None

    def xml(self) -> str:
        last_day = {10: 31, 11: 30}[self.month]
        return (
            "  <financials>"
            + company_reference(None, self.company_record_id, self.company_nip)
            + f"<periodStart>2026-{self.month:02d}-01</periodStart>"
            + f"<periodEnd>2026-{self.month:02d}-{last_day}</periodEnd>"
            + f"<receivablesCurrent>{self.current}.00</receivablesCurrent>"
            + f"<receivablesOverdue>{self.overdue}.00</receivablesOverdue>"
            + _element(
                "creditLimit", None if self.credit_limit is None else f"{self.credit_limit}.00"
            )
            + "</financials>\n"
        )


def financials_file(name: str, source_system: str, records: tuple[Financials, ...]) -> XmlFile:
    return XmlFile(
        name,
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<companyFinancials xmlns="urn:crm7:contract:company_financials:v1"'
        f' sourceSystem="{source_system}">\n'
        + "".join(record.xml() for record in records)
        + "</companyFinancials>\n",
    )
