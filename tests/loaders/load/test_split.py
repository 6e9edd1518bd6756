"""Cutting files into segments: where the cuts go, and when a file is left whole."""

from __future__ import annotations

import itertools

from bench.generate import write_file
from loaders.contracts import all_contracts
from loaders.load.split import WHOLE_FILE, SegmentReader, plan_segments

CONTRACT = all_contracts()["urn:crm7:contract:contractors:v1"]


def test_segments_cover_the_file_and_cut_before_record_start_tags(tmp_path):
    path = write_file(tmp_path / "c.xml", 1000, "erp")  # 17 lines a record
    segments = plan_segments(path, CONTRACT, max_lines=1700)
    data = path.read_bytes()

    assert len(segments) == 10
    assert segments[0].start == 0 and segments[-1].end is None
    for previous, segment in itertools.pairwise(segments):
        assert segment.start == previous.end
        assert data[segment.start :].startswith(b"<contractor>")
        assert segment.first_number == previous.first_number + previous.expected_items
        # The segment's first line, as the parser will count it, maps onto the file's.
        first_file_line = data[: segment.start].count(b"\n") + 1
        assert segment.file_line(segment.prefix.count(b"\n") + 1) == first_file_line
    assert sum(segment.expected_items for segment in segments) == 1000


def test_each_segment_reads_as_a_document_of_its_own(tmp_path):
    path = write_file(tmp_path / "c.xml", 300, "erp")
    for segment in plan_segments(path, CONTRACT, max_lines=1000):
        reader = SegmentReader(path, segment)
        chunks = []
        while chunk := reader.read(65536):
            chunks.append(chunk)
        reader.close()
        document = b"".join(chunks)
        assert document.startswith(b"<?xml") and document.rstrip().endswith(b"</contractors>")
        assert document.count(b"<contractor>") == segment.expected_items


def test_small_or_unsplittable_files_stay_whole(tmp_path):
    small = write_file(tmp_path / "small.xml", 10, "erp")
    assert plan_segments(small, CONTRACT) == [WHOLE_FILE]

    utf16 = tmp_path / "utf16.xml"
    utf16.write_text(write_file(tmp_path / "big.xml", 500, "erp").read_text(), encoding="utf-16")
    assert plan_segments(utf16, CONTRACT, max_lines=100) == [WHOLE_FILE]

    latin2 = tmp_path / "iso-8859-2.xml"
    text = (tmp_path / "big.xml").read_text().replace('encoding="UTF-8"', 'encoding="ISO-8859-2"')
    latin2.write_bytes(text.encode("iso-8859-2"))
    assert len(plan_segments(latin2, CONTRACT, max_lines=1000)) > 1


def test_record_tags_in_comments_and_cdata_are_not_cut_points(tmp_path):
    path = write_file(tmp_path / "c.xml", 400, "erp")
    text = path.read_text().replace(
        "<shortName>", "<!--\n<contractor>\n--><shortName><![CDATA[\n<contractor>\n]]>"
    )
    path.write_text(text)
    segments = plan_segments(path, CONTRACT, max_lines=1000)
    data = path.read_bytes()
    assert len(segments) > 3
    for segment in segments[1:]:
        assert data[segment.start - 3 : segment.start] != b"-->"
        assert data[segment.start :].startswith(b"<contractor>\n    <sourceRecordId>")
    assert sum(segment.expected_items for segment in segments) == 400


def test_lines_are_counted_ahead_a_chunk_at_a_time(tmp_path, monkeypatch):
    import mmap

    from loaders.load import split

    monkeypatch.setattr(split, "LINE_CHUNK", 7)  # many chunk boundaries, some mid-line
    data = b"".join(b"x" * (n % 5) + b"\n" for n in range(100)) + b"tail without newline"
    path = tmp_path / "lines.bin"
    path.write_bytes(data)
    with (
        open(path, "rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
    ):
        for start in (0, 3, 50):
            for lines in (1, 2, 13, 40):
                expected = start
                for _ in range(lines):
                    expected = data.index(b"\n", expected) + 1
                assert split._after_lines(mapped, start, lines) == expected
        assert split._after_lines(mapped, 0, 101) is None


def test_a_file_on_one_line_is_one_segment(tmp_path):
    from loaders.load.header import read_header

    multi = write_file(tmp_path / "multi.xml", 500, "erp")
    one_line = tmp_path / "one-line.xml"
    one_line.write_bytes(multi.read_bytes().replace(b"\n", b""))
    header = read_header(one_line)
    assert plan_segments(one_line, header.contract, 100) == [WHOLE_FILE]
    assert len(plan_segments(multi, header.contract, 100)) > 10
