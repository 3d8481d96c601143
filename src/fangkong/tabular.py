"""Reading CSV and Excel files into validated rows, for every importer; writing the cells
of every CSV and Excel export so that no spreadsheet runs them as formulas.

Row numbers are as a spreadsheet shows them: the header is row 1, the first record row 2.
Headers may be the English column name or its Chinese label; CSV may be UTF-8 (with or
without BOM) or GB18030, which Excel on a Chinese Windows writes.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field

from fangkong.config import Settings, get_settings
from fangkong.errors import InvalidInput, TooLarge

# A text cell starting with one of these is a formula to a spreadsheet (a tab or a carriage
# return before one too): ``=HYPERLINK(...)`` in a name would run on the reader's machine.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` as an export writes it: text that a spreadsheet would read as a formula
    gets a leading apostrophe (shown as text, as OWASP advises); other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(v) for v in values]


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``: what every CSV export
    uses."""

    def __init__(self, out: TextIO, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, str]

    def get(self, column: str) -> str | None:
        value = self.values.get(column, "")
        return value or None


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    reason: str
    value: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        shown = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.reason}{shown}"


class ImportErrorRead(BaseModel):
    row: int
    column: str | None
    reason: str
    value: str | None


class ImportReport(BaseModel):
    """What an import did: counts, and every rejected row with its reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[ImportErrorRead] = Field(default_factory=list)
    unlisted: int = Field(
        default=0, description="Errors beyond the first FANGKONG_IMPORT_MAX_ERRORS: counted."
    )
    ignored_columns: list[str] = Field(default_factory=list)
    # The keys of the records added, for the flow that acts on them (a case registered
    # converts the person's quarantine order); not part of the report people read.
    added_keys: list[str] = Field(default_factory=list, exclude=True)

    def reject(self, errors: list[RowError]) -> None:
        """Record ``errors``: the import wrote nothing, so the counts go to zero. The first
        ``import_max_errors`` are listed, the others counted in ``unlisted``."""
        self.added = self.updated = self.unchanged = 0
        self.added_keys = []
        self.rejected = len({e.row for e in errors})
        most = get_settings().import_max_errors
        ordered = sorted(errors, key=lambda e: (e.row, e.column or ""))
        self.errors = [ImportErrorRead(**vars(e)) for e in ordered[:most]]
        self.unlisted += max(len(ordered) - most, 0)


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else (value.isoformat())
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(data: bytes, filename: str = "file") -> str:
    """UTF-8 (with or without BOM), else GB18030; a UTF-16 file (Excel's "Unicode text")
    or bytes that are neither are a file-level error naming the line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput(
            f"{filename}: the file is UTF-16 text; save it as CSV UTF-8 (or GB18030) and "
            "import it again",
            encoding="utf-16",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            f"{filename}: line {line} has bytes that are neither UTF-8 nor GB18030 "
            f"(byte {exc.start + 1}: {data[exc.start : exc.end]!r}); save the file as CSV UTF-8",
            row=line,
            encoding="unknown",
        ) from None


def check_xlsx(data: bytes, filename: str, settings: Settings) -> None:
    """Refuse a zip bomb before parsing: by what the entries declare they unpack to, in
    all and each against its compressed size. (A lying header fails when read.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidInput(f"{filename}: not a readable .xlsx file ({exc})") from exc
    unpacked = sum(e.file_size for e in entries)
    most = int(settings.xlsx_max_unpacked_mb * (1 << 20))
    if unpacked > most:
        raise TooLarge(
            f"{filename}: unpacks to {unpacked >> 20} MB, more than {most >> 20} MB; "
            "split the workbook or save it as CSV",
            unpacked_bytes=unpacked,
            limit_bytes=most,
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > (1 << 20) and ratio > settings.xlsx_max_ratio:
            raise TooLarge(
                f"{filename}: {entry.filename} is compressed {ratio:.0f} to 1 (at most "
                f"{settings.xlsx_max_ratio:.0f}); not a spreadsheet a person saved",
                entry=entry.filename,
                ratio=round(ratio),
            )


def _raw_rows(data: bytes, filename: str) -> Iterator[list[str]]:
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        check_xlsx(data, filename, get_settings())
        from openpyxl import load_workbook  # only an Excel file needs it (CLI start-up)

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise InvalidInput(f"{filename}: not a readable .xlsx file ({exc})") from exc
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in values]
        book.close()
    elif suffix in {".csv", ".txt"}:
        text = _decode(data, filename)
        yield from ([c.strip() for c in r] for r in csv.reader(io.StringIO(text)))
    else:
        raise InvalidInput(f"{filename}: unsupported file type {suffix!r}; use .csv or .xlsx")


def header_map(columns: list[Column]) -> Mapping[str, str]:
    names: dict[str, str] = {}
    for col in columns:
        for key in (col.name, col.label, *col.aliases):
            names[key.strip().lower()] = col.name
    return names


def read_table(data: bytes, filename: str, columns: list[Column]) -> Table:
    """Rows keyed by column name, and the structural errors (missing columns) as row 1."""
    table = Table()
    rows = _raw_rows(data, filename)
    header = next(rows, None)
    if header is None:
        table.errors.append(RowError(1, None, "the file is empty: no header row"))
        return table
    names = header_map(columns)
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        if not key:
            continue
        if key not in names:
            table.ignored_columns.append(title)
            continue
        if names[key] in positions:
            table.errors.append(RowError(1, names[key], "column appears twice in the header"))
        positions[names[key]] = index
    for col in columns:
        if col.required and col.name not in positions:
            table.errors.append(
                RowError(1, col.name, f"required column missing (header {col.name} or {col.label})")
            )
    if table.errors:
        return table
    most = get_settings().import_max_rows
    for number, raw in enumerate(rows, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if number - 1 > most:
            raise TooLarge(
                f"{filename}: more than {most:,} rows; split the file",
                limit_rows=most,
            )
        values = {name: raw[i].strip() if i < len(raw) else "" for name, i in positions.items()}
        # No field may hold a NUL (PostgreSQL refuses one in text): the row is reported and
        # goes no further, not even into the trial run of an import.
        nul = [name for name, value in values.items() if "\x00" in value]
        if nul:
            table.errors.extend(RowError(number, name, "contains a NUL character") for name in nul)
            continue
        table.rows.append(Row(number, values))
    return table


_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)


def parse_date(text: str) -> date:
    """``YYYY-MM-DD``, also ``YYYY/M/D`` (CSV saved by Excel on a Chinese Windows),
    ``YYYY.M.D``, ``YYYY年M月D日``, and a date with a time of day (Excel date cells).

    The whole text must be a date: trailing characters are an error, not ignored.
    """
    match = _DATE.fullmatch(text.strip())
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise ValueError(f"not a date in the form YYYY-MM-DD: {text!r}")
