"""Converter benchmarks: ``crm7 convert table / jpk / edipp`` on generated inputs.

    .venv/bin/python bench/convert.py --csv-rows 1000000 --jpk-rows 100000 --epp-documents 100000

Each input is generated into bench/out/ (git-ignored), then converted by ``crm7 convert``
in a separate process, as a user runs it; wall time and peak memory (PSS of the process
tree, sampled every 50 ms: bench/run.py's measure) are printed as a Markdown table.

- CSV: contractors in the layout of examples/profiles/kontrahenci_csv.yml (cp1250, ";",
  13 columns, checksummed NIPs in several spellings, a street to split), ~150 bytes a row.
- JPK_V7M (2): one SprzedazWiersz per row, two rates each (K_19/K_20, K_15/K_16), a
  counterparty of 1,000 distinct NIPs.
- EDI++: an FS invoice per document (62-field header, two goods lines of 22 fields), with
  a KONTRAHENCI block of 1,000 contractors and TOWARY of 2 products at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import nip_for, spell_nip
from bench.run import measure

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "convert"
CRM7 = str(ROOT / ".venv" / "bin" / "crm7")
V7M2 = "http://crd.gov.pl/wzor/2021/07/08/07081/"
ETD = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2021/06/08/eD/DefinicjeTypy/"


def write_csv(path: Path, rows: int) -> Path:
    header = (
        "Kod;Nazwa skrócona;Nazwa pełna;NIP;REGON;Adres;Kod pocztowy;Miejscowość;Kraj;"
        "Telefon;E-mail;WWW;Opiekun\r\n"
    )
    with path.open("w", encoding="cp1250", newline="") as handle:
        handle.write(header)
        batch = []
        for n in range(rows):
            nip = spell_nip(nip_for(n), n % 4)
            batch.append(
                f"K-{n:07d};Firma {n};Przedsiębiorstwo Żółć nr {n} Sp. z o.o.;{nip};;"
                f"ul. Długa {n % 200 + 1}/{n % 30 + 1};{n % 90 + 10:02d}-{n % 999:03d};"
                f"Łódź;PL;+48 22 {n % 1000:03d} {n % 100:02d} {n % 97:02d};"
                f"biuro{n}@firma.example;www.firma{n}.example;Jan\r\n"
            )
            if len(batch) == 10_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
    return path


def write_jpk(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            f'<?xml version="1.0" encoding="utf-8"?>\n<tns:JPK xmlns:tns="{V7M2}" '
            f'xmlns:etd="{ETD}">\n<tns:Naglowek><tns:KodFormularza kodSystemowy="JPK_V7M (2)" '
            'wersjaSchemy="1-0E">JPK_VAT</tns:KodFormularza><tns:WariantFormularza>2'
            "</tns:WariantFormularza><tns:Rok>2026</tns:Rok><tns:Miesiac>1</tns:Miesiac>"
            '</tns:Naglowek>\n<tns:Podmiot1 rola="Podatnik"><tns:OsobaNiefizyczna>'
            "<tns:NIP>7018631981</tns:NIP><tns:PelnaNazwa>Firma rodzinna s.c.</tns:PelnaNazwa>"
            "</tns:OsobaNiefizyczna></tns:Podmiot1>\n<tns:Ewidencja>\n"
        )
        batch = []
        for n in range(rows):
            batch.append(
                f"<tns:SprzedazWiersz><tns:LpSprzedazy>{n + 1}</tns:LpSprzedazy>"
                f"<tns:NrKontrahenta>{nip_for(n % 1000)}</tns:NrKontrahenta>"
                f"<tns:NazwaKontrahenta>Kontrahent {n % 1000}</tns:NazwaKontrahenta>"
                f"<tns:DowodSprzedazy>FV/{n}/2026</tns:DowodSprzedazy>"
                "<tns:DataWystawienia>2026-01-15</tns:DataWystawienia>"
                "<tns:K_15>100.00</tns:K_15><tns:K_16>5.00</tns:K_16>"
                f"<tns:K_19>{n % 1000}.50</tns:K_19><tns:K_20>{(n % 1000) * 0.23:.2f}</tns:K_20>"
                "</tns:SprzedazWiersz>\n"
            )
            if len(batch) == 10_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
        handle.write("</tns:Ewidencja>\n</tns:JPK>\n")
    return path


def _epp_header(n: int, nip: str, contractors: int) -> str:
    fields = [""] * 62
    values = {
        1: '"FS"',
        2: "1",
        3: "0",
        4: str(n + 1),
        7: f'"FS {n + 1}/2026"',
        12: f'"K{n % 1000}"',
        13: f'"Firma {n % 1000}"',
        14: f'"Firma {n % 1000} Sp. z o.o."',
        15: '"Łódź"',
        16: '"90-001"',
        17: '"ul. Długa 1"',
        18: f'"{nip}"',
        22: "20260115000000",
        23: "20260115000000",
        24: "20260115000000",
        25: "2",
        26: "1",
        27: '"Hurtowa"',
        28: "260.0000",
        29: "53.0000",
        30: "313.0000",
        31: "0.0000",
        34: '"Przelew"',
        35: "20260129000000",
        47: '"PLN"',
        48: "1.0000",
        55: "0",
        60: '"Polska"',
        61: '"PL"',
        62: "0",
    }
    for number, value in values.items():
        fields[number - 1] = value
    return ",".join(fields)


def _epp_line(number: int, code: str, net: str, vat: str, gross: str, rate: str) -> str:
    return (
        f'{number},1,"{code}",1,1,0,0,0.0000,0.0000,"szt.",1.0000,1.0000,10.0000,{net},'
        f"{gross},{rate},{net},{vat},{gross},10.0000,,"
    )


def write_epp(path: Path, documents: int, contractors: int = 1000) -> Path:
    info = (
        '"1.11",3,1250,"bench","BENCH","Bench","Hurtownia Bench Sp. z o.o.","Łódź","90-001",'
        '"ul. Zmyślona 7","7253582585","MAG","Główny","",,1,20260101000000,20260131000000,'
        '"bench",20260201000000,"Polska","PL","7253582585",0'
    )
    with path.open("w", encoding="cp1250", newline="") as handle:
        handle.write(f"[INFO]\r\n{info}\r\n\r\n")
        batch = []
        for n in range(documents):
            batch.append(
                f"[NAGLOWEK]\r\n{_epp_header(n, nip_for(n % contractors), contractors)}\r\n\r\n[ZAWARTOSC]\r\n"
                f"{_epp_line(1, 'KAWA', '200.0000', '46.0000', '246.0000', '23.0000')}\r\n"
                f"{_epp_line(2, 'KSIAZKA', '60.0000', '3.0000', '63.0000', '5.0000')}\r\n\r\n"
            )
            if len(batch) == 5_000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
        handle.write('[NAGLOWEK]\r\n"KONTRAHENCI"\r\n\r\n[ZAWARTOSC]\r\n')
        for k in range(contractors):
            handle.write(
                f'0,"K{k}","Firma {k}","Firma {k} Sp. z o.o.","Łódź","90-001","ul. Długa 1",'
                f'"{nip_for(k)}",,,,,,,,,,,,,,,,,,,,"Polska","PL",0,"PL"\r\n'
            )
        handle.write('\r\n[NAGLOWEK]\r\n"TOWARY"\r\n\r\n[ZAWARTOSC]\r\n')
        for code, rate in (("KAWA", "23"), ("KSIAZKA", "5")):
            fields = [""] * 42
            fields[:12] = [
                "1",
                f'"{code}"',
                "",
                "",
                f'"{code}"',
                "",
                "",
                "",
                "",
                '"szt."',
                f'"{rate}"',
                f"{rate}.0000",
            ]
            handle.write(",".join(fields) + "\r\n")
        handle.write("\r\n")
    return path


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system of the converter process) and peak PSS.

    The CPU seconds tell what the converter costs when the 2 cores are shared: on a busy
    machine the wall time is longer by the time it waited for a core.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, peak, _out = measure(command, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak


def row(name: str, records: int, path: Path, seconds: float, cpu: float, peak: int) -> str:
    size = path.stat().st_size / 1e6
    return (
        f"| {name} | {records:,} | {size:,.1f} | {seconds:.1f} | {records / seconds:,.0f} | "
        f"{cpu:.1f} | {records / cpu:,.0f} | {peak / 1e6:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--jpk-rows", type=int, default=100_000)
    parser.add_argument("--epp-documents", type=int, default=100_000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    lines = [
        "| converter | records | input MB | wall s | records/s (wall) | CPU s | records/s (CPU) "
        "| peak PSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if args.csv_rows:
        source = write_csv(OUT / "contractors.csv", args.csv_rows)
        seconds, cpu, peak = timed(
            [
                CRM7,
                "convert",
                "table",
                str(source),
                "--profile",
                str(ROOT / "examples" / "profiles" / "kontrahenci_csv.yml"),
                "--output",
                str(OUT / "contractors.xml"),
            ],
            env,
        )
        lines.append(row("table (CSV -> contractors)", args.csv_rows, source, seconds, cpu, peak))
    if args.jpk_rows:
        source = write_jpk(OUT / "jpk_v7m.xml", args.jpk_rows)
        seconds, cpu, peak = timed(
            [CRM7, "convert", "jpk", str(source), "--output", str(OUT / "jpk")], env
        )
        lines.append(
            row("jpk (JPK_V7M rows -> invoices)", args.jpk_rows, source, seconds, cpu, peak)
        )
    if args.epp_documents:
        source = write_epp(OUT / "export.epp", args.epp_documents)
        seconds, cpu, peak = timed(
            [CRM7, "convert", "edipp", str(source), "--output", str(OUT / "epp")], env
        )
        lines.append(
            row(
                "edipp (.epp documents -> invoices)", args.epp_documents, source, seconds, cpu, peak
            )
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
