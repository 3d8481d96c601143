"""The live buffer: a flush that dies midway loses nothing, and its retry adds nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from fangkong.lake import writer
from fangkong.lake.layout import SCANS
from fangkong.scans import service
from tests.lakes import lake_rows


def batch(start: int, n: int) -> pa.Table:
    t0 = datetime(2022, 3, 22, 1, 0, tzinfo=UTC)
    rows = [
        {
            "person_id": f"P{i}",
            "venue_code": "V01",
            "entered_at": t0 + timedelta(minutes=i),
            "left_at": t0 + timedelta(minutes=i + 30),
            "left_at_inferred": True,
        }
        for i in range(start, start + n)
    ]
    return pa.Table.from_pylist(rows, schema=SCANS)


def test_a_crashed_flush_is_completed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.append(tmp_path, batch(0, 3)) == 3
    assert service.append(tmp_path, batch(3, 2)) == 5
    real = writer.write_scans
    calls = 0

    def write_then_die(lake: Path, table: pa.Table) -> writer.WriteReport:
        nonlocal calls
        calls += 1
        real(lake, table)  # written into the lake, but the buffer file is not yet removed
        raise RuntimeError("power cut")

    monkeypatch.setattr(service, "write_scans", write_then_die)
    with pytest.raises(RuntimeError, match="power cut"):
        service.flush(tmp_path)
    assert calls == 1
    assert [p.name.endswith(".flushing") for p in (tmp_path / "_buffer").glob("scans-*")] == [True]
    # scans arriving meanwhile go to a new buffer file
    assert service.append(tmp_path, batch(5, 1)) == 1
    assert service.flush_due(tmp_path)  # a flush to retry is always due

    monkeypatch.setattr(service, "write_scans", real)
    report = service.flush(tmp_path)
    assert (report.files, report.rows, report.added, report.duplicates) == (2, 6, 1, 5)
    assert lake_rows(tmp_path) == sorted(tuple(r.values()) for r in batch(0, 6).to_pylist())
    assert service.buffered_rows(tmp_path) == 0
    assert service.flush(tmp_path).files == 0


def test_flush_is_due_by_rows_or_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not service.flush_due(tmp_path)
    service.append(tmp_path, batch(0, 3))
    assert not service.flush_due(tmp_path)
    monkeypatch.setattr(service, "FLUSH_ROWS", 3)
    assert service.flush_due(tmp_path)
    monkeypatch.setattr(service, "FLUSH_ROWS", 100)
    (pending,) = (tmp_path / "_buffer").glob("scans-*.jsonl")
    created = int(pending.name.split(".")[0].removeprefix("scans-")) / 1e6
    assert service.flush_due(tmp_path, now=created + service.FLUSH_SECONDS)


def _pending(lake: Path) -> Path:
    (pending,) = (lake / "_buffer").glob("scans-*.jsonl")
    return pending


def _set_aside(lake: Path) -> list[bytes]:
    folder = lake / "_buffer" / service.SET_ASIDE
    return [
        line for p in sorted(folder.glob("scans-*.jsonl")) for line in p.read_bytes().splitlines()
    ]


def _in_lake(*batches: pa.Table) -> list[tuple[object, ...]]:
    return sorted(tuple(r.values()) for b in batches for r in b.to_pylist())


TORN = b'{"person_id": "P9", "ven'  # a crash before fsync: never acknowledged


def test_a_torn_last_line_is_set_aside(tmp_path: Path) -> None:
    service.append(tmp_path, batch(0, 2))
    with _pending(tmp_path).open("ab") as handle:
        handle.write(TORN)
    report = service.flush(tmp_path)
    assert (report.added, report.set_aside) == (2, 1)
    assert _set_aside(tmp_path) == [TORN]
    assert service.set_aside_lines(tmp_path) == 1
    assert lake_rows(tmp_path) == _in_lake(batch(0, 2))


def test_batches_acknowledged_after_a_torn_line_reach_the_lake(tmp_path: Path) -> None:
    service.append(tmp_path, batch(0, 2))
    with _pending(tmp_path).open("ab") as handle:
        handle.write(TORN)
    # The server restarts; devices go on posting into the same buffer file.
    service.append(tmp_path, batch(2, 3))
    service.append(tmp_path, batch(5, 1))
    report = service.flush(tmp_path)
    assert (report.rows, report.added, report.set_aside) == (6, 6, 1)
    assert _set_aside(tmp_path) == [TORN]
    # and the flushes after it go on as usual
    service.append(tmp_path, batch(6, 2))
    assert service.flush(tmp_path).added == 2
    assert lake_rows(tmp_path) == _in_lake(batch(0, 8))
    assert service.buffered_rows(tmp_path) == 0


@pytest.mark.parametrize(
    "bad",
    [
        b"\x00\x00\x00\x00",  # a block of the file lost
        b'{"person_id": "P8", "venue_code": "V01"}',  # fields missing
        b'{"person_id": 8, "venue_code": "V01", "entered_at": "x"}',  # wrong types
        b'["not", "a", "scan"]',
    ],
)
def test_a_corrupt_middle_line_is_set_aside(tmp_path: Path, bad: bytes) -> None:
    service.append(tmp_path, batch(0, 2))
    with _pending(tmp_path).open("ab") as handle:
        handle.write(bad + b"\n")
    service.append(tmp_path, batch(2, 2))
    report = service.flush(tmp_path)
    assert (report.added, report.set_aside) == (4, 1)
    assert _set_aside(tmp_path) == [bad]
    assert lake_rows(tmp_path) == _in_lake(batch(0, 4))
    service.append(tmp_path, batch(4, 1))
    assert (service.flush(tmp_path).added, service.set_aside_lines(tmp_path)) == (1, 1)


def test_lines_set_aside_by_a_crashed_flush_are_kept_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.append(tmp_path, batch(0, 2))
    with _pending(tmp_path).open("ab") as handle:
        handle.write(b"garbage\n")
    service.append(tmp_path, batch(2, 1))

    def die(lake: Path, table: pa.Table) -> writer.WriteReport:
        raise RuntimeError("power cut")

    monkeypatch.setattr(service, "write_scans", die)
    with pytest.raises(RuntimeError):
        service.flush(tmp_path)
    monkeypatch.undo()
    assert service.flush(tmp_path).added == 3
    assert _set_aside(tmp_path) == [b"garbage"]
