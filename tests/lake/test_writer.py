"""The lake's writer: atomic appends, dedup, compaction, and the reader over both engines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangkong.lake import engine, writer
from fangkong.lake.layout import SCAN_STREAM, SCANS, SCANS_BY_PERSON
from fangkong.lake.scans import visits

T0 = datetime(2022, 3, 21, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: the 21st


def scans(n: int, *, start: datetime = T0, inferred: bool = False) -> pa.Table:
    rows = [
        {
            "person_id": f"P{i % 7}",
            "venue_code": f"V{i % 3}",
            "entered_at": start + timedelta(hours=i),
            "left_at": start + timedelta(hours=i, minutes=30),
            "left_at_inferred": inferred,
        }
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows, schema=SCANS)


def lake_rows(lake: Path) -> list[tuple[object, ...]]:
    files = SCAN_STREAM.files(lake)
    if not files:
        return []
    table = pa.concat_tables(pq.read_table(f) for f in files)
    return sorted(tuple(r.values()) for r in table.to_pylist())


def hidden(lake: Path) -> list[Path]:
    return [p for p in lake.rglob(".*") if p.is_file()]


def test_splits_by_local_day_and_is_idempotent(tmp_path: Path) -> None:
    report = writer.write_scans(tmp_path, scans(30))
    assert (report.added, report.duplicates) == (30, 0)
    # 23:00 on the 21st is the 21st in Shanghai although 15:00 UTC; the next hour is the 22nd
    assert SCAN_STREAM.days(tmp_path) == [date(2022, 3, 21), date(2022, 3, 22), date(2022, 3, 23)]
    assert [s.rows for s in writer.day_stats(tmp_path)] == [1, 24, 5]
    before = lake_rows(tmp_path)

    again = writer.write_scans(tmp_path, pa.concat_tables([scans(30), scans(30)]))
    assert (again.added, again.duplicates, again.files) == (0, 60, [])
    assert lake_rows(tmp_path) == before


def test_duplicates_within_a_batch_keep_the_recorded_exit(tmp_path: Path) -> None:
    batch = pa.concat_tables([scans(2, inferred=True), scans(2)])
    report = writer.write_scans(tmp_path, batch)
    assert (report.added, report.duplicates) == (2, 2)
    assert [r[-1] for r in lake_rows(tmp_path)] == [False, False]


def test_a_failed_rename_leaves_nothing_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk gone"):
        writer.write_scans(tmp_path, scans(30))
    assert SCAN_STREAM.files(tmp_path) == []
    assert SCAN_STREAM.days(tmp_path) == []
    assert hidden(tmp_path) == []  # the temporary files were removed too
    monkeypatch.undo()
    assert writer.write_scans(tmp_path, scans(30)).added == 30


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    import pyarrow as pa, pyarrow.compute as pc
    from fangkong.lake import writer
    from fangkong.lake.layout import SCANS

    def never(*args):  # the parent kills us before any file appears
        time.sleep(600)

    os.replace = never
    n = 2_000_000
    start = pa.scalar(datetime(2022, 3, 20, tzinfo=UTC), pa.timestamp("us", tz="UTC"))
    offsets = pc.multiply(pa.array(range(n), pa.int64()), 300_000).cast(pa.duration("us"))
    entered = pc.add(start, offsets)
    ids = pa.array([f"P{i % 50_000}" for i in range(n)])
    venues = pa.array([f"V{i % 512}" for i in range(n)])
    left = pc.add(entered, pa.scalar(600_000_000, pa.duration("us")))
    table = pa.table([ids, venues, entered, left, pa.array([False] * n)], schema=SCANS)
    print("writing", flush=True)
    writer.write_scans(Path(sys.argv[1]), table)
    """
)


def test_a_killed_writer_leaves_no_visible_partial_file(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 120  # a bound on waiting, not an assertion on speed
    while not hidden(tmp_path / "scans") if (tmp_path / "scans").exists() else True:
        assert child.poll() is None, "the writer ended before writing"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert hidden(tmp_path / "scans")  # killed mid-write: its work is there, invisible
    assert SCAN_STREAM.files(tmp_path) == []
    assert SCAN_STREAM.days(tmp_path) == []
    assert visits(engine.connect("duckdb"), tmp_path).count().execute() == 0
    # the next writer removes what is stale; an hour is a setting of the cleaner
    removed = writer.remove_stale(tmp_path, older_than=0)
    assert removed
    assert hidden(tmp_path / "scans") == []


def test_compaction_keeps_the_rows_and_replaces_the_parts(tmp_path: Path) -> None:
    writer.write_scans(tmp_path, scans(10))
    writer.write_scans(tmp_path, scans(10, start=T0 + timedelta(minutes=1)))
    writer.write_scans(tmp_path, scans(10, start=T0 + timedelta(minutes=2), inferred=True))
    day = date(2022, 3, 22)
    parts = SCAN_STREAM.files(tmp_path, [day])
    assert len(parts) == 3
    before = lake_rows(tmp_path)

    report = writer.compact(tmp_path, day)
    assert report.rows == 27
    assert sorted(report.removed) == sorted(parts)
    assert all(not p.exists() for p in parts)
    (compacted,) = SCAN_STREAM.files(tmp_path, [day])
    assert compacted == report.file
    assert lake_rows(tmp_path) == before
    table = pq.read_table(compacted)
    order = list(zip(table["venue_key"].to_pylist(), table["entered_at"].to_pylist(), strict=True))
    assert order == sorted(order)  # by venue, then time: min/max statistics prune venues
    (by_person,) = SCANS_BY_PERSON.files(tmp_path, [day])
    assert pq.read_table(by_person)["person_key"].to_pylist() == sorted(
        table["person_key"].to_pylist()
    )
    assert writer.day_stats(tmp_path)[1].compacted
    assert writer.compact(tmp_path, day).removed == []  # nothing left to do

    # new scans after compaction: the person view reads the index and the new part
    writer.write_scans(tmp_path, scans(1, start=T0 + timedelta(hours=2, minutes=5)))
    con = engine.connect("duckdb")
    by_venue = visits(con, tmp_path, [day]).to_pyarrow().sort_by("entered_at")
    by_person_view = visits(con, tmp_path, [day], by="person").to_pyarrow().sort_by("entered_at")
    assert by_venue.num_rows == 28
    assert by_venue.equals(by_person_view)


def test_visits_of_an_empty_lake_has_the_schema(tmp_path: Path) -> None:
    table = visits(engine.connect("duckdb"), tmp_path).to_pyarrow()
    assert table.num_rows == 0
    assert table.column_names == [
        "person_id",
        "venue_code",
        "entered_at",
        "left_at",
        "left_at_inferred",
        "day",
    ]


def test_visits_carry_the_inferred_exit_flag(tmp_path: Path) -> None:
    writer.write_scans(tmp_path, scans(3, inferred=True))
    writer.write_scans(tmp_path, scans(2, start=T0 + timedelta(hours=1)))
    for by in ("venue", "person"):
        table = visits(engine.connect("duckdb"), tmp_path, by=by).to_pyarrow()  # type: ignore[arg-type]
        assert sorted(table["left_at_inferred"].to_pylist()) == [False, False, True, True, True]


@pytest.mark.spark
def test_duckdb_and_spark_read_the_same_visits(tmp_path: Path) -> None:
    writer.write_scans(tmp_path, scans(40))
    writer.compact(tmp_path, date(2022, 3, 22))
    writer.write_scans(tmp_path, scans(5, start=T0 + timedelta(minutes=7)))

    def query(con: object) -> list[tuple[object, ...]]:
        v = visits(con, tmp_path, [date(2022, 3, 22), date(2022, 3, 23)])
        at = v.filter(v.venue_code == "V1")
        q = (
            at.group_by(["day", "person_id"])
            .aggregate(n=at.count(), first=at.entered_at.min(), last=at.left_at.max())
            .order_by(["day", "person_id"])
        )
        df = q.execute()
        return [tuple(r) for r in df.itertuples(index=False)]

    on_duckdb = query(engine.connect("duckdb"))
    on_spark = query(engine.connect("spark"))
    assert on_duckdb
    assert on_spark == on_duckdb
