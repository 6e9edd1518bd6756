"""``crm7 convert table``: CSV and XLSX files into one contract file, by a YAML profile.

A profile (``examples/profiles/*.yml``) names the target contract and, per contract field,
where its value comes from::

    contract: contractors          # contractors or products (flat records)
    encoding: cp1250               # CSV: utf-8-sig (default; a BOM or none), cp1250 ...
    separator: ";"                 # CSV field separator (default ;)
    decimal: ","                   # decimal comma in amounts (default ,)
    date_format: "%d.%m.%Y"        # dates (default dd.mm.yyyy)
    sheet: 0                       # XLSX: sheet index or name
    unknown_columns: ignore        # or error: a column no field maps is an error
    fields:
      sourceRecordId: {column: Kod, aliases: [ID, Symbol]}
      name: {column: Nazwa, transform: strip}
      nip: NIP                     # a column name alone
      address/street: {column: Adres, transform: split_street}   # fills buildingNumber
      address/city: Miasto                                          # and flatNumber too
      address/country: {constant: PL}
      shortName: {concat: [Nazwa, Miasto], separator: " - "}

Transforms, a fixed set: ``strip`` (always done), ``upper``, ``lower``, ``date`` (the
profile's or the field's ``format``), ``decimal`` (comma -> point, spaces dropped; done for
every decimal field), ``split_street`` ("street building/flat" -> three fields),
``constant`` and ``concat``. Headers are matched exactly, then case- and
accent-insensitively (the match is reported as a note).

CSV is read with pandas ``read_csv`` in chunks (``CHUNK_ROWS``), every value as text, through
a reader that refuses a line longer than ``MAX_LINE`` bytes before pandas buffers it: memory
stays flat. XLSX is read with ``read_excel`` (openpyxl), one sheet at a time: an Excel sheet
has at most 1,048,576 rows.

A row that cannot be mapped (a required field empty, a value the contract's field does not
take) goes to ``OUT.errors.csv`` beside the output (row number as in the file, counting
the header as row 1; column; reason; the row's values) and the rest converts. Whole-file
problems (no such column, an undecodable byte, an over-long line, a bad profile) raise
TableConversionError: nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from loaders.contracts import contract_for_namespace
from loaders.convert.output import CONTRACTORS, PRODUCTS, Target, serialise, single_output
from loaders.convert.values import split_street
from loaders.errors import TableConversionError

CHUNK_ROWS = 50_000
MAX_LINE = 1 << 20
TARGETS = {"contractors": CONTRACTORS, "products": PRODUCTS}
TRANSFORMS = ("strip", "upper", "lower", "date", "decimal", "split_street")
SPLIT_INTO = ("street", "buildingNumber", "flatNumber")
DEFAULT_ATTRIBUTES = {"address": {"type": "registered"}}


# --- the contract's record shape ---------------------------------------------------------


@dataclass(frozen=True)
class FieldRule:
    """A contract field a profile can fill, with a fast check of what it takes."""

    path: str  # "name", "address/city"
    required: bool
    kind: str  # string, decimal, date, boolean
    check: Callable[[str], bool]
    documentation: str


def _check(simple_type: Any, kind: str) -> Callable[[str], bool]:
    """A fast test of what the simple type takes: its patterns (compiled by xmlschema),
    lengths and enumeration; xmlschema itself only for a kind it does not cover."""
    patterns = []
    node = simple_type
    while node is not None and hasattr(node, "patterns"):
        if node.patterns:
            patterns.extend(pattern.match for pattern in node.patterns.patterns)
        node = getattr(node, "base_type", None)
    max_length = getattr(simple_type, "max_length", None) or 1 << 30
    min_length = getattr(simple_type, "min_length", None) or 0
    enumeration = frozenset(getattr(simple_type, "enumeration", None) or ())
    simple = kind == "string" or patterns

    def check(value: str) -> bool:
        if not min_length <= len(value) <= max_length:
            return False
        if enumeration and value not in enumeration:
            return False
        for match in patterns:
            if match(value) is None:
                return False
        return True if simple else bool(simple_type.text_is_valid(value))

    return check


def _documentation(element: Any) -> str:
    annotation = getattr(element, "annotation", None)
    if annotation is None:
        return ""
    return " ".join(str(doc.text or "") for doc in annotation.documentation)


@cache
def field_rules(target: Target) -> tuple[FieldRule, ...]:
    """The record's simple fields and those of its child elements, in the XSD's order."""
    schema = contract_for_namespace(target.namespace).xmlschema()
    rules: list[FieldRule] = []

    def walk(element: Any, prefix: str, required: bool) -> None:
        for child in element.type.content.iter_elements():
            path = f"{prefix}{child.local_name}"
            if child.type.is_simple() or child.type.has_simple_content():
                simple = child.type if child.type.is_simple() else child.type.content
                primitive = getattr(simple, "primitive_type", None)
                kind = getattr(primitive, "local_name", "string") or "string"
                rules.append(
                    FieldRule(
                        path,
                        required and child.min_occurs > 0,
                        kind,
                        _check(simple, kind),
                        _documentation(child),
                    )
                )
            elif not prefix:
                walk(child, f"{path}/", child.min_occurs > 0)

    walk(schema.elements[target.record], "", True)
    return tuple(rules)


# --- the profile -------------------------------------------------------------------------


@dataclass
class Source:
    """Where one field's value comes from."""

    path: str
    column: str | None = None
    aliases: tuple[str, ...] = ()
    transform: str | None = None
    format: str | None = None
    constant: str | None = None
    concat: tuple[str, ...] = ()
    separator: str = " "


@dataclass
class Profile:
    path: Path
    target: Target
    encoding: str = "utf-8-sig"
    separator: str = ";"
    decimal: str = ","
    date_format: str = "%d.%m.%Y"
    sheet: int | str = 0
    unknown_columns: str = "ignore"
    sources: list[Source] = field(default_factory=list)


def read_profile(path: str | Path) -> Profile:
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TableConversionError(
            str(path), None, f"cannot read the profile: {error.strerror}"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise TableConversionError(
            str(path),
            None,
            f"not YAML: {getattr(error, 'problem', error)}",
            mark.line + 1 if mark else None,
        ) from None
    if not isinstance(data, dict):
        raise TableConversionError(str(path), None, "a profile is a YAML mapping")
    contract = data.get("contract")
    if contract not in TARGETS:
        raise TableConversionError(
            str(path), "contract", f"{contract!r}: use one of {', '.join(TARGETS)}"
        )
    target = TARGETS[contract]
    profile = Profile(path, target)
    for key in ("encoding", "separator", "decimal", "date_format", "unknown_columns"):
        if key in data:
            setattr(profile, key, str(data[key]))
    if "sheet" in data:
        profile.sheet = data["sheet"]
    if profile.unknown_columns not in ("ignore", "error"):
        raise TableConversionError(str(path), "unknown_columns", "use ignore or error")
    known = {rule.path for rule in field_rules(target)}
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise TableConversionError(str(path), "fields", "map at least one contract field")
    for name, spec in fields.items():
        if name not in known:
            raise TableConversionError(
                str(path),
                f"fields/{name}",
                f"no such field in the {contract} contract (fields: {', '.join(sorted(known))})",
            )
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict):
            raise TableConversionError(str(path), f"fields/{name}", "a column name or a mapping")
        transform = spec.get("transform")
        if transform is not None and transform not in TRANSFORMS:
            raise TableConversionError(
                str(path),
                f"fields/{name}",
                f"transform {transform!r}: use one of "
                f"{', '.join(TRANSFORMS)}, or constant / concat",
            )
        source = Source(
            path=name,
            column=spec.get("column"),
            aliases=tuple(str(a) for a in spec.get("aliases", ()) or ()),
            transform=transform,
            format=spec.get("format"),
            constant=None if spec.get("constant") is None else str(spec["constant"]),
            concat=tuple(str(c) for c in spec.get("concat", ()) or ()),
            separator=str(spec.get("separator", " ")),
        )
        if source.column is None and source.constant is None and not source.concat:
            raise TableConversionError(
                str(path), f"fields/{name}", "give column, constant or concat"
            )
        profile.sources.append(source)
    missing = [
        rule.path
        for rule in field_rules(target)
        if rule.required and "/" not in rule.path and rule.path not in fields
    ]
    if missing:
        raise TableConversionError(
            str(path), "fields", f"required contract field(s) not mapped: {', '.join(missing)}"
        )
    return profile


# --- reading -----------------------------------------------------------------------------


def normalised(header: str) -> str:
    text = unicodedata.normalize("NFKD", header.replace("ł", "l").replace("Ł", "L"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]", "", text.lower())


class _LineLimited(io.RawIOBase):
    """A binary file that refuses a line longer than MAX_LINE bytes (flat memory)."""

    def __init__(self, handle, path: Path) -> None:
        self.handle = handle
        self.path = path
        self.since_newline = 0
        self.lines = 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.handle.read(min(len(buffer), 1 << 16))
        start = 0
        while True:
            found = data.find(b"\n", start)
            if found < 0:
                self.since_newline += len(data) - start
                break
            self.since_newline += found - start
            if self.since_newline > MAX_LINE:
                break
            self.since_newline = 0
            self.lines += 1
            start = found + 1
        if self.since_newline > MAX_LINE:
            raise TableConversionError(
                str(self.path),
                None,
                f"a line longer than {MAX_LINE // 1024 // 1024} MiB: not "
                "a table row (check the separator and quoting)",
                self.lines,
            )
        buffer[: len(data)] = data
        return len(data)


def _chunks(path: Path, profile: Profile) -> Iterator[Any]:
    import pandas as pd

    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(
                path,
                sheet_name=profile.sheet,
                dtype=str,
                keep_default_na=False,
                engine="openpyxl",
            )
        except (ValueError, KeyError, OSError) as error:
            raise TableConversionError(str(path), None, f"cannot read the sheet: {error}") from None
        except Exception as error:  # openpyxl: a zip that is not a workbook, a truncated one
            raise TableConversionError(
                str(path), None, f"not a readable XLSX workbook ({type(error).__name__})"
            ) from None
        yield frame
        return
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise TableConversionError(
            str(path), None, f"cannot read the file: {error.strerror}"
        ) from None
    limited = _LineLimited(raw, path)
    try:
        reader = pd.read_csv(
            io.BufferedReader(limited, buffer_size=1 << 16),
            sep=profile.separator,
            encoding=profile.encoding,
            dtype=str,
            keep_default_na=False,
            chunksize=CHUNK_ROWS,
            engine="c",
        )
        yield from reader
    except UnicodeDecodeError as error:
        raise TableConversionError(
            str(path),
            None,
            f"byte 0x{error.object[error.start]:02x} is not {profile.encoding} "
            "text: set the profile's encoding (cp1250, utf-8-sig)",
            limited.lines,
        ) from None
    except pd.errors.ParserError as error:
        message = str(error).strip().splitlines()[0]
        raise TableConversionError(str(path), None, f"not a table: {message}") from None
    except pd.errors.EmptyDataError:
        raise TableConversionError(str(path), None, "the file is empty (no header row)") from None
    finally:
        raw.close()


# --- mapping -----------------------------------------------------------------------------


@dataclass
class TableResult:
    output: Path
    records: int = 0
    errors: int = 0
    error_file: Path | None = None
    notes: list[str] = field(default_factory=list)


class RowError(Exception):
    def __init__(self, column: str, reason: str):
        self.column, self.reason = column, reason


class _Mapper:
    def __init__(self, profile: Profile, path: Path, headers: list[str], notes: list[str]):
        self.profile = profile
        self.rules = {rule.path: rule for rule in field_rules(profile.target)}
        self.plan = self._plan()
        self.columns: dict[str, str] = {}
        by_name = {header: header for header in headers}
        by_normal = {normalised(header): header for header in headers}
        used: set[str] = set()

        def find(name: str, aliases: Sequence[str], what: str) -> str:
            for candidate in (name, *aliases):
                if candidate in by_name:
                    return candidate
            for candidate in (name, *aliases):
                header = by_normal.get(normalised(candidate))
                if header is not None:
                    notes.append(f"{path}: {what}: column {candidate!r} matched header {header!r}")
                    return header
            raise TableConversionError(
                str(path),
                what,
                f"no column {name!r}"
                + (f" (or {', '.join(map(repr, aliases))})" if aliases else "")
                + f"; the file has {', '.join(map(repr, headers))}",
                1,
            )

        for source in profile.sources:
            if source.column is not None:
                self.columns[source.path] = find(source.column, source.aliases, source.path)
                used.add(self.columns[source.path])
            for column in source.concat:
                used.add(find(column, (), source.path))
        self.concat = {
            s.path: [find(c, (), s.path) for c in s.concat] for s in profile.sources if s.concat
        }
        unknown = [header for header in headers if header not in used]
        if unknown and profile.unknown_columns == "error":
            raise TableConversionError(
                str(path),
                None,
                f"columns no field maps: {', '.join(map(repr, unknown))} (unknown_columns: error)",
                1,
            )
        if unknown:
            notes.append(f"{path}: columns ignored: {', '.join(map(repr, unknown))}")

    def value(self, source: Source, row: dict[str, str]) -> str | None:
        if source.constant is not None:
            value = source.constant
        elif source.concat:
            parts = [" ".join(row[c].split()) for c in self.concat[source.path]]
            value = source.separator.join(part for part in parts if part)
        else:
            value = row[self.columns[source.path]]
        value = " ".join(value.split())
        if not value:
            return None
        rule = self.rules[source.path]
        transform = source.transform
        if transform == "upper":
            value = value.upper()
        elif transform == "lower":
            value = value.lower()
        if transform == "date" or rule.kind == "date":
            try:
                value = datetime.strptime(value, source.format or self.profile.date_format).date()
                value = value.isoformat()
            except ValueError:
                raise RowError(
                    self.columns.get(source.path, source.path),
                    f"{value!r} is not a date {source.format or self.profile.date_format}",
                ) from None
        elif transform == "decimal" or rule.kind == "decimal":
            text = value.replace(" ", "").replace("\u00a0", "")
            if self.profile.decimal == ",":
                text = text.replace(".", "").replace(",", ".") if "," in text else text
            try:
                Decimal(text)
            except InvalidOperation:
                raise RowError(
                    self.columns.get(source.path, source.path), f"{value!r} is not a number"
                ) from None
            value = text
        return value

    def _plan(self) -> list[tuple[str, list[str]]]:
        """The record's fields in XSD order: (name, []) or (group, its child paths)."""
        plan: list[tuple[str, list[str]]] = []
        for rule in self.rules.values():
            if "/" in rule.path:
                group = rule.path.split("/", 1)[0]
                if not plan or plan[-1][0] != group or not plan[-1][1]:
                    plan.append((group, []))
                plan[-1][1].append(rule.path)
            else:
                plan.append((rule.path, []))
        return plan

    def record(self, row: dict[str, str]) -> list:
        values: dict[str, str] = {}
        for source in self.profile.sources:
            value = self.value(source, row)
            if value is None:
                continue
            if source.transform == "split_street":
                prefix = source.path.rsplit("/", 1)[0] + "/" if "/" in source.path else ""
                for name, part in zip(SPLIT_INTO, split_street(value), strict=True):
                    if part is not None:
                        values[f"{prefix}{name}"] = part
                continue
            values[source.path] = value
        rules = self.rules
        for path, value in values.items():
            if not rules[path].check(value):
                raise RowError(self.columns.get(path, path), f"{value!r} is not what {path} takes")
        items: list = []
        for name, children in self.plan:
            if not children:
                if name in values:
                    items.append((name, values[name]))
                elif rules[name].required:
                    raise RowError(self.columns.get(name, name), f"{name} is empty")
                continue
            given = [(path.split("/", 1)[1], values[path]) for path in children if path in values]
            if not given:
                continue
            missing = [
                p.split("/", 1)[1] for p in children if rules[p].required and p not in values
            ]
            if missing:
                raise RowError(name, f"{name} given without {', '.join(missing)}")
            attributes = DEFAULT_ATTRIBUTES.get(name)
            items.append((name, given, attributes) if attributes else (name, given))
        return items


def convert_table(
    paths: Sequence[str | Path],
    profile_path: str | Path,
    output: str | Path,
    source_system: str = "table",
    preview: int | None = None,
    printer: Callable[[str], None] = print,
) -> TableResult:
    """Convert CSV/XLSX files with a profile into ONE contract file (or preview N records)."""
    profile = read_profile(profile_path)
    output = Path(output)
    result = TableResult(output)
    error_file = output.with_name(output.stem + ".errors.csv")
    writer = None if preview is not None else single_output(profile.target, output, source_system)
    error_rows: list[list[str]] = []
    error_partial = error_file.with_name(f".{error_file.name}.partial")
    error_handle = None
    shown = 0
    try:
        for path in map(Path, paths):
            mapper = None
            row_number = 1
            for chunk in _chunks(path, profile):
                if mapper is None:
                    mapper = _Mapper(profile, path, [str(c) for c in chunk.columns], result.notes)
                headers = [str(c) for c in chunk.columns]
                for values in chunk.to_numpy(dtype=object, na_value="").tolist():
                    row_number += 1
                    row = dict(zip(headers, values, strict=True))
                    try:
                        items = mapper.record(row)
                    except RowError as error:
                        result.errors += 1
                        if error_handle is None and preview is None:
                            error_handle = open(  # noqa: SIM115 (closed in finally)
                                error_partial, "w", encoding="utf-8-sig", newline=""
                            )
                            error_rows.append(["file", "row", "column", "reason", *headers])
                        if error_handle is not None:
                            error_rows.append(
                                [
                                    str(path),
                                    str(row_number),
                                    error.column,
                                    error.reason,
                                    *map(str, values),
                                ]
                            )
                            if len(error_rows) >= 1000:
                                csv.writer(error_handle).writerows(error_rows)
                                error_rows.clear()
                        continue
                    if preview is not None:
                        printer(serialise(profile.target.record, items, depth=0).rstrip())
                        shown += 1
                        if shown >= preview:
                            return result
                        continue
                    assert writer is not None
                    writer.write(items)
                    result.records += 1
        if writer is not None:
            writer.close()
            writer.partial.replace(writer.final)
            writer = None
        if error_handle is not None:
            csv.writer(error_handle).writerows(error_rows)
            error_handle.close()
            error_handle = None
            error_partial.replace(error_file)
            result.error_file = error_file
        elif preview is None:
            error_file.unlink(missing_ok=True)  # an earlier run's errors are no longer true
    finally:
        if writer is not None:
            writer.discard()
        if error_handle is not None:
            error_handle.close()
        error_partial.unlink(missing_ok=True)
    return result


# --- suggest -----------------------------------------------------------------------------


def _words_match(header: str, text: str) -> bool:
    """Every word of the header (3+ letters) starts a word of the documentation text."""
    words = [normalised(w) for w in header.split() if len(normalised(w)) >= 3]
    docs = [normalised(w) for w in text.split()]
    return bool(words) and all(any(d.startswith(w) for d in docs) for w in words)


def _match(header: str, words: list[str]) -> tuple[float, str]:
    """How well a header matches a field's names: exact, normalised, words, then fuzzy."""
    import difflib

    best, how = 0.0, ""
    a = normalised(header)
    for word in words:
        b = normalised(word)
        if header.strip() == word.strip():
            return 1.0, "exact"
        if a and a == b and best < 0.99:
            best, how = 0.99, "normalised"
        if best < 0.9 and _words_match(header, word):
            best, how = 0.9 - 0.01 * len(word.split()), "words"
        ratio = difflib.SequenceMatcher(None, a, b).ratio() if a and b else 0.0
        if ratio > max(best, 0.75):
            best, how = ratio, f"fuzzy {ratio:.2f}"
    return best, how


def suggest_profile(path: str | Path, contract: str = "contractors") -> str:
    """A draft profile for the file's headers: every mapping a guess, marked as such."""
    import pandas as pd

    path = Path(path)
    if contract not in TARGETS:
        raise TableConversionError(
            str(path), None, f"--contract {contract!r}: use {', '.join(TARGETS)}"
        )
    encoding = "utf-8-sig"
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        headers = [str(c) for c in pd.read_excel(path, nrows=0, engine="openpyxl").columns]
        separator = ";"
    else:
        head = path.read_bytes()[:65536]
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            encoding, text = "cp1250", head.decode("cp1250", errors="replace")
        first = text.splitlines()[0] if text else ""
        separator = max((";", ",", "\t", "|"), key=first.count)
        headers = next(csv.reader([first], delimiter=separator))
    rules = field_rules(TARGETS[contract])
    vocabulary: dict[str, list[str]] = {}
    for rule in rules:
        words = [rule.path.split("/")[-1], rule.path.replace("/", " ")]
        docs = re.split(r"[.;:(),]", rule.documentation)
        words += [part for part in docs if 0 < len(part.split()) <= 4]
        vocabulary[rule.path] = words
    lines = [
        f"# draft profile for {path.name}: every mapping below is a guess; check each one",
        f"contract: {contract}",
        f"encoding: {encoding}",
        f'separator: "{separator}"',
        'decimal: ","',
        'date_format: "%d.%m.%Y"',
        "unknown_columns: ignore",
        "fields:",
    ]
    candidates = []
    for index, header in enumerate(headers):
        for rule in rules:
            score, how = _match(header, vocabulary[rule.path])
            if score:
                candidates.append((-score, index, rule.path, how))
    chosen: dict[int, tuple[str, str]] = {}
    taken: set[str] = set()
    for _score, index, path_name, how in sorted(candidates):
        if index not in chosen and path_name not in taken:
            chosen[index] = (path_name, how)
            taken.add(path_name)
    for index, header in enumerate(headers):
        if index not in chosen:
            lines.append(f"  # {header!r}: no field matched")
            continue
        path_name, how = chosen[index]
        lines.append(f"  {path_name}: {{column: {header!r}}}  # guess ({how})")
    missing = [r.path for r in rules if r.required and "/" not in r.path and r.path not in taken]
    for name in missing:
        lines.append(f"  # {name}: REQUIRED, no column matched; map one")
    return "\n".join(lines) + "\n"
