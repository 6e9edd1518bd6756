"""Cutting a large file into segments: parsed apart, in parallel, with exact line numbers.

Each segment after the first is parsed as a document of its own: the file's prolog and
root start tag, then the segment's bytes, then a closing root tag. Cuts are made just
before a record's start tag, found by a byte search; a search can be fooled (the tag
inside a comment or CDATA), so every segment also carries the number of record tags
counted in it, and the loader checks that count against what the parser found. Any
disagreement, or any parse error in a segment, makes the loader read the file again
in one sequential pass, which is always right: splitting only ever saves time.
"""

from __future__ import annotations

import bisect
import mmap
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from loaders.contracts import Contract
from loaders.settings import DEFAULT_LOAD_SEGMENT_LINES

COUNT_CHUNK = 16 * 1024 * 1024
LINE_CHUNK = 1024 * 1024  # bytes copied at a time when counting lines ahead
LIBXML2_LINE_LIMIT = 65_535
OPENERS = re.compile(rb"<!--|<!\[CDATA\[|<\?")
CLOSERS = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}
HEAD_BYTES = 4 * 1024 * 1024
ASCII_COMPATIBLE = re.compile(
    rb"^(utf-?8|us-ascii|ascii|iso-8859-\d+|windows-125\d|cp125\d)$", re.I
)
XML_DECLARATION_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
NAME = rb"[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?"


@dataclass(frozen=True)
class Segment:
    """Bytes ``start``..``end`` of the file, parsed between ``prefix`` and ``suffix``."""

    start: int = 0
    end: int | None = None  # exclusive; None: to the end of the file
    prefix: bytes = b""
    suffix: bytes = b""
    line_offset: int = 0  # add to the parser's line numbers to get the file's
    first_number: int = 0  # records (and strays) before this segment
    expected_items: int | None = None  # record tags counted in the segment

    @property
    def is_whole_file(self) -> bool:
        return self.start == 0 and self.end is None

    def file_line(self, parser_line: int | None) -> int | None:
        """The file's line number for a line the parser reported in this segment.

        A whole file parsed at once has exact lines only up to 65,534 (libxml2 keeps 16
        bits per element); past that the line is unknown rather than wrong.
        """
        if not parser_line:
            return None
        if self.is_whole_file:
            return parser_line if parser_line < LIBXML2_LINE_LIMIT else None
        return parser_line + self.line_offset


WHOLE_FILE = Segment()


def _root_start_tag(head: bytes) -> tuple[int, bytes] | None:
    """(offset just past the root start tag, root qualified name), skipping the prolog."""
    position = 0
    while True:
        position = head.find(b"<", position)
        if position < 0 or position + 1 >= len(head):
            return None
        following = head[position + 1 : position + 2]
        if following == b"?":
            position = head.find(b"?>", position)
        elif head.startswith(b"<!--", position):
            position = head.find(b"-->", position)
        elif following == b"!":
            return None  # a DOCTYPE: the reader refuses the file anyway
        else:
            break
        if position < 0:
            return None
    name = re.match(NAME, head[position + 1 :])
    if not name:
        return None
    quote = None
    for index in range(position + 1 + name.end(), len(head)):
        char = head[index : index + 1]
        if quote:
            if char == quote:
                quote = None
        elif char in (b'"', b"'"):
            quote = char
        elif char == b">":
            if head[index - 1 : index] == b"/":
                return None  # an empty root: nothing to split
            return index + 1, name.group(0)
    return None


def _count(mapped: mmap.mmap, needle: bytes, start: int, end: int) -> int:
    total = 0
    for offset in range(start, end, COUNT_CHUNK):
        total += mapped[offset : min(offset + COUNT_CHUNK, end)].count(needle)
    return total


def _ignored_ranges(mapped: mmap.mmap, start: int) -> list[tuple[int, int]]:
    """Byte ranges of comments, CDATA sections and processing instructions: a record
    tag inside one of them is text, not a place to cut."""
    ranges: list[tuple[int, int]] = []
    size = len(mapped)
    position = start
    for chunk_start in range(start, size, COUNT_CHUNK):
        chunk_end = min(chunk_start + COUNT_CHUNK, size)
        # An opener may straddle the chunk's end: search a little past it.
        for found in OPENERS.finditer(
            mapped, max(position, chunk_start), min(chunk_end + 16, size)
        ):
            if found.start() >= chunk_end:
                break
            if found.start() < position:
                continue
            closer = CLOSERS[found.group(0)]
            end = mapped.find(closer, found.end())
            position = size if end < 0 else end + len(closer)
            ranges.append((found.start(), position))
        _release(mapped, chunk_start, chunk_end)
    return ranges


def _inside(ranges: list[tuple[int, int]], position: int) -> bool:
    if not ranges:
        return False
    index = bisect.bisect_right(ranges, (position, 1 << 62)) - 1
    return index >= 0 and ranges[index][0] <= position < ranges[index][1]


def plan_segments(
    path: Path, contract: Contract, max_lines: int = DEFAULT_LOAD_SEGMENT_LINES
) -> list[Segment]:
    """Cut the file into segments of at most about ``max_lines`` lines, at record starts.

    Besides letting workers share a file, short segments keep line numbers exact:
    libxml2 keeps an element's line in 16 bits, so past line 65535 it can only guess.
    Returns [WHOLE_FILE] for files that are short or cannot be cut safely.
    """
    with open(path, "rb") as handle:
        if path.stat().st_size == 0:
            return [WHOLE_FILE]
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return _plan(mapped, contract, max_lines)


def _plan(mapped: mmap.mmap, contract: Contract, max_lines: int) -> list[Segment]:
    size = len(mapped)
    head = mapped[:HEAD_BYTES]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        return [WHOLE_FILE]  # UTF-16/32: a byte search for ASCII tags would be wrong
    declared = XML_DECLARATION_ENCODING.match(head.lstrip(b"\xef\xbb\xbf"))
    if declared and not ASCII_COMPATIBLE.match(declared.group(1)):
        return [WHOLE_FILE]
    root = _root_start_tag(head)
    if root is None:
        return [WHOLE_FILE]
    body_start, root_name = root
    local_names = b"|".join(
        re.escape(etree.QName(table.tag).localname.encode()) for table in contract.records
    )
    record_tag = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(?:" + local_names + rb")[\s/>]")
    ignored = _ignored_ranges(mapped, body_start)

    def items_between(start: int, end: int) -> int:
        return sum(
            1
            for found in record_tag.finditer(mapped, start, end)
            if not _inside(ignored, found.start())
        )

    prefix = mapped[:body_start]
    prefix_lines = prefix.count(b"\n")
    suffix = b"</" + root_name + b">"
    segments: list[Segment] = []
    items_before = 0
    lines_before = _count(mapped, b"\n", 0, body_start)
    position = body_start
    # One forward pass, a segment at a time; pages already planned are handed back so
    # that planning a large file never holds it in memory.
    while position < size:
        end = size
        budget = _after_lines(mapped, position, max_lines)
        if budget is not None:
            found = record_tag.search(mapped, budget)
            while found is not None and _inside(ignored, found.start()):
                found = record_tag.search(mapped, found.end())
            if found is not None:
                end = found.start()
        if not segments and end == size:
            return [WHOLE_FILE]  # short enough to parse in one pass
        items = items_between(position, end)
        if not segments:
            segment = Segment(0, end, b"", suffix, 0, 0, items)
        else:
            last = end == size
            segment = Segment(
                position,
                None if last else end,
                prefix,
                b"" if last else suffix,
                lines_before - prefix_lines,
                items_before,
                items,
            )
        segments.append(segment)
        items_before += items
        lines_before += _count(mapped, b"\n", position, end)
        _release(mapped, position, end)
        position = end
    return segments


def _after_lines(mapped: mmap.mmap, start: int, lines: int) -> int | None:
    """The offset just past the ``lines``-th newline from ``start``; None if the file has
    fewer. Reads a chunk at a time and hands its pages back: a file of one long line
    (no cut possible) is scanned with flat memory."""
    size = len(mapped)
    position = start
    remaining = lines
    while position < size:
        end = min(position + LINE_CHUNK, size)
        found = mapped[position:end].count(b"\n")
        if found >= remaining:
            offset = position
            for _ in range(remaining):
                offset = mapped.find(b"\n", offset, end) + 1
            return offset
        remaining -= found
        _release(mapped, position, end)
        position = end
    return None


def _release(mapped: mmap.mmap, start: int, end: int) -> None:
    """Drop the mapping's pages in [start, end) from this process (they stay cached)."""
    first = start - start % mmap.PAGESIZE
    if end > first and hasattr(mapped, "madvise"):
        mapped.madvise(mmap.MADV_DONTNEED, first, end - first)


class SegmentReader:
    """A file-like view of one segment: prefix, the file's bytes, suffix."""

    def __init__(self, path: Path, segment: Segment):
        self._handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._handle.seek(segment.start)
        self._remaining = None if segment.end is None else segment.end - segment.start
        self._pending = [segment.prefix] if segment.prefix else []
        self._suffix = segment.suffix
        self.bytes_read = 0  # of the file itself, for progress

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            return self._pending.pop()
        if self._remaining is None or self._remaining > 0:
            want = size if size and size > 0 else 1024 * 1024
            if self._remaining is not None:
                want = min(want, self._remaining)
            data = self._handle.read(want)
            if data:
                self.bytes_read += len(data)
                if self._remaining is not None:
                    self._remaining -= len(data)
                return data
            self._remaining = 0
        if self._suffix:
            data, self._suffix = self._suffix, b""
            return data
        return b""

    def close(self) -> None:
        self._handle.close()
