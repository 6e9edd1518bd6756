"""The plain baseline crm7 is measured against: lxml iterparse + COPY, nothing else.

No validation, no rejects, no lineage columns, no child tables beyond what the record
holds, no registry: the floor of what streaming this XML into PostgreSQL costs here.

    python bench/baseline_lxml_copy.py FILE   (PG* variables name the database)
"""

from __future__ import annotations

import sys
import time

import psycopg
from lxml import etree

NS = "{urn:crm7:contract:contractors:v1}"
FIELDS = ("sourceRecordId", "name", "shortName", "nip", "regon", "www")


def main(path: str) -> None:
    started = time.perf_counter()
    count = 0
    with psycopg.connect("") as conn:
        conn.execute(
            "create temporary table baseline (source_record_id text, name text, short_name text, "
            "nip text, regon text, www text, city text, phone text, email text)"
        )
        with conn.cursor().copy("copy baseline from stdin") as copy:
            for _event, element in etree.iterparse(path, events=("end",), tag=f"{NS}contractor"):
                row = [element.findtext(NS + field) for field in FIELDS]
                row.append(element.findtext(f"{NS}address/{NS}city"))
                row.append(element.findtext(NS + "phone"))
                row.append(element.findtext(NS + "email"))
                copy.write_row(row)
                count += 1
                element.clear()
                parent = element.getparent()
                while element.getprevious() is not None:
                    del parent[0]
    elapsed = time.perf_counter() - started
    print(f"{count} records in {elapsed:.2f} s: {count / elapsed:,.0f} records/s")


if __name__ == "__main__":
    main(sys.argv[1])
