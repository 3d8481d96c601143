"""Importing scan files: all or nothing, row-numbered errors, idempotent, streamed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import ImportRejected, InvalidInput
from fangkong.lake import engine
from fangkong.lake.layout import SCAN_STREAM
from fangkong.lake.scans import visits
from fangkong.policy import load_policy
from fangkong.scans import importer
from fangkong.tabular import ImportReport
from tests.conftest import NOW
from tests.scans.conftest import CITY

POLICY = load_policy("national-9").tracing


def run(
    session: Session,
    lake: Path,
    data: bytes | Path,
    filename: str = "s.csv",
    *,
    scope: Jurisdiction = CITY,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    return importer.import_scans(
        session,
        data=data,
        filename=filename,
        now=NOW,
        scope=scope,
        lake=lake,
        policy=POLICY,
        progress=progress,
    )


def errors_of(exc: pytest.ExceptionInfo[ImportRejected]) -> list[tuple[int, str | None, str]]:
    return [(e["row"], e["column"], e["reason"]) for e in exc.value.details["errors"]]


def lake_table(lake: Path) -> pa.Table:
    return visits(engine.connect("duckdb"), lake).order_by(["person_id", "entered_at"]).to_pyarrow()


GOOD = (
    "person_id,venue_code,entered_at,left_at\n"
    "P1,V01,2022-03-22T08:00:00,2022-03-22T08:40:00\n"  # naive: Shanghai time
    "P2,V02,2022-03-22 09:00:00+08:00,\n"  # no exit: restaurant stay (60 min)
    "P3,V03,2022-03-21T16:30:00Z,\n"  # gym: its stay from the policy
)


def test_import_is_validated_and_idempotent(registry: Session, lake: Path) -> None:
    report = run(registry, lake, GOOD.encode())
    assert (report.added, report.unchanged, report.rejected) == (3, 0, 0)
    rows = lake_table(lake).to_pylist()
    assert [(r["person_id"], r["entered_at"], r["left_at"], r["day"]) for r in rows] == [
        (
            "P1",
            datetime(2022, 3, 22, 0, 0, tzinfo=UTC),
            datetime(2022, 3, 22, 0, 40, tzinfo=UTC),
            date(2022, 3, 22),
        ),
        (
            "P2",
            datetime(2022, 3, 22, 1, 0, tzinfo=UTC),
            datetime(2022, 3, 22, 2, 0, tzinfo=UTC),
            date(2022, 3, 22),
        ),
        (
            "P3",
            datetime(2022, 3, 21, 16, 30, tzinfo=UTC),
            datetime(2022, 3, 21, 16, 30, tzinfo=UTC) + timedelta(minutes=POLICY.stay_for("gym")),
            date(2022, 3, 22),
        ),
    ]
    assert {r["person_id"]: r["left_at_inferred"] for r in rows} == {
        "P1": False,
        "P2": True,
        "P3": True,
    }
    again = run(registry, lake, GOOD.encode())
    assert (again.added, again.unchanged) == (0, 3)
    assert len(SCAN_STREAM.files(lake)) == 1


def test_duplicates_within_the_file_are_counted(registry: Session, lake: Path) -> None:
    line = "P1,V01,2022-03-22T08:00:00\n"
    report = run(registry, lake, ("person_id,venue_code,entered_at\n" + line * 3).encode())
    assert (report.added, report.unchanged) == (1, 2)


def test_bad_rows_are_reported_exactly_and_nothing_is_written(
    registry: Session, lake: Path
) -> None:
    data = (
        b"person_id,venue_code,entered_at,left_at\n"
        b"P1,V01,2022-03-22T08:00:00,\n"  # row 2: good
        b"P9,V01,2022-03-22T08:00:00,\n"  # row 3: unknown person
        b"P1,V99,2022-03-22T08:00:00,\n"  # row 4: unknown venue
        b"P1,V01,2022-03-22T08:00:00,2022-03-22T07:59:00\n"  # row 5: left before entered
        b"P1,V01,22/03/2022 08:00,\n"  # row 6: bad timestamp
        b",V01,2022-03-22T08:00:00,\n"  # row 7: empty person
        b"P2,V02,,2022-03-22T25:00:00\n"  # row 8: empty entry, bad exit
    )
    with pytest.raises(ImportRejected) as exc:
        run(registry, lake, data)
    assert errors_of(exc) == [
        (3, "person_id", "unknown person 'P9': not in the registry"),
        (4, "venue_code", "unknown venue 'V99': not in the registry"),
        (5, "left_at", "left_at is before entered_at"),
        (6, "entered_at", importer._BAD_TIME),
        (7, "person_id", "person_id is empty"),
        (8, "entered_at", "entered_at is empty"),
        (8, "left_at", importer._BAD_TIME),
    ]
    assert exc.value.details["errors"][2]["value"] is None
    assert exc.value.details["errors"][3]["value"] == "22/03/2022 08:00"
    assert exc.value.details["report"]["rejected"] == 6
    assert SCAN_STREAM.files(lake) == []
    assert not list((lake / "_staging").iterdir())


def test_missing_columns(registry: Session, lake: Path) -> None:
    with pytest.raises(ImportRejected) as exc:
        run(registry, lake, b"person_id,left_at\nP1,2022-03-22T08:00:00\n")
    assert [(r, c) for r, c, _ in errors_of(exc)] == [(1, "entered_at"), (1, "venue_code")]


def test_chinese_header_in_gb18030(registry: Session, lake: Path) -> None:
    data = "人员编号,场所编码,进入时间\nP4,V01,2022-03-22 08:00\n".encode("gb18030")
    assert run(registry, lake, data).added == 1


def test_a_venue_device_imports_its_own_venue_only(registry: Session, lake: Path) -> None:
    from fangkong.auth.jurisdiction import bind

    with pytest.raises(ImportRejected) as exc:
        run(registry, lake, GOOD.encode(), scope=bind("venue", "V01"))
    assert errors_of(exc) == [
        (3, "venue_code", "venue 'V02' is outside your jurisdiction"),
        (4, "venue_code", "venue 'V03' is outside your jurisdiction"),
    ]


def test_parquet_in_chunks(
    registry: Session, lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    naive = pa.timestamp("us")
    table = pa.table(
        {
            "person_id": ["P1", "P2", "P3", "P4", "P1"],
            "venue_code": ["V01", "V02", "V03", "V01", "V02"],
            "entered_at": pa.array([datetime(2022, 3, 22, 8, m) for m in range(5)], naive),  # noqa: DTZ001
            "left_at": pa.array(
                [None, None, None, None, datetime(2022, 3, 22, 7, 0)],  # noqa: DTZ001
                naive,
            ),
        }
    )
    path = tmp_path / "s.parquet"
    pq.write_table(table, path)
    with pytest.raises(ImportRejected) as exc:
        run(registry, lake, path, "s.parquet")
    assert errors_of(exc) == [(6, "left_at", "left_at is before entered_at")]  # 5th row, 3rd chunk

    pq.write_table(table.slice(0, 4), path)
    seen: list[int] = []
    report = run(registry, lake, path, "s.parquet", progress=seen.append)
    assert (report.added, seen) == (4, [2, 4])
    first = lake_table(lake).to_pylist()[0]
    assert first["entered_at"] == datetime(2022, 3, 22, 0, 0, tzinfo=UTC)  # Shanghai time


def test_error_list_is_capped(
    registry: Session, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_ERRORS", 3)
    data = "person_id,venue_code,entered_at\n" + "PX,V01,2022-03-22T08:00\n" * 10
    with pytest.raises(ImportRejected, match=r"10 row\(s\) rejected.*7 more") as exc:
        run(registry, lake, data.encode())
    assert [r for r, _, _ in errors_of(exc)] == [2, 3, 4]


def test_a_line_with_too_many_fields(registry: Session, lake: Path) -> None:
    data = b"person_id,venue_code,entered_at\nP1,V01,2022-03-22T08:00,x\n"
    with pytest.raises(ImportRejected) as exc:
        run(registry, lake, data)
    assert errors_of(exc) == [(2, None, "expected 3 fields, found 4")]


def test_unreadable_files(registry: Session, lake: Path) -> None:
    with pytest.raises(InvalidInput, match="unsupported file type"):
        run(registry, lake, b"x", "s.xlsx")
    with pytest.raises(InvalidInput, match="not a readable Parquet"):
        run(registry, lake, b"not parquet", "s.parquet")
    with pytest.raises(ImportRejected) as exc:
        run(registry, lake, b"")
    assert errors_of(exc) == [(1, None, "the file is empty: no header row")]
