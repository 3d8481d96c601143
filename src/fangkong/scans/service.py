"""Venue scans: live uploads through a durable buffer, flushes and upkeep of the lake.

A live batch (``POST /api/v1/scans``) is validated like an imported file, then appended
to a write-ahead file ``lake/_buffer/scans-<n>.jsonl`` and fsynced before the caller is
told it was accepted (``n``: creation time in µs, so the oldest file tells the buffer's
age). A flush renames every buffer file to ``.flushing`` (new scans go to a new file),
writes each into the lake and only then deletes it: a flush that dies midway leaves its
``.flushing`` files, the next flush writes them again, and the lake's dedup drops what the
first one already wrote. Flushes run when the buffer holds ``FLUSH_ROWS`` scans or is
``FLUSH_SECONDS`` old (checked on each upload), and on ``fangkong scans flush`` (cron).

A line that cannot be read — the half line a crash mid-append leaves (never acknowledged:
the fsync had not returned), or a line damaged on disk — is set aside, never allowed to
block the batches around it: the next append starts on a new line, and a flush writes
every readable line into the lake and the others, as they were, to
``lake/_buffer/set-aside/scans-<n>.jsonl`` (counted by ``fangkong scans stats``).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.json as pajson
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.errors import ImportRejected
from fangkong.lake.layout import SCAN_STREAM, SCANS
from fangkong.lake.writer import LOCAL_TZ, CompactReport, DayStats, compact, day_stats, write_scans
from fangkong.policy.model import TracingPolicy
from fangkong.scans.importer import Registry, RowErrors, check_chunk
from fangkong.scans.schemas import ScanIn

FLUSH_ROWS = 50_000
FLUSH_SECONDS = 60.0
MAX_BATCH = 1000
_PENDING = ".jsonl"
_FLUSHING = ".jsonl.flushing"
SET_ASIDE = "set-aside"
_rows_cache: dict[str, int] = {}
_cache_lock = threading.Lock()


def buffer_dir(lake: Path) -> Path:
    return lake / "_buffer"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _number(path: Path) -> int:
    return int(path.name.split(".", 1)[0].removeprefix("scans-"))


def _pending(lake: Path) -> list[Path]:
    folder = buffer_dir(lake)
    return sorted(folder.glob(f"scans-*{_PENDING}"), key=_number) if folder.is_dir() else []


def _flushing(lake: Path) -> list[Path]:
    folder = buffer_dir(lake)
    return sorted(folder.glob(f"scans-*{_FLUSHING}"), key=_number) if folder.is_dir() else []


def _rows_in(path: Path) -> int:
    with _cache_lock:
        if path.name in _rows_cache:
            return _rows_cache[path.name]
    count = _count_lines(path)
    with _cache_lock:
        _rows_cache[path.name] = count
    return count


def validate(
    session: Session, *, items: list[ScanIn], scope: Jurisdiction, policy: TracingPolicy
) -> pa.Table:
    """The items as lake rows, checked as an import checks a file; an item is numbered by
    its index in the list (``row``). A venue device may post scans of its own venue only."""
    if scope.kind == "venue":
        others = sorted({i.venue_code for i in items if i.venue_code != scope.code})
        if others:
            raise OutsideJurisdiction(
                f"this device may post scans of venue {scope.code} only",
                jurisdiction=f"venue {scope.code}",
                venue_codes=others,
            )
    local = ZoneInfo(LOCAL_TZ)

    def aware(value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=local)

    utc = pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "person_id": pa.array([i.person_id for i in items], pa.string()),
            "venue_code": pa.array([i.venue_code for i in items], pa.string()),
            "entered_at": pa.array([aware(i.entered_at) for i in items], utc),
            "left_at": pa.array([aware(i.left_at) for i in items], utc),
        }
    )
    errors = RowErrors()
    rows = check_chunk(table, 0, Registry(session, scope, policy), errors)
    if rows is None:
        listed = sorted(errors.listed, key=lambda e: (e.row, e.column or ""))
        raise ImportRejected(
            f"{errors.bad_rows} scan(s) rejected; none was accepted",
            errors=[{**vars(e)} for e in listed],
        )
    return rows


def append(lake: Path, rows: pa.Table) -> int:
    """Append validated rows to the buffer, durably (fsync); returns the buffered rows."""
    folder = buffer_dir(lake)
    lines = io.StringIO()
    for row in rows.to_pylist():
        row["entered_at"] = row["entered_at"].isoformat()
        row["left_at"] = row["left_at"].isoformat()
        lines.write(json.dumps(row, ensure_ascii=False) + "\n")
    with _locked(folder / ".lock"):
        pending = _pending(lake)
        if pending:
            target = pending[-1]
        else:
            taken = [_number(p) for p in _flushing(lake)]
            target = (
                folder / f"scans-{max([time.time_ns() // 1000, *(n + 1 for n in taken)])}.jsonl"
            )
        created = not target.exists()
        before = _rows_in(target) if not created else 0
        # After a crash mid-append the file ends in half a line: end it, so that this
        # batch's first line is not glued to it (the flush sets the half line aside).
        torn = not created and not _ends_a_line(target)
        with target.open("ab") as handle:
            handle.write((b"\n" if torn else b"") + lines.getvalue().encode())
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            _fsync_dir(folder)
        with _cache_lock:
            _rows_cache[target.name] = before + torn + rows.num_rows
        return sum(_rows_in(p) for p in _pending(lake))


def _ends_a_line(path: Path) -> bool:
    with path.open("rb") as handle:
        if handle.seek(0, os.SEEK_END) == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def flush_due(lake: Path, *, rows: int | None = None, now: float | None = None) -> bool:
    """Whether the buffer should be flushed: enough rows, old enough, or a flush to retry."""
    pending = _pending(lake)
    if _flushing(lake):
        return True
    if not pending:
        return False
    rows = rows if rows is not None else sum(_rows_in(p) for p in pending)
    age = (now if now is not None else time.time()) - _number(pending[0]) / 1e6
    return rows >= FLUSH_ROWS or age >= FLUSH_SECONDS


@dataclass
class FlushReport:
    files: int = 0
    rows: int = 0
    added: int = 0
    duplicates: int = 0
    set_aside: int = 0  # unreadable lines moved to the set-aside folder
    written: list[Path] = field(default_factory=list)


def flush(lake: Path) -> FlushReport:
    """Write the buffer into the lake; safe to repeat after a crash (see the module)."""
    report = FlushReport()
    folder = buffer_dir(lake)
    if not folder.is_dir():
        return report
    with _locked(folder / ".flush.lock"):
        with _locked(folder / ".lock"):
            for path in _pending(lake):
                path.rename(path.with_name(path.name + ".flushing"))
            _fsync_dir(folder)
        for path in _flushing(lake):
            table, unreadable = _read_buffer(path)
            if unreadable:
                _set_aside(lake, path, unreadable)
            written = write_scans(lake, table)
            path.unlink()
            _fsync_dir(folder)
            with _cache_lock:
                _rows_cache.pop(path.name.removesuffix(".flushing"), None)
            report.files += 1
            report.rows += table.num_rows
            report.set_aside += len(unreadable)
            report.added += written.added
            report.duplicates += written.duplicates
            report.written.extend(written.files)
    return report


def _read_buffer(path: Path) -> tuple[pa.Table, list[bytes]]:
    """The readable scans of a buffer file, and its unreadable lines as they were."""
    lines = path.read_bytes().split(b"\n")
    # A crash while appending can leave a torn last line; whole lines were fsynced.
    tail = lines.pop()
    unreadable = [tail] if tail.strip() else []
    lines = [line for line in lines if line.strip()]
    try:
        return _parse(lines), unreadable
    except (pa.ArrowException, ValueError):
        pass
    # Some line is damaged: read them one by one (slower, and only then).
    readable: list[bytes] = []
    for line in lines:
        try:
            _parse([line])
        except (pa.ArrowException, ValueError):
            unreadable.append(line)
        else:
            readable.append(line)
    return _parse(readable), unreadable


def _parse(lines: list[bytes]) -> pa.Table:
    if not lines:
        return SCANS.empty_table()
    options = pajson.ParseOptions(explicit_schema=SCANS, unexpected_field_behavior="error")
    table: pa.Table = pajson.read_json(io.BytesIO(b"\n".join(lines) + b"\n"), parse_options=options)
    if any(table.column(n).null_count for n in SCANS.names):
        raise ValueError("a line misses a field of a scan")
    return table


def _set_aside(lake: Path, path: Path, lines: list[bytes]) -> None:
    """Keep a buffer file's unreadable lines, before the file goes: named after it and
    replaced whole, so a flush repeated after a crash writes them once."""
    folder = buffer_dir(lake) / SET_ASIDE
    folder.mkdir(exist_ok=True)
    target = folder / path.name.removesuffix(".flushing")
    partial = folder / f".{target.name}.partial"
    with partial.open("wb") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
    _fsync_dir(folder)


def set_aside_lines(lake: Path) -> int:
    """How many unreadable buffer lines flushes have set aside (see the module)."""
    folder = buffer_dir(lake) / SET_ASIDE
    if not folder.is_dir():
        return 0
    return sum(_count_lines(p) for p in folder.glob("scans-*.jsonl"))


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def oldest_batch_age(lake: Path, *, now: float | None = None) -> float | None:
    """Seconds since the oldest batch still in the buffer was first written (pending or
    being flushed), or None when the buffer is empty: what a readiness check watches."""
    batches = [*_flushing(lake), *_pending(lake)]
    if not batches:
        return None
    oldest = min(_number(p) for p in batches) / 1e6
    return (now if now is not None else time.time()) - oldest


@contextmanager
def appends_held(lake: Path) -> Iterator[list[Path]]:
    """The buffer's files (pending and being flushed), while no upload appends to them:
    a backup copies whole lines. Flushes may go on; they only rename and delete files."""
    folder = buffer_dir(lake)
    with _locked(folder / ".lock"):
        yield [*_flushing(lake), *_pending(lake)]


def buffered_rows(lake: Path) -> int:
    return sum(_rows_in(p) for p in [*_pending(lake), *_flushing(lake)])


def compact_days(lake: Path, days: list[date] | None = None) -> list[CompactReport]:
    """Compact the given days, or every day that is not yet one compacted file."""
    if days is None:
        days = [s.day for s in day_stats(lake) if not s.compacted]
    return [compact(lake, day) for day in days]


def stats(lake: Path) -> list[DayStats]:
    return day_stats(lake, SCAN_STREAM)
