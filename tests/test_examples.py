"""examples/*.xml validate record by record exactly as examples/README.md says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from loaders.contracts import Contract, all_contracts

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SAFE_PARSER = {"resolve_entities": False, "no_network": True, "load_dtd": False}
ROW = re.compile(
    r"^\| `(?P<file>[\w.-]+\.xml)` \| (?P<source>\w+) \| (?P<records>\d+) \| (?P<valid>\d+) "
    r"\| (?P<invalid>[^|]+) \|$"
)
INVALID = re.compile(r"(?P<number>\d+) \(line (?P<line>\d+)\)")


def expectations() -> dict[str, dict]:
    """The README's validation table: file -> source system, counts, invalid records."""
    found = {}
    for line in (EXAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            invalid = {int(m["number"]): int(m["line"]) for m in INVALID.finditer(match["invalid"])}
            found[match["file"]] = {
                "source": match["source"],
                "records": int(match["records"]),
                "valid": int(match["valid"]),
                "invalid": invalid,
            }
    return found


def contract_of(path: Path) -> Contract:
    """The contract an example follows: by its root element's namespace."""
    root = etree.parse(str(path), etree.XMLParser(**SAFE_PARSER)).getroot()
    return all_contracts(ROOT / "contracts")[etree.QName(root).namespace]


def record_errors(schema: xmlschema.XMLSchema, path: Path) -> tuple[etree._Element, list]:
    """The root, and per record (number, line, errors) with each record validated alone."""
    tree = etree.parse(str(path), etree.XMLParser(**SAFE_PARSER, remove_comments=True))
    assert tree.docinfo.doctype == "", f"{path.name} must not declare a DOCTYPE"
    root = tree.getroot()
    results = []
    for number, element in enumerate(root, start=1):
        shell = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
        shell.append(etree.fromstring(etree.tostring(element)))
        errors = list(schema.iter_errors(xmlschema.XMLResource(shell, allow="none")))
        results.append((number, element.sourceline, element.tag, errors))
    return root, results


def test_readme_lists_every_example() -> None:
    assert set(expectations()) == {path.name for path in EXAMPLES.glob("*.xml")}


@pytest.mark.parametrize("name", sorted(expectations()))
def test_example_validates_as_documented(name: str) -> None:
    expected = expectations()[name]
    contract = contract_of(EXAMPLES / name)
    schema = contract.xmlschema()
    root, results = record_errors(schema, EXAMPLES / name)

    assert root.tag == contract.root_tag
    assert root.nsmap.get(None) == contract.namespace, (
        "the contract namespace is the default namespace"
    )
    assert root.get("sourceSystem") == expected["source"]
    records = {record.tag for record in contract.records}
    assert all(tag in records for _number, _line, tag, _errors in results)
    assert len(results) == expected["records"]
    invalid = {number: line for number, line, _tag, errors in results if errors}
    assert invalid == expected["invalid"]
    assert len(results) - len(invalid) == expected["valid"]
    if not invalid:
        assert schema.is_valid(str(EXAMPLES / name))


def test_example_ids_have_valid_checksums_except_the_documented_bad_one() -> None:
    nip = pytest.importorskip("stdnum.pl.nip")
    regon = pytest.importorskip("stdnum.pl.regon")
    bad = []
    for path in sorted(EXAMPLES.glob("*.xml")):
        tree = etree.parse(str(path), etree.XMLParser(**SAFE_PARSER))
        for element in tree.iter():
            if not isinstance(element.tag, str) or etree.QName(element).localname not in (
                "nip",
                "regon",
            ):
                continue
            value = (element.text or "").strip()
            check = nip if element.tag.endswith("nip") else regon
            if re.search(r"\d{3}", value) and not check.is_valid(check.compact(value)):
                bad.append((path.name, value))
    assert bad == [("erp_contractors.xml", "637-972-35-21")]
