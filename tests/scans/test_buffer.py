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


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    service.append(tmp_path, batch(0, 2))
    (pending,) = (tmp_path / "_buffer").glob("scans-*.jsonl")
    with pending.open("ab") as handle:
        handle.write(b'{"person_id": "P9", "ven')  # a crash before fsync: never acknowledged
    assert service.flush(tmp_path).added == 2
