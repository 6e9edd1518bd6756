"""A contract file's header: which contract it follows, read from its root element alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from loaders.contracts import Contract, contract_for_namespace
from loaders.errors import FileRejected
from loaders.xml_safety import read_root_start


@dataclass(frozen=True)
class FileHeader:
    contract: Contract
    root_attributes: dict[str, str]


def read_header(path: Path) -> FileHeader:
    """The contract a file follows, from its root element, read without touching records.

    Raises HostileXmlError for a DTD, FileRejected for anything not well-formed up to the
    root, UnknownContractError for a root in no known contract namespace.
    """
    root = read_root_start(path)
    contract = contract_for_namespace(etree.QName(root.tag).namespace)
    if root.tag != contract.root_tag:
        raise FileRejected(
            str(path),
            f"root element <{etree.QName(root.tag).localname}> is not the root of "
            f"contract {contract.label}: expected <{etree.QName(contract.root_tag).localname}>",
        )
    return FileHeader(contract, root.attributes)
