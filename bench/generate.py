"""Write a contractors v1 file of N synthetic records, streaming (any N, flat memory).

    python bench/generate.py 1000000 bench/out/contractors-1m.xml [--source-system erp]
        [--seed 7] [--change-every 100 --change-of FILE]
    python bench/generate.py 1000000 bench/out/documents-1m.xml --entity warehouse_documents
        (N = document lines, 10 per document; products P00000001.. and counterparties
        K00000001.. up to --references, written by --entity products / contractors)

NIPs are real checksummed numbers derived from the record number, so every record
matches a company; spellings vary the way real exports do.
"""

from __future__ import annotations

import argparse
import random
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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            f'<contractors xmlns="urn:crm7:contract:contractors:v1" sourceSystem="{source_system}">\n'
        )
        for number in range(start, start + count):
            changed = change_every and number % change_every == 0
            out.write(record_xml(number, version if changed else 0))
        out.write("</contractors>\n")
    return path


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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            f'<products xmlns="urn:crm7:contract:products:v1" sourceSystem="{source_system}">\n'
        )
        for number in range(1, count + 1):
            out.write(product_xml(number))
        out.write("</products>\n")
    return path


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
    path.parent.mkdir(parents=True, exist_ok=True)
    documents = max(1, lines // LINES_PER_DOCUMENT)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            '<warehouseDocuments xmlns="urn:crm7:contract:warehouse_documents:v1" '
            f'sourceSystem="{source_system}">\n'
        )
        for number in range(start, start + documents):
            changed = change_every and number % change_every == 0
            out.write(document_xml(number, references, version if changed else 0))
        out.write("</warehouseDocuments>\n")
    return path


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
        choices=("contractors", "products", "warehouse_documents"),
        default="contractors",
    )
    parser.add_argument("--references", type=int, default=1000)
    args = parser.parse_args()
    if args.entity == "products":
        write_products_file(args.output, args.count, args.source_system)
    elif args.entity == "warehouse_documents":
        write_documents_file(
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
