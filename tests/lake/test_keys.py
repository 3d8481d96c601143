"""The lake's dictionaries: stable dense keys, merged files, and the upgrade of a lake whose
files still hold the ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangkong.lake import engine, keys, writer
from fangkong.lake.layout import SCAN_STREAM, SCANS, LakeOutdated
from fangkong.lake.scans import visits
from tests.lakes import lake_rows

T0 = datetime(2022, 3, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
DAY = date(2022, 3, 22)


def scans(persons: list[str], venue: str = "V1", minute: int = 0) -> pa.Table:
    rows = [
        {
            "person_id": p,
            "venue_code": venue,
            "entered_at": T0 + timedelta(minutes=minute + i),
            "left_at": T0 + timedelta(minutes=minute + i + 20),
            "left_at_inferred": False,
        }
        for i, p in enumerate(persons)
    ]
    return pa.Table.from_pylist(rows, schema=SCANS)


def test_keys_are_dense_stable_and_decode_to_the_ids(tmp_path: Path) -> None:
    writer.write_scans(tmp_path, scans(["B", "A"]))
    writer.write_scans(tmp_path, scans(["C", "A"], venue="V2", minute=30))
    assert keys.values(tmp_path, keys.PERSON).to_pylist() == ["A", "B", "C"]  # A, B first
    assert keys.values(tmp_path, keys.VENUE).to_pylist() == ["V1", "V2"]
    assert keys.encode(tmp_path, keys.PERSON, ["C", "A", "nobody"]) == {"A": 0, "C": 2}
    decoded = keys.decode(tmp_path, keys.PERSON, pa.array([2, 0, 2], pa.int32()))
    assert decoded.to_pylist() == ["C", "A", "C"]
    stored = pq.read_table(SCAN_STREAM.files(tmp_path)[0])
    assert stored.column_names[:2] == ["person_key", "venue_key"]
    assert {r[0] for r in lake_rows(tmp_path)} == {"A", "B", "C"}


def test_a_write_of_known_ids_adds_no_dictionary_file(tmp_path: Path) -> None:
    writer.write_scans(tmp_path, scans(["A", "B"]))
    before = keys.files(tmp_path, keys.PERSON)
    writer.write_scans(tmp_path, scans(["A", "B"], minute=40))
    assert keys.files(tmp_path, keys.PERSON) == before


def test_the_dictionary_is_merged_every_few_files(tmp_path: Path) -> None:
    for i in range(keys.MERGE_AT + 3):
        writer.write_scans(tmp_path, scans([f"P{i:03d}"], minute=i))
    chain = keys.files(tmp_path, keys.PERSON)
    assert len(chain) < keys.MERGE_AT
    assert chain[0].name == keys.file_name(0, keys.MERGE_AT)
    assert len(list(keys.folder(tmp_path, keys.PERSON).iterdir())) == len(chain)
    expected = [f"P{i:03d}" for i in range(keys.MERGE_AT + 3)]
    assert keys.values(tmp_path, keys.PERSON).to_pylist() == expected


def test_a_reader_takes_a_merged_file_over_the_parts_it_replaces(tmp_path: Path) -> None:
    folder = keys.folder(tmp_path, keys.PERSON)
    folder.mkdir(parents=True)

    def dictionary(first: int, ids: list[str]) -> None:
        table = pa.table(
            {"key": range(first, first + len(ids)), "value": ids}, schema=keys.DICTIONARY
        )
        pq.write_table(table, folder / keys.file_name(first, first + len(ids)))

    dictionary(0, ["A"])
    dictionary(1, ["B"])
    dictionary(0, ["A", "B"])  # merged, the parts not yet removed
    dictionary(2, ["C"])
    assert [f.name for f in keys.files(tmp_path, keys.PERSON)] == [
        keys.file_name(0, 2),
        keys.file_name(2, 3),
    ]
    assert keys.values(tmp_path, keys.PERSON).to_pylist() == ["A", "B", "C"]
    (folder / keys.file_name(2, 3)).unlink()
    dictionary(4, ["E"])  # key 3 has no value: a file went missing
    with pytest.raises(keys.DictionaryBroken, match="stop at 2"):
        keys.files(tmp_path, keys.PERSON)


def test_a_lake_of_ids_is_refused_until_compacted(tmp_path: Path) -> None:
    """Files written before the dictionaries hold the ids: readers name the fix, compaction
    rewrites them with keys and loses nothing."""
    old = scans(["A", "B", "A"], minute=0)
    folder = SCAN_STREAM.day_dir(tmp_path, DAY)
    folder.mkdir(parents=True)
    pq.write_table(old, folder / "compact-old.parquet")
    pq.write_table(scans(["C"], venue="V2", minute=50), folder / "part-old.parquet")
    con = engine.connect("duckdb")
    with pytest.raises(LakeOutdated, match="fangkong scans compact"):
        visits(con, tmp_path).to_pyarrow()
    with pytest.raises(LakeOutdated):
        writer.write_scans(tmp_path, scans(["D"], minute=55))
    assert [s.compacted for s in writer.day_stats(tmp_path)] == [False]

    report = writer.compact(tmp_path, DAY)
    assert (report.rows, report.duplicates) == (4, 0)
    assert [s.compacted for s in writer.day_stats(tmp_path)] == [True]
    expected = sorted(
        tuple(r.values()) for r in pa.concat_tables([old, scans(["C"], "V2", 50)]).to_pylist()
    )
    assert lake_rows(tmp_path) == expected
    assert writer.write_scans(tmp_path, scans(["D"], minute=55)).added == 1
