"""Lab results of a round into the lake: one result a tube, never corrected, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangkong.errors import ImportRejected, InvalidInput
from fangkong.lake import reading
from fangkong.testing import lake as tlake
from fangkong.testing import results
from fangkong.testing.fhir import LabResult, TubeResult, parse_bundle
from fangkong.testing.lake import RESULT_STREAM, TUBE_RESULTS
from fangkong.testing.results import import_results
from fangkong.testing.samples import import_samples

R = "R2022-04-04"
DATA = Path(__file__).parent / "data"
SAMPLES = "person_id,tube_barcode,tube_size,point_code,sampled_at\n" + (
    "P1,T1,10,A,2022-04-04T08:00:00\n"
    "P2,T1,10,A,2022-04-04T08:01:00\n"
    "P3,T2,1,A,2022-04-04T08:02:00\n"
    "P4,T3,5,B,2022-04-04T09:00:00\n"
)
HEADER = "tube_barcode,result,lab,resulted_at,ct_orf1ab,ct_n\n"
GOOD = HEADER + (
    "T1,阳性,市疾控,2022-04-04T18:00:00,31.5,29\n"
    "T2,Negative,市疾控,2022-04-04T10:00:00Z,,\n"
    "T3,无效,区医院,2022-04-04T20:00:00+08:00,,\n"
)
Error = tuple[int, str | None, str, str | None]


def write(tmp_path: Path, text: str, name: str = "r.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(exc: pytest.ExceptionInfo[ImportRejected]) -> list[Error]:
    return [(e["row"], e["column"], e["reason"], e["value"]) for e in exc.value.details["errors"]]


def rejected(lake: Path, source: Path | list[LabResult]) -> list[Error]:
    with pytest.raises(ImportRejected) as exc:
        import_results(lake, R, source, source="test")
    return errors_of(exc)


def stored(lake: Path) -> list[dict[str, object]]:
    files = RESULT_STREAM.files(lake, R)
    if not files:
        return []
    rows = pa.concat_tables(pq.read_table(f) for f in files).to_pylist()
    return sorted(rows, key=lambda r: str(r["tube_barcode"]))


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    import_samples(lake, R, write(tmp_path, SAMPLES, "samples.csv"))
    return lake


def test_results_from_a_csv(lake: Path, tmp_path: Path) -> None:
    report = import_results(lake, R, write(tmp_path, GOOD), source="lab.csv")
    assert (report.rows, report.added, report.duplicates) == (3, 3, 0)
    assert (report.positive, report.invalid) == (1, 1)
    [part] = RESULT_STREAM.files(lake, R)
    schema = pq.read_schema(part)
    assert (schema.names, schema.types) == (TUBE_RESULTS.names, TUBE_RESULTS.types)
    assert stored(lake) == [
        {
            "tube_barcode": "T1",
            "result": "positive",
            "lab": "市疾控",
            "resulted_at": datetime(2022, 4, 4, 10, 0, tzinfo=UTC),
            "ct_orf1ab": 31.5,
            "ct_n": 29.0,
            "source": "lab.csv",
        },
        {
            "tube_barcode": "T2",
            "result": "negative",
            "lab": "市疾控",
            "resulted_at": datetime(2022, 4, 4, 10, 0, tzinfo=UTC),
            "ct_orf1ab": None,
            "ct_n": None,
            "source": "lab.csv",
        },
        {
            "tube_barcode": "T3",
            "result": "invalid",
            "lab": "区医院",
            "resulted_at": datetime(2022, 4, 4, 12, 0, tzinfo=UTC),
            "ct_orf1ab": None,
            "ct_n": None,
            "source": "lab.csv",
        },
    ]


def test_the_same_results_again_add_nothing(lake: Path, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    import_results(lake, R, path, source="lab.csv")
    again = import_results(lake, R, path, source="lab.csv")
    assert (again.added, again.duplicates, again.file) == (0, 3, None)
    # The same result from another feed, at another time, is the same result.
    resent = [
        LabResult("T2", TubeResult.NEGATIVE, "市疾控", datetime(2022, 4, 4, 11, 0, tzinfo=UTC))
    ]
    assert import_results(lake, R, resent, source="fhir").duplicates == 1
    assert len(RESULT_STREAM.files(lake, R)) == 1


def test_the_same_tube_twice_in_one_input(lake: Path, tmp_path: Path) -> None:
    text = HEADER + (
        "T1,positive,市疾控,2022-04-04T18:00:00,,\nT1,positive,市疾控,2022-04-04T18:05:00,,\n"
    )
    report = import_results(lake, R, write(tmp_path, text), source="lab.csv")
    assert (report.added, report.duplicates) == (1, 1)
    assert stored(lake)[0]["resulted_at"] == datetime(2022, 4, 4, 10, 0, tzinfo=UTC)


def test_a_result_for_a_tube_without_samples(lake: Path, tmp_path: Path) -> None:
    text = (
        HEADER
        + "T1,negative,市疾控,2022-04-04T18:00:00,,\nT404,negative,市疾控,2022-04-04T18:00:00,,\n"
    )
    assert rejected(lake, write(tmp_path, text)) == [
        (3, "tube_barcode", f"tube T404 has no samples in round {R}", "T404"),
    ]
    assert stored(lake) == []
    # A tube of another round is unknown in this one.
    with pytest.raises(ImportRejected):
        import_results(lake, "R-other", write(tmp_path, GOOD, "good.csv"), source="x")


def test_a_different_result_is_not_a_correction(lake: Path, tmp_path: Path) -> None:
    import_results(lake, R, write(tmp_path, GOOD), source="lab.csv")
    changed = HEADER + "T1,negative,区医院,2022-04-05T08:00:00,,\n"
    reason = (
        "tube T1 already has result positive from 市疾控 at 2022-04-04T18:00:00; "
        "a result is not corrected: sample the persons again"
    )
    assert rejected(lake, write(tmp_path, changed, "changed.csv")) == [
        (2, "result", reason, "negative"),
    ]
    assert len(stored(lake)) == 3


def test_two_results_of_a_tube_in_one_input(lake: Path, tmp_path: Path) -> None:
    text = HEADER + (
        "T1,positive,市疾控,2022-04-04T18:00:00,,\nT1,negative,市疾控,2022-04-04T18:05:00,,\n"
    )
    reason = (
        "tube T1 has result positive at row 2; a result is not corrected: sample the persons again"
    )
    assert rejected(lake, write(tmp_path, text)) == [(3, "result", reason, "negative")]


def test_a_result_before_the_tube_was_sampled(lake: Path, tmp_path: Path) -> None:
    text = HEADER + "T3,negative,区医院,2022-04-04T08:59:00,,\n"
    reason = "tube T3 was first sampled at 2022-04-04T09:00:00, after this result"
    assert rejected(lake, write(tmp_path, text)) == [
        (2, "resulted_at", reason, "2022-04-04T08:59:00"),
    ]


def test_bad_fields(lake: Path, tmp_path: Path) -> None:
    text = HEADER + (
        ",negative,x,2022-04-04T18:00:00,,\n"  # 2
        "T1,,x,2022-04-04T18:00:00,,\n"  # 3
        "T1,weakly positive,x,2022-04-04T18:00:00,,\n"  # 4
        "T1,negative,,2022-04-04T18:00:00,,\n"  # 5
        "T1,negative,x,18:00,,\n"  # 6
        "T1,negative,x,2022-04-04,,\n"  # 7
        "T1,negative,x,yesterday,,\n"  # 8
        "T1,negative,x,2022-04-04T18:00:00,-1,\n"  # 9
        "T1,negative,x,2022-04-04T18:00:00,,n/a\n"  # 10
    )
    assert rejected(lake, write(tmp_path, text)) == [
        (2, "tube_barcode", "tube_barcode is empty", None),
        (3, "result", "result is empty", None),
        (4, "result", results._BAD_RESULT, "weakly positive"),
        (5, "lab", "lab is empty", None),
        (6, "resulted_at", results._NO_DATE, "18:00"),
        (7, "resulted_at", results._NO_TIME, "2022-04-04"),
        (8, "resulted_at", reading.BAD_TIME, "yesterday"),
        (9, "ct_orf1ab", results._BAD_CT, "-1"),
        (10, "ct_n", results._BAD_CT, "n/a"),
    ]


def test_fhir_results(lake: Path, tmp_path: Path) -> None:
    fhir = parse_bundle((DATA / "fhir_bundle_valid.json").read_bytes())
    text = "person_id,tube_barcode,tube_size,point_code,sampled_at\n" + (
        "Q1,P10-0001,10,A,2022-04-01T08:00:00\n"
        "Q2,P20-0002,20,A,2022-04-01T08:00:00\n"
        "Q3,S-0003,1,A,2022-04-01T08:00:00\n"
    )
    import_samples(lake, R, write(tmp_path, text, "fhir-samples.csv"))
    report = import_results(lake, R, fhir, source="fhir:bundle")
    assert (report.added, report.positive, report.invalid) == (3, 1, 1)
    by_tube = {r["tube_barcode"]: r for r in stored(lake)}
    assert by_tube["P20-0002"]["ct_orf1ab"] == 31.2
    assert by_tube["P20-0002"]["ct_n"] == 29.85
    assert by_tube["P20-0002"]["lab"] == "市第一人民医院检验科"
    assert by_tube["S-0003"]["result"] == "invalid"
    assert import_results(lake, R, fhir, source="fhir:bundle").duplicates == 3
    # The n-th result of a sequence is row n.
    wrong = [*fhir, LabResult("NOPE", TubeResult.NEGATIVE, "x", fhir[0].resulted_at)]
    assert rejected(lake, wrong) == [
        (4, "tube_barcode", f"tube NOPE has no samples in round {R}", "NOPE"),
    ]


def test_a_failed_import_leaves_nothing_visible(lake: Path, tmp_path: Path) -> None:
    import_results(lake, R, write(tmp_path, GOOD), source="lab.csv")
    before = sorted(p for p in tlake.testing_root(lake).rglob("*") if p.is_file())
    text = HEADER + "T9,negative,x,2022-04-04T18:00:00,,\n"
    with pytest.raises(ImportRejected):
        import_results(lake, R, write(tmp_path, text, "bad.csv"), source="x")
    assert sorted(p for p in tlake.testing_root(lake).rglob("*") if p.is_file()) == before
    assert not list((lake / "_staging").iterdir())


def test_source_is_required(lake: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="source"):
        import_results(lake, R, write(tmp_path, GOOD), source=" ")
