"""Reading XML that nobody has vouched for: the one guard every crm7 XML reader uses.

XML is hostile until validated. Every parser is built from SAFE_PARSER_OPTIONS (entity
resolution, DTD loading and network access off), and a document that declares a DTD at
all is refused before its first element is read: that is where entity bombs and external
entities live, and neither a data contract nor an e-invoice has any use for them.

The loader's reader, the contract docs' example reader and the XML converters (KSeF one
document at a time with parse_document, JPK streamed with iterparse_safely) all read
through this module, so the rule is written once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from loaders.errors import FileRejected, HostileXmlError

SAFE_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
DTD_REFUSED = (
    "the file declares a DTD (<!DOCTYPE ...>); crm7 refuses DTDs and entities "
    "(they enable XXE and entity-expansion attacks). Export the file without a DOCTYPE."
)
PEEK_CHUNK = 64 * 1024
ROOT_PEEK_LIMIT = 4 * 1024 * 1024  # a contract file's root element starts long before this


def safe_parser(**options) -> etree.XMLParser:
    """An lxml parser with the safe options (``options`` add to them, e.g. a target)."""
    return etree.XMLParser(**SAFE_PARSER_OPTIONS, **options)


def syntax_error(path: Path, error: etree.XMLSyntaxError) -> FileRejected:
    """libxml2's syntax error as a FileRejected with the file's line and column."""
    line, column = error.position if error.position else (error.lineno, None)
    message = re.sub(r",? line \d+, column \d+$", "", error.msg or str(error))
    return FileRejected(str(path), f"not well-formed XML: {message}", line, column)


@dataclass(frozen=True)
class RootStart:
    """The root element's tag (Clark notation) and attributes, as its start tag has them."""

    tag: str
    attributes: dict[str, str]


class _RootFound(Exception):
    pass


class _RootTarget:
    """Parser target that stops at the root's start tag and notes a DOCTYPE on sight.

    libxml2 reports the DOCTYPE before it reads the internal subset, so an entity bomb
    is refused before any of its entities is even declared.
    """

    def __init__(self) -> None:
        self.tag: str | None = None
        self.attributes: dict[str, str] = {}
        self.saw_doctype = False

    def doctype(self, *_args) -> None:
        self.saw_doctype = True
        raise _RootFound

    def start(self, tag, attrib, nsmap=None) -> None:
        self.tag, self.attributes = tag, dict(attrib)
        raise _RootFound

    def end(self, tag) -> None:
        pass

    def data(self, data) -> None:
        pass

    def close(self) -> None:
        return None


def read_root_start(path: Path, limit: int | None = ROOT_PEEK_LIMIT) -> RootStart:
    """The root's start tag, read without reading further; the DOCTYPE guard.

    Raises HostileXmlError for a DTD, FileRejected for anything not well-formed up to
    the root (or no root within ``limit`` bytes; None: no limit). OSError passes through.
    """
    target = _RootTarget()
    parser = safe_parser(target=target)
    read = 0
    with open(path, "rb") as handle:
        try:
            while chunk := handle.read(PEEK_CHUNK):
                read += len(chunk)
                parser.feed(chunk)
                if limit is not None and read > limit:
                    raise FileRejected(
                        str(path),
                        f"no root element in the first {limit // 1024 // 1024} MiB of the file",
                    )
            parser.close()
        except _RootFound:
            pass
        except etree.XMLSyntaxError as error:
            if not target.saw_doctype and target.tag is None:
                raise syntax_error(path, error) from None
    if target.saw_doctype:
        raise HostileXmlError(str(path), DTD_REFUSED, 1)
    if target.tag is None:
        raise FileRejected(str(path), "the file holds no XML element")
    return RootStart(target.tag, target.attributes)


def declares_dtd(tree: etree._ElementTree) -> bool:
    docinfo = tree.docinfo
    return bool(
        docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None
    )


def refuse_dtd(path: Path, tree: etree._ElementTree) -> None:
    """After a parse: a document that declared a DTD after all is refused."""
    if declares_dtd(tree):
        raise HostileXmlError(str(path), DTD_REFUSED, 1)


def parse_document(path: Path) -> etree._Element:
    """The root of a whole (small) document: the guard first, then a safe parse.

    For one-document-per-file inputs such as a KSeF e-invoice; contract files are
    streamed by loaders.load instead.
    """
    read_root_start(path, limit=None)
    try:
        tree = etree.parse(str(path), safe_parser())
    except etree.XMLSyntaxError as error:
        raise syntax_error(path, error) from None
    refuse_dtd(path, tree)
    return tree.getroot()


def iterparse_safely(path: Path, tags: Iterable[str] | None = None):
    """Stream a large document: yields each completed element whose Clark tag is in
    ``tags`` (every element when None), with the guard and the safe options.

    The caller reads the element and then calls ``element.clear()`` (and drops earlier
    siblings, see ``release``) so that memory stays flat in the file's size. A DOCTYPE is
    refused before anything is read (HostileXmlError); a file not well-formed (truncated,
    a wrong encoding) is FileRejected with its line. OSError passes through.
    """
    read_root_start(path, limit=None)
    wanted = None if tags is None else tuple(tags)
    context = etree.iterparse(
        str(path),
        events=("end",),
        tag=wanted,
        **{key: value for key, value in SAFE_PARSER_OPTIONS.items() if key != "dtd_validation"},
    )
    try:
        for _event, element in context:
            yield element
    except etree.XMLSyntaxError as error:
        raise syntax_error(path, error) from None


def release(element: etree._Element) -> None:
    """Free a streamed element and the siblings read before it (flat memory)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
