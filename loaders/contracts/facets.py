"""What a contract allows in one field, read from its XSD: for code that writes contract files.

A converter (KSeF today; EDI++, JPK or CSV later) checks each value against the field it
writes it to, so that its output validates and an input that would not is named by its
own element. Reading the limits here keeps the XSD the one place they are written: a
longer ``Text100`` or a new invoice kind changes the converters without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loaders.contracts.model import XSD_NS, Contract
from loaders.errors import ContractError


@dataclass(frozen=True)
class FieldFacets:
    """The facets of one simple-typed element or attribute of a contract."""

    path: str  # as asked for: "invoice/seller/name", "invoices/@sourceSystem"
    simple_type: Any  # the xmlschema simple type, for accepts()
    max_length: int | None
    fraction_digits: int | None
    total_digits: int | None
    enumeration: tuple[str, ...]
    patterns: tuple[str, ...]  # XSD regular expressions, the type's and its bases'

    def accepts(self, value: str) -> bool:
        """Whether ``value``, written as is, is valid here (pattern, length, digits, values).

        Strict about whitespace: a value the XSD accepts only once its whitespace is
        collapsed (" erp" for a token) is not accepted, since a writer writes it as is.
        """
        collapses = getattr(self.simple_type, "white_space", None) == "collapse"
        if collapses and value != " ".join(value.split()):
            return False
        return bool(self.simple_type.text_is_valid(value))


def field_facets(contract: Contract, path: str) -> FieldFacets:
    """The facets of the field at ``path``: local names from a global element down,
    ``@name`` for an attribute of the last element (``invoices/@sourceSystem``)."""
    steps = path.split("/")
    schema = contract.xmlschema()
    component = schema.elements.get(steps[0])
    if component is None:
        raise ContractError(f"contract {contract.label} has no global element {steps[0]!r}")
    for step in steps[1:]:
        component = _child(contract, component, step, path)
    simple_type = component.type
    if not simple_type.is_simple():
        simple_type = simple_type.content if simple_type.has_simple_content() else None
    if simple_type is None:
        raise ContractError(f"contract {contract.label}: {path} is not a simple-typed field")
    return FieldFacets(
        path=path,
        simple_type=simple_type,
        max_length=getattr(simple_type, "max_length", None),
        fraction_digits=_facet(simple_type, "fractionDigits"),
        total_digits=_facet(simple_type, "totalDigits"),
        enumeration=tuple(getattr(simple_type, "enumeration", None) or ()),
        patterns=tuple(_patterns(simple_type)),
    )


def _child(contract: Contract, element, step: str, path: str):
    if step.startswith("@"):
        attribute = getattr(element.type, "attributes", {}).get(step[1:])
        if attribute is not None:
            return attribute
    else:
        for child in element.type.content.iter_elements():
            if child.local_name == step:
                return child.ref if getattr(child, "ref", None) is not None else child
    raise ContractError(f"contract {contract.label} has no field {path!r} (at {step!r})")


def _patterns(simple_type):
    current = simple_type
    while current is not None and not current.is_primitive():
        patterns = getattr(current, "patterns", None)
        if patterns is not None:
            yield from patterns.regexps
        current = getattr(current, "base_type", None)


def _facet(simple_type, name: str) -> int | None:
    """A facet's value, from the type or the type it restricts."""
    facet = simple_type.get_facet(f"{{{XSD_NS}}}{name}")
    return None if facet is None else int(facet.value)
