"""Write a contractors v1 file of N synthetic records, streaming (any N, flat memory).

    python bench/generate.py 1000000 bench/out/contractors-1m.xml [--source-system erp]
        [--start 1] [--change-every 100 --version 2]
    python bench/generate.py 1000000 bench/out/documents-1m.xml --entity warehouse_documents
    python bench/generate.py 1000000 bench/out/invoices-1m.xml --entity invoices
        (N = document / invoice lines, 10 per document or invoice; products P00000001..
        and counterparties K00000001.. up to --references, written by --entity products /
        contractors)

--change-every N writes every Nth record as version --version: the 1% change files of
bench/run.py are the first 1% of the records, each changed (--change-every 1 --version 2).

NIPs are real checksummed numbers derived from the record number, so every record
matches a company; spellings vary the way real exports do.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from loaders.identifiers import REGON9_WEIGHTS, nip_check_digit

CITIES = ("Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Lublin")
STREETS = ("Marszałkowska", "Długa", "Polna", "Leśna", "Słoneczna", "Krótka", "Szkolna")
FORMS = ("Sp. z o.o.", "S.A.", "sp.j.", "Sp. k.")


def nip_for(number: int) -> str:
    """A valid NIP for any number: 9 digits from the number, then the check digit."""
    base = 100_000_000 + (number * 7919) % 899_999_999
    while (check := nip_check_digit(str(base))) is None:
        base += 1
    return f"{base}{check}"


def regon_for(number: int) -> str:
    base = 10_000_000 + (number * 104729) % 89_999_999
    digits = f"{base:08d}"
    check = sum(w * int(d) for w, d in zip(REGON9_WEIGHTS, digits, strict=True)) % 11 % 10
    return f"{digits}{check}"


def spell_nip(nip: str, variant: int) -> str:
    if variant == 1:
        return f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}"
    if variant == 2:
        return f"PL {nip}"
    if variant == 3:
        return f"{nip[:3]}-{nip[3:5]}-{nip[5:7]}-{nip[7:]}"
    return nip


def write_records(
    path: Path, root: str, contract: str, source_system: str, records: Iterable[str]
) -> Path:
    """Stream ``records`` (XML fragments) into a file of contract ``contract``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            f'<{root} xmlns="urn:crm7:contract:{contract}:v1" sourceSystem="{source_system}">\n'
        )
        out.writelines(records)
        out.write(f"</{root}>\n")
    return path


def record_xml(number: int, version: int = 0) -> str:
    rng = random.Random(number * 31 + version)
    nip = nip_for(number)
    city = CITIES[number % len(CITIES)]
    name = f"Firma {number} {FORMS[number % len(FORMS)]}" + (f" (v{version})" if version else "")
    return (
        "  <contractor>\n"
        f"    <sourceRecordId>K{number:08d}</sourceRecordId>\n"
        f"    <sourceUpdatedAt>2026-0{1 + number % 9}-1{number % 10}T10:00:00Z</sourceUpdatedAt>\n"
        f"    <name>{escape(name)}</name>\n"
        f"    <shortName>F{number}</shortName>\n"
        f"    <nip>{spell_nip(nip, number % 4)}</nip>\n"
        f"    <regon>{regon_for(number)}</regon>\n"
        '    <address type="registered">\n'
        f"      <street>{STREETS[number % len(STREETS)]}</street>\n"
        f"      <buildingNumber>{1 + number % 200}</buildingNumber>\n"
        f"      <postalCode>{rng.randint(0, 99):02d}-{rng.randint(0, 999):03d}</postalCode>\n"
        f"      <city>{city}</city>\n"
        "    </address>\n"
        f'    <phone type="landline">+48 22 {rng.randint(100, 999)} {rng.randint(10, 99)} '
        f"{rng.randint(10, 99)}</phone>\n"
        f"    <email>Biuro@Firma{number}.pl</email>\n"
        f"    <www>www.firma{number}.pl</www>\n"
        "  </contractor>\n"
    )


def write_file(
    path: Path,
    count: int,
    source_system: str = "erp",
    start: int = 1,
    change_every: int = 0,
    version: int = 1,
) -> Path:
    """Records start..start+count-1; with change_every, every Nth record's name changes."""
    records = (
        record_xml(number, version if change_every and number % change_every == 0 else 0)
        for number in range(start, start + count)
    )
    return write_records(path, "contractors", "contractors", source_system, records)


DOCUMENT_TYPES = ("WZ", "PZ", "RW", "PW", "MM")
LINES_PER_DOCUMENT = 10


def product_xml(number: int) -> str:
    return (
        "  <product>\n"
        f"    <sourceRecordId>P{number:08d}</sourceRecordId>\n"
        f"    <code>IDX-{number}</code>\n"
        f"    <name>Towar {number}</name>\n"
        "    <baseUnit>szt</baseUnit>\n"
        "    <vatRate>23</vatRate>\n"
        "    <unit><code>opak</code><factor>12</factor></unit>\n"
        "  </product>\n"
    )


def write_products_file(path: Path, count: int, source_system: str = "erp") -> Path:
    records = (product_xml(number) for number in range(1, count + 1))
    return write_records(path, "products", "products", source_system, records)


def document_xml(number: int, references: int, version: int = 0) -> str:
    """Document number with LINES_PER_DOCUMENT lines (one fewer in a changed version)."""
    document_type = DOCUMENT_TYPES[number % len(DOCUMENT_TYPES)]
    line_count = LINES_PER_DOCUMENT - (1 if version else 0)
    lines = []
    total = 0
    for position in range(1, line_count + 1):
        product = 1 + (number * 7 + position) % references
        quantity = 1 + (number + position) % 20
        price = 10 + (product % 90) + version
        total += quantity * price
        lines.append(
            f"    <line><productId>P{product:08d}</productId><quantity>{quantity}</quantity>"
            f"<unitPrice>{price}.00</unitPrice><value>{quantity * price}.00</value></line>\n"
        )
    target = "    <targetWarehouse>MG2</targetWarehouse>\n" if document_type == "MM" else ""
    counterparty = (
        f"    <counterpartyId>K{1 + number % references:08d}</counterpartyId>\n"
        if document_type in ("WZ", "PZ")
        else ""
    )
    return (
        "  <document>\n"
        f"    <sourceRecordId>D{number:08d}</sourceRecordId>\n"
        f"    <type>{document_type}</type>\n"
        f"    <number>{document_type}/{number}/2026</number>\n"
        f"    <issueDate>2026-{1 + number % 12:02d}-{1 + number % 28:02d}</issueDate>\n"
        "    <warehouse>MAIN</warehouse>\n"
        f"{target}{counterparty}"
        f"    <totalValue>{total}.00</totalValue>\n" + "".join(lines) + "  </document>\n"
    )


def write_documents_file(
    path: Path,
    lines: int,
    source_system: str = "erp",
    start: int = 1,
    change_every: int = 0,
    version: int = 1,
    references: int = 1000,
) -> Path:
    """Documents start.. holding `lines` lines in all; with change_every, every Nth
    document is a new version with one line fewer and other prices."""
    documents = max(1, lines // LINES_PER_DOCUMENT)
    records = (
        document_xml(
            number, references, version if change_every and number % change_every == 0 else 0
        )
        for number in range(start, start + documents)
    )
    return write_records(path, "warehouseDocuments", "warehouse_documents", source_system, records)


LINES_PER_INVOICE = 10
SELLER = (  # our company: every invoice is a sales invoice
    "    <seller>\n"
    f"      <nip>{nip_for(0)}</nip>\n"
    "      <name>Hurtownia Bench Sp. z o.o.</name>\n"
    "      <address>ul. Przykładowa 1, 26-600 Radom</address>\n"
    "    </seller>\n"
)
BANK_ACCOUNT = "PL61 1090 1014 0000 0712 1981 2874"
PLN_PER_EUR = "4.2817"
FIRST_ISSUE_DATE = date(2026, 1, 1)


def money(grosze: int) -> str:
    """An amount in grosze as the contract writes it: -12.05."""
    sign = "-" if grosze < 0 else ""
    return f"{sign}{abs(grosze) // 100}.{abs(grosze) % 100:02d}"


def vat_of(net: int, rate: int) -> int:
    """round(net * rate%, 2) in grosze, halves away from zero (as PostgreSQL's round)."""
    vat, rest = divmod(abs(net) * rate, 100)
    vat += rest >= 50
    return vat if net >= 0 else -vat


def invoice_issue_date(number: int) -> date:
    if number % 50 == 0:  # a correction, ten days after the invoice it corrects
        return invoice_issue_date(number - 7) + timedelta(days=10)
    return FIRST_ISSUE_DATE + timedelta(days=number % 300)


def invoice_xml(number: int, references: int, version: int = 0) -> str:
    """Invoice number with LINES_PER_INVOICE lines. Every 50th is a correction (KOR) of
    invoice number - 7: one unit of each of its lines returned, amounts negative. Every
    20th (from the 7th) is in EUR. Odd ones are paid: in full, or 40% + 30% (those
    corrected later: the payments stay within the gross after the correction). A changed
    version raises every unit price by `version` PLN, and an unpaid invoice (not a correction)
    gets paid 50%."""
    correction = number % 50 == 0
    original = number - 7 if correction else number
    issued = invoice_issue_date(number)
    lines = []
    rates: dict[int, list[int]] = {}
    for position in range(1, LINES_PER_INVOICE + 1):
        product = 1 + (original * 7 + position) % references
        quantity = -1 if correction else 1 + (number + position) % 20
        price = 1000 + product % 90 * 100 + product * 37 % 100 + version * 100
        rate = 8 if product % 5 == 0 else 23
        net = quantity * price
        vat = vat_of(net, rate)
        totals = rates.setdefault(rate, [0, 0])
        totals[0] += net
        totals[1] += vat
        lines.append(
            f"    <line><productId>P{product:08d}</productId><name>Towar {product}</name>"
            f"<quantity>{quantity}</quantity><unit>szt</unit>"
            f"<unitNetPrice>{money(price)}</unitNetPrice><net>{money(net)}</net>"
            f"<vatRate>{rate}</vatRate><vat>{money(vat)}</vat>"
            f"<gross>{money(net + vat)}</gross></line>\n"
        )
    total_net = sum(net for net, _ in rates.values())
    total_vat = sum(vat for _, vat in rates.values())
    gross = total_net + total_vat
    vat_totals = "".join(
        f"    <vatTotal><vatRate>{rate}</vatRate><net>{money(net)}</net><vat>{money(vat)}</vat>"
        f"<gross>{money(net + vat)}</gross></vatTotal>\n"
        for rate, (net, vat) in rates.items()
    )
    if correction:
        shares = ()
    elif number % 4 == 1 and number % 50 != 43:
        shares = (100,)
    elif number % 2:
        shares = (40, 30)
    else:
        shares = (50,) if version else ()
    payments = "".join(
        f"    <payment><date>{issued + timedelta(days=5 + 10 * index)}</date>"
        f"<amount>{money(gross * share // 100)}</amount>"
        f"<reference>PRZELEW/{number}/{index + 1}</reference></payment>\n"
        for index, share in enumerate(shares)
    )
    prefix = "KOR" if correction else "FV"
    corrected = (
        f"    <correctedInvoiceId>F{original:08d}</correctedInvoiceId>\n"
        f"    <correctedInvoiceNumber>FV/2026/{invoice_issue_date(original).month:02d}/"
        f"{original:06d}</correctedInvoiceNumber>\n"
        "    <correctionReason>Zwrot towaru</correctionReason>\n"
        if correction
        else ""
    )
    currency = (
        f"    <currency>EUR</currency>\n    <exchangeRate>{PLN_PER_EUR}</exchangeRate>\n"
        f"    <exchangeRateDate>{issued - timedelta(days=1)}</exchangeRateDate>\n"
        if original % 20 == 7
        else "    <currency>PLN</currency>\n"
    )
    buyer = 1 + original % references  # a correction has its invoice's buyer
    return (
        "  <invoice>\n"
        f"    <sourceRecordId>F{number:08d}</sourceRecordId>\n"
        f"    <number>{prefix}/2026/{issued.month:02d}/{number:06d}</number>\n"
        f"    <kind>{'KOR' if correction else 'VAT'}</kind>\n"
        f"    <issueDate>{issued}</issueDate>\n"
        f"    <saleDate>{issued - timedelta(days=number % 3)}</saleDate>\n"
        f"{corrected}{SELLER}"
        "    <buyer>\n"
        f"      <sourceId>K{buyer:08d}</sourceId>\n"
        f"      <nip>{spell_nip(nip_for(buyer), buyer % 4)}</nip>\n"
        f"      <name>Firma {buyer} {FORMS[buyer % len(FORMS)]}</name>\n"
        f"      <address>ul. {STREETS[buyer % len(STREETS)]} {1 + buyer % 200}, "
        f"{CITIES[buyer % len(CITIES)]}</address>\n"
        "    </buyer>\n"
        f"{currency}"
        "    <paymentForm>6</paymentForm>\n"
        f"    <dueDate>{issued + timedelta(days=14 if number % 2 else 30)}</dueDate>\n"
        f"    <bankAccount>{BANK_ACCOUNT}</bankAccount>\n"
        f"    <totalNet>{money(total_net)}</totalNet>\n"
        f"    <totalVat>{money(total_vat)}</totalVat>\n"
        f"    <totalGross>{money(gross)}</totalGross>\n"
        f"{vat_totals}{''.join(lines)}{payments}"
        "  </invoice>\n"
    )


def write_invoices_file(
    path: Path,
    lines: int,
    source_system: str = "erp",
    start: int = 1,
    change_every: int = 0,
    version: int = 1,
    references: int = 1000,
) -> Path:
    """Invoices start.. holding `lines` lines in all; with change_every, every Nth
    invoice is a new version with other amounts and payments."""
    invoices = max(1, lines // LINES_PER_INVOICE)
    records = (
        invoice_xml(
            number, references, version if change_every and number % change_every == 0 else 0
        )
        for number in range(start, start + invoices)
    )
    return write_records(path, "invoices", "invoices", source_system, records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("output", type=Path)
    parser.add_argument("--source-system", default="erp")
    parser.add_argument("--start", type=int, default=1)
    parser.add_argument("--change-every", type=int, default=0)
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument(
        "--entity",
        choices=("contractors", "products", "warehouse_documents", "invoices"),
        default="contractors",
    )
    parser.add_argument("--references", type=int, default=1000)
    args = parser.parse_args()
    if args.entity == "products":
        write_products_file(args.output, args.count, args.source_system)
    elif args.entity in ("warehouse_documents", "invoices"):
        writer = (
            write_documents_file if args.entity == "warehouse_documents" else write_invoices_file
        )
        writer(
            args.output,
            args.count,
            args.source_system,
            args.start,
            args.change_every,
            args.version,
            args.references,
        )
    else:
        write_file(
            args.output, args.count, args.source_system, args.start, args.change_every, args.version
        )


if __name__ == "__main__":
    main()
