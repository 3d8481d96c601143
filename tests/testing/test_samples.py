"""Samples of a round into the lake: row errors, tube rules, closures, idempotence, atomicity."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangkong.errors import ImportRejected, InvalidInput
from fangkong.lake import reading
from fangkong.testing import lake as tlake
from fangkong.testing import samples
from fangkong.testing.lake import SAMPLE_STREAM, SAMPLES, check_round_code
from fangkong.testing.samples import add_samples, close_tube, import_samples

R = "R2022-04-04"
HEADER = "person_id,tube_barcode,tube_size,point_code,sampled_at\n"
GOOD = HEADER + (
    "P1,T1,10,A,2022-04-04T08:00:00\n"
    "P2,T1,10,A,2022-04-04T08:01:00\n"
    "P3,T2,1,A,2022-04-04T08:02:00+08:00\n"
    "P4,T3,5,B,2022-04-04T00:03:00Z\n"
)
Error = tuple[int, str | None, str, str | None]


def write(tmp_path: Path, text: str, name: str = "s.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def errors_of(exc: pytest.ExceptionInfo[ImportRejected]) -> list[Error]:
    return [(e["row"], e["column"], e["reason"], e["value"]) for e in exc.value.details["errors"]]


def rejected(lake: Path, path: Path) -> list[Error]:
    with pytest.raises(ImportRejected) as exc:
        import_samples(lake, R, path)
    return errors_of(exc)


def stored(lake: Path) -> list[dict[str, object]]:
    files = SAMPLE_STREAM.files(lake, R)
    if not files:
        return []
    rows: list[dict[str, object]] = pa.concat_tables(pq.read_table(f) for f in files).to_pylist()
    return sorted(rows, key=lambda r: (str(r["tube_barcode"]), str(r["person_id"])))


def visible_files(lake: Path) -> list[Path]:
    root = tlake.testing_root(lake)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "_lock")


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


def test_import_writes_one_sorted_part_in_utc(lake: Path, tmp_path: Path) -> None:
    seen: list[int] = []
    report = import_samples(lake, R, write(tmp_path, GOOD), progress=seen.append)
    assert (report.rows, report.added, report.duplicates, report.tubes) == (4, 4, 0, 3)
    assert seen == [4]
    assert report.rows_per_s > 0
    [part] = SAMPLE_STREAM.files(lake, R)
    assert part == report.file
    assert part.parent.name == f"round={R}"
    schema = pq.read_schema(part)
    assert (schema.names, schema.types) == (SAMPLES.names, SAMPLES.types)
    rows = stored(lake)
    assert [r["person_id"] for r in rows] == ["P1", "P2", "P3", "P4"]
    assert rows[0] == {
        "round_code": R,
        "person_id": "P1",
        "tube_barcode": "T1",
        "tube_size": 10,
        "point_code": "A",
        "sampled_at": datetime(2022, 4, 4, 0, 0, tzinfo=UTC),  # 08:00 in Shanghai
    }
    assert rows[2]["sampled_at"] == datetime(2022, 4, 4, 0, 2, tzinfo=UTC)
    assert rows[3]["sampled_at"] == datetime(2022, 4, 4, 0, 3, tzinfo=UTC)


def test_chinese_headers_and_gb18030(lake: Path, tmp_path: Path) -> None:
    text = "人员编号,试管编码,混采数,采样点,采样时间\n张三-1,T9,5,采样点一,2022-04-04 09:00:00\n"
    report = import_samples(lake, R, write(tmp_path, text, encoding="gb18030"))
    assert report.added == 1
    assert stored(lake)[0]["point_code"] == "采样点一"


def test_importing_again_adds_nothing(lake: Path, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    import_samples(lake, R, path)
    again = import_samples(lake, R, path)
    assert (again.rows, again.added, again.duplicates, again.file) == (4, 0, 4, None)
    more = write(tmp_path, GOOD + "P5,T1,10,A,2022-04-04T08:05:00\n", "more.csv")
    report = import_samples(lake, R, more)
    assert (report.added, report.duplicates) == (1, 4)
    assert len(SAMPLE_STREAM.files(lake, R)) == 2
    assert len(stored(lake)) == 5


def test_rounds_are_apart(lake: Path, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    import_samples(lake, R, path)
    assert import_samples(lake, "R2", path).added == 4


def test_bad_fields_are_reported_with_row_column_and_reason(lake: Path, tmp_path: Path) -> None:
    text = HEADER + (
        "P1,T1,10,A,2022-04-04T08:00:00\n"  # row 2: good
        ",T1,10,A,2022-04-04T08:00:00\n"  # 3
        "P3, ,10,A,2022-04-04T08:00:00\n"  # 4
        "P4,T4,,A,2022-04-04T08:00:00\n"  # 5
        "P5,T5,ten,A,2022-04-04T08:00:00\n"  # 6
        "P6,T6,7,A,2022-04-04T08:00:00\n"  # 7
        "P7,T7,1,,2022-04-04T08:00:00\n"  # 8
        "P8,T8,1,A,\n"  # 9
        "P9,T9,1,A,08:30\n"  # 10
        "P10,T10,1,A,2022-04-04\n"  # 11
        "P11,T11,1,A,2022-04-31T08:00:00\n"  # 12
    )
    assert rejected(lake, write(tmp_path, text)) == [
        (3, "person_id", "person_id is empty", None),
        (4, "tube_barcode", "tube_barcode is empty", None),
        (5, "tube_size", "tube_size is empty", None),
        (6, "tube_size", "tube_size is not a whole number", "ten"),
        (7, "tube_size", "tube size not allowed: use one of 1, 5, 10, 20", "7"),
        (8, "point_code", "point_code is empty", None),
        (9, "sampled_at", "sampled_at is empty", None),
        (10, "sampled_at", samples._NO_DATE, "08:30"),
        (11, "sampled_at", samples._NO_TIME, "2022-04-04"),
        (12, "sampled_at", reading.BAD_TIME, "2022-04-31T08:00:00"),
    ]
    assert visible_files(lake) == []


def test_allowed_sizes_can_be_narrowed(lake: Path, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(ImportRejected) as exc:
        import_samples(lake, R, path, allowed_sizes=(1, 10))
    assert errors_of(exc) == [
        (5, "tube_size", "tube size not allowed: use one of 1, 10", "5"),
    ]
    with pytest.raises(InvalidInput):
        import_samples(lake, R, path, allowed_sizes=())


def test_missing_column_and_empty_file(lake: Path, tmp_path: Path) -> None:
    text = "person_id,tube_barcode,point_code,sampled_at\nP1,T1,A,2022-04-04T08:00:00\n"
    assert rejected(lake, write(tmp_path, text)) == [
        (1, "tube_size", "required column missing (header tube_size or 混采数)", None)
    ]
    assert rejected(lake, write(tmp_path, "", "empty.csv")) == [
        (1, None, "the file is empty: no header row", None)
    ]


def test_a_tube_has_one_size(lake: Path, tmp_path: Path) -> None:
    text = HEADER + (
        "P1,T1,10,A,2022-04-04T08:00:00\n"
        "P2,T1,5,A,2022-04-04T08:01:00\n"
        "P3,T1,10,A,2022-04-04T08:02:00\n"
    )
    assert rejected(lake, write(tmp_path, text)) == [
        (3, "tube_size", "tube T1 is a 10-in-1 tube at row 2; a tube has one size", "5"),
    ]
    import_samples(lake, R, write(tmp_path, GOOD, "good.csv"))
    later = HEADER + "P9,T1,20,A,2022-04-04T09:00:00\n"
    assert rejected(lake, write(tmp_path, later, "later.csv")) == [
        (
            2,
            "tube_size",
            "tube T1 is a 10-in-1 tube in the stored samples; a tube has one size",
            "20",
        ),
    ]


def test_an_over_full_tube_lists_its_rows(lake: Path, tmp_path: Path) -> None:
    rows = "".join(f"P{i},T5,5,A,2022-04-04T08:0{i}:00\n" for i in range(7))
    reason = "tube T5 is over-full: 7 persons in a 5-in-1 tube (rows 2, 3, 4, 5, 6, 7, 8)"
    assert rejected(lake, write(tmp_path, HEADER + rows)) == [
        (7, "tube_barcode", reason, "T5"),
        (8, "tube_barcode", reason, "T5"),
    ]


def test_an_over_full_tube_counts_the_stored_samples(lake: Path, tmp_path: Path) -> None:
    first = "".join(f"P{i},T5,5,A,2022-04-04T08:0{i}:00\n" for i in range(4))
    import_samples(lake, R, write(tmp_path, HEADER + first))
    # P3 again is a duplicate and takes no new place; P4 fills the tube, P5 is one too many.
    second = HEADER + (
        "P3,T5,5,A,2022-04-04T08:03:00\n"
        "P4,T5,5,A,2022-04-04T08:04:00\n"
        "P5,T5,5,A,2022-04-04T08:05:00\n"
    )
    reason = "tube T5 is over-full: 6 persons in a 5-in-1 tube (rows 2, 3, 4; 4 already stored)"
    assert rejected(lake, write(tmp_path, second, "second.csv")) == [
        (4, "tube_barcode", reason, "T5"),
    ]
    assert len(stored(lake)) == 4


def test_a_person_is_in_a_tube_once(lake: Path, tmp_path: Path) -> None:
    text = HEADER + (
        "P1,T1,10,A,2022-04-04T08:00:00\n"
        "P2,T1,10,A,2022-04-04T08:01:00\n"
        "P1,T1,10,A,2022-04-04T08:02:00\n"
    )
    assert rejected(lake, write(tmp_path, text)) == [
        (4, "person_id", "person P1 is already in tube T1 at row 2", "P1"),
    ]


def test_a_closed_tube_takes_no_later_sample(lake: Path, tmp_path: Path) -> None:
    import_samples(lake, R, write(tmp_path, GOOD))
    assert close_tube(lake, R, "T1", "A", datetime(2022, 4, 4, 8, 30, tzinfo=UTC)) is True
    # Closed at 16:30 Shanghai time: a late upload of 16:00 is fine, 17:00 is not.
    text = HEADER + ("P7,T1,10,A,2022-04-04T16:00:00\nP8,T1,10,A,2022-04-04T17:00:00\n")
    reason = "tube T1 was closed by point A at 2022-04-04T16:30:00, before this sample"
    assert rejected(lake, write(tmp_path, text, "late.csv")) == [
        (3, "sampled_at", reason, "2022-04-04T17:00:00"),
    ]
    ok = HEADER + "P7,T1,10,A,2022-04-04T16:00:00\n"
    assert import_samples(lake, R, write(tmp_path, ok, "ok.csv")).added == 1


def test_close_tube_is_idempotent_and_checked(lake: Path, tmp_path: Path) -> None:
    import_samples(lake, R, write(tmp_path, GOOD))
    at = datetime(2022, 4, 4, 8, 30, tzinfo=UTC)
    assert close_tube(lake, R, "T1", "A", at) is True
    assert close_tube(lake, R, "T1", "A", at) is False
    with pytest.raises(InvalidInput, match=f"tube T404 has no samples in round {R}"):
        close_tube(lake, R, "T404", "A", at)
    with pytest.raises(InvalidInput, match="tube T3 was sampled at point B, not here"):
        close_tube(lake, R, "T3", "A", at)
    with pytest.raises(InvalidInput, match="tube T2 has a sample at 2022-04-04T08:02:00"):
        close_tube(lake, R, "T2", "A", datetime(2022, 4, 4, 0, 0, tzinfo=UTC))
    # Naive times are Shanghai time.
    assert close_tube(lake, R, "T2", "A", datetime(2022, 4, 4, 9, 0)) is True  # noqa: DTZ001


def test_add_samples_numbers_rows_by_index(lake: Path) -> None:
    batch = pa.table(
        {
            "person_id": ["P1", "P2", "P2"],
            "tube_barcode": ["T1", "T1", "T1"],
            "tube_size": pa.array([5, 5, 5], pa.int16()),
            "point_code": ["A", "A", "A"],
            "sampled_at": pa.array(
                [datetime(2022, 4, 4, 0, m, tzinfo=UTC) for m in range(3)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    with pytest.raises(ImportRejected) as exc:
        add_samples(lake, R, batch)
    assert errors_of(exc) == [(2, "person_id", "person P2 is already in tube T1 at row 1", "P2")]
    report = add_samples(lake, R, batch.slice(0, 2))
    assert (report.rows, report.added) == (2, 2)
    assert add_samples(lake, R, batch.slice(0, 2)).duplicates == 2


def test_parquet_in_chunks_checks_across_chunks(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(samples, "BATCH_ROWS", 2)
    naive = pa.timestamp("us")
    table = pa.table(
        {
            "人员编号": [f"P{i}" for i in range(6)],
            "采样管码": ["T1"] * 6,
            "混采数": pa.array([5] * 6, pa.int64()),
            "采样点": ["A"] * 6,
            "采样时间": pa.array([datetime(2022, 4, 4, 8, i) for i in range(6)], naive),  # noqa: DTZ001
        }
    )
    path = tmp_path / "s.parquet"
    pq.write_table(table, path)
    seen: list[int] = []
    with pytest.raises(ImportRejected) as exc:
        import_samples(lake, R, path, progress=seen.append)
    assert seen == [2, 4, 6]
    reason = "tube T1 is over-full: 6 persons in a 5-in-1 tube (rows 2, 3, 4, 5, 6, 7)"
    assert errors_of(exc) == [(7, "tube_barcode", reason, "T1")]
    pq.write_table(table.slice(0, 5), path)
    assert import_samples(lake, R, path).added == 5
    assert stored(lake)[0]["sampled_at"] == datetime(2022, 4, 4, 0, 0, tzinfo=UTC)


def test_the_error_list_is_capped(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(samples, "MAX_ERRORS", 3)
    text = HEADER + "".join(f"P{i},T1,3,A,2022-04-04T08:00:00\n" for i in range(10))
    with pytest.raises(ImportRejected, match=r"10 row\(s\) rejected.*7 more") as exc:
        import_samples(lake, R, write(tmp_path, text))
    assert [row for row, _, _, _ in errors_of(exc)] == [2, 3, 4]


def test_a_failed_import_leaves_nothing_visible(lake: Path, tmp_path: Path) -> None:
    import_samples(lake, R, write(tmp_path, GOOD))
    before = visible_files(lake)
    bad = GOOD + "P9,T1,5,A,2022-04-04T09:00:00\n"
    with pytest.raises(ImportRejected):
        import_samples(lake, R, write(tmp_path, bad, "bad.csv"))
    assert visible_files(lake) == before
    assert not list((lake / "_staging").iterdir())


def test_round_codes_are_safe_folder_names(lake: Path, tmp_path: Path) -> None:
    assert check_round_code("R2022-04-04_a.1") == "R2022-04-04_a.1"
    for bad in ("", "../x", "a/b", ".hidden", "x" * 65, "轮次1", "R 1"):
        with pytest.raises(InvalidInput, match="invalid round code"):
            import_samples(lake, bad, write(tmp_path, GOOD))
