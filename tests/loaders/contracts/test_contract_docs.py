"""The generated contract pages say everything the XSD says, and their examples are valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import xmlschema
from conftest import ROOT
from xmlschema.validators import XsdAttribute, XsdElement

from loaders.contracts import Contract, all_contracts, read_contract
from loaders.contracts.docs import doc_file_name, write_docs

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BLOCK = re.compile(r"```xml\n(<\?xml.*?)```", re.DOTALL)

PRODUCTS_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:c7="urn:crm7:contract-annotations"
           xmlns="urn:crm7:contract:products:v2" targetNamespace="urn:crm7:contract:products:v2"
           elementFormDefault="qualified" version="2.3">
  <xs:element name="products">
    <xs:complexType><xs:sequence>
      <xs:element ref="product" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="product">
    <xs:annotation>
      <xs:documentation xml:lang="pl">Jeden produkt.</xs:documentation>
      <xs:documentation xml:lang="en">One product.</xs:documentation>
      <xs:appinfo><c7:table name="products"/></xs:appinfo>
    </xs:annotation>
    <xs:complexType><xs:sequence>
      <xs:element name="sku">
        <xs:annotation>
          <xs:documentation xml:lang="pl">Kod towaru.</xs:documentation>
          <xs:documentation xml:lang="en">Stock keeping unit.</xs:documentation>
        </xs:annotation>
        <xs:simpleType><xs:restriction base="xs:token">
          <xs:pattern value="[A-Z]{3}-[0-9]{4}"/>
        </xs:restriction></xs:simpleType>
      </xs:element>
      <xs:element name="price" type="xs:decimal">
        <xs:annotation>
          <xs:documentation xml:lang="pl">Cena netto.</xs:documentation>
          <xs:documentation xml:lang="en">Net price.</xs:documentation>
        </xs:annotation>
      </xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""


@pytest.fixture(scope="module")
def contract() -> Contract:
    return all_contracts(ROOT / "contracts")["urn:crm7:contract:contractors:v1"]


@pytest.fixture(scope="module")
def page(contract: Contract, tmp_path_factory: pytest.TempPathFactory) -> str:
    output = tmp_path_factory.mktemp("docs")
    written = write_docs([contract], output, examples_dir=ROOT / "examples")
    assert written == [output / "contractors-v1.md", output / "index.md"]
    return written[0].read_text(encoding="utf-8")


def cell(text: str) -> str:
    """Text as it appears in a Markdown table cell."""
    return text.replace("|", "\\|")


def docs(component) -> dict[str, str]:
    annotation = component.annotation
    if annotation is None and getattr(component, "ref", None) is not None:
        annotation = component.ref.annotation
    found = {}
    for documentation in annotation.documentation if annotation is not None else ():
        found[documentation.get(XML_LANG)] = " ".join((documentation.text or "").split())
    return found


def components(element: XsdElement):
    """Every element and attribute under (and including) element, depth first."""
    yield element
    for attribute in getattr(element.type, "attributes", {}).values():
        if isinstance(attribute, XsdAttribute):
            yield attribute
    if element.type.is_complex() and not element.type.has_simple_content():
        for child in element.type.content.iter_elements():
            yield from components(child.ref if child.ref is not None else child)


def all_components(contract: Contract) -> list:
    schema = contract.xmlschema()
    return list(components(schema.elements["contractors"]))


def test_every_element_and_attribute_is_documented_in_both_languages(
    contract: Contract, page: str
) -> None:
    found = all_components(contract)
    assert len(found) > 20
    for component in found:
        name = component.local_name
        shown = f"`<{name}>`" if isinstance(component, XsdElement) else f"`{name}`"
        assert shown in page, name
        texts = docs(component)
        assert set(texts) == {"pl", "en"}, f"{name} lacks Polish or English documentation"
        for text in texts.values():
            assert cell(text) in page or text in page, f"{name}: {text[:40]}"


def test_every_raw_column_is_named(contract: Contract, page: str) -> None:
    for table in contract.tables:
        assert f"`raw.{table.name}`" in page
        for column in table.columns:
            assert f"`raw.{table.name}.{column.name}`" in page, (table.name, column.name)
            assert f"| `{column.name}` | {column.pg_type} |" in page


def test_facets_and_occurrences_come_from_the_xsd(contract: Contract, page: str) -> None:
    schema = contract.xmlschema()
    for xsd_type in schema.types.values():
        if not xsd_type.is_simple():
            continue
        for pattern in xsd_type.patterns.regexps if xsd_type.patterns is not None else ():
            assert f"`{cell(pattern)}`" in page, pattern
        for value in xsd_type.enumeration or ():
            assert f"`{value}`" in page
        if xsd_type.max_length:
            assert str(xsd_type.max_length) in page
    assert "| `<address>` | nested element" in page
    assert "| optional; may be `xsi:nil` | 0 to 2 |" in page
    # A key and the deleted flag are never nillable.
    assert "| `<sourceRecordId>` | text, 1–100 characters | required | once |" in page
    assert "| optional (default `false`) | at most once | `raw.contractors.deleted` |" in page
    assert "| `<name>` | text, 1–500 characters | required | once |" in page
    assert "optional (default `PL`)" in page


def test_clearing_a_value_with_xsi_nil_is_stated_with_an_example(page: str) -> None:
    assert "### Clearing a value: `xsi:nil` (version 1.1)" in page
    assert '<fax xsi:nil="true"/>' in page
    assert '<address type="correspondence" xsi:nil="true"/>' in page
    assert 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' in page
    for phrase in ("no news", "`_nil_fields`", "`_is_nil`", "1.0 files are valid 1.1 files"):
        assert phrase in page, phrase


def test_skipped_re_sends_and_derived_phone_columns_are_stated(page: str) -> None:
    assert "status `skipped`" in page and "`duplicate_of_load_id`" in page
    assert "`raw.contractors.fax` (and, derived, `raw.contractors.fax_e164`" in page
    assert "| `fax_e164` | text | Of fax: the number in E.164 form" in page


def test_rules_beyond_the_xsd_are_stated(page: str) -> None:
    for phrase in (
        "`sourceSystem`",
        "--source-system",
        "later file is an update",
        "`raw.rejects`",
        "rest of the file still loads",
        "DOCTYPE",
        "goes to review",
        "A contractor without a NIP goes to review too.",
    ):
        assert phrase in page, phrase


def test_embedded_examples_are_valid(contract: Contract, page: str) -> None:
    examples = XML_BLOCK.findall(page)
    assert len(examples) == 2, "a minimal and a full example"
    minimal, full = examples
    assert len(minimal) < len(full)
    schema = contract.xmlschema()
    for example in examples:
        resource = xmlschema.XMLResource(example.encode(), allow="none", defuse="always")
        assert schema.is_valid(resource), example
    for component in all_components(contract):
        name = component.local_name
        assert f"<{name}" in full or f' {name}="' in full, f"the full example lacks {name}"


def test_index_links_every_contract(contract: Contract, tmp_path: Path) -> None:
    write_docs([contract], tmp_path, examples_dir=ROOT / "examples")
    index = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert f"]({doc_file_name(contract)})" in index
    assert contract.namespace in index


def test_published_docs_are_up_to_date(contract: Contract, page: str) -> None:
    published = ROOT / "docs" / "contracts" / "contractors-v1.md"
    assert published.read_text(encoding="utf-8") == page, "run: crm7 contract docs"


def test_a_new_contract_gets_docs_without_code(tmp_path: Path) -> None:
    xsd = tmp_path / "contracts" / "products" / "v2" / "products.xsd"
    xsd.parent.mkdir(parents=True)
    xsd.write_text(PRODUCTS_XSD, encoding="utf-8")
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "products.xml").write_text(
        '<products xmlns="urn:crm7:contract:products:v2">'
        "<product><sku>ABC-0001</sku><price>12.50</price></product></products>",
        encoding="utf-8",
    )
    products = read_contract(xsd)
    [page_path, _index] = write_docs([products], tmp_path / "docs", examples_dir=examples)
    page = page_path.read_text(encoding="utf-8")
    assert page_path.name == "products-v2.md"
    assert "`urn:crm7:contract:products:v2`" in page
    assert "version 2.3" in page
    for text in ("Kod towaru.", "Stock keeping unit.", "`[A-Z]{3}-[0-9]{4}`", "Net price."):
        assert text in page
    assert "`raw.products.sku`" in page
    assert "`raw.products.price`" in page
    assert "<sku>ABC-0001</sku>" in page


def test_a_union_and_a_choice_are_described(tmp_path: Path) -> None:
    calendar = all_contracts(ROOT / "contracts")["urn:crm7:contract:calendar_events:v1"]
    [page_path, _index] = write_docs([calendar], tmp_path, examples_dir=ROOT / "examples")
    page = page_path.read_text(encoding="utf-8")
    assert (
        "| `<start>` | either `OffsetDateTime` or `LocalDateTime` | required in its branch" in page
    )
    assert "| `<startDate>` | date, ISO 8601 `YYYY-MM-DD` | required in its branch" in page
    assert (ROOT / "docs" / "contracts" / page_path.name).read_text(encoding="utf-8") == page, (
        "run: crm7 contract docs"
    )
