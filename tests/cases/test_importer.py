"""Case import: formats, headers, every bad row reported, all or nothing, idempotent."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.cases import service, stats
from fangkong.cases.importer import import_cases
from fangkong.cases.models import Case
from fangkong.cases.schemas import ImportReport
from fangkong.cases.vocab import FOUND_VIA_LABELS, ORIGIN_LABELS, FoundVia, Origin
from fangkong.errors import ImportRejected, InvalidInput
from fangkong.policy import load_policy

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)
CITY = bind("city", "3703")  # the whole city: these tests are about the registry
POLICY = load_policy("national-9")

EN = [
    "case_no",
    "district",
    "street",
    "classification",
    "origin",
    "found_via",
    "sampled_on",
    "reported_on",
    "converted_on",
    "discharged_on",
    "infector_case_no",
    "notes",
]
ZH = [
    "病例编号",
    "区县",
    "街道",
    "类型",
    "来源",
    "发现途径",
    "采样日期",
    "报告日期",
    "转确诊日期",
    "出院日期",
    "传染源病例",
    "备注",
]

GOOD_EN = [
    [
        "ZB-001",
        "周村区",
        "",
        "asymptomatic",
        "local",
        "quarantine_site",
        "2022-03-20",
        "2022-03-21",
        "",
        "",
        "",
        "",
    ],
    [
        "ZB-002",
        "370306",
        "萌水镇",
        "asymptomatic",
        "local",
        "community_screening",
        "",
        "2022-03-21",
        "2022-03-22",
        "",
        "ZB-001",
        "家庭聚集",
    ],
    ["ZB-003", "桓台县", "", "confirmed", "local", "", "", "2022-03-22", "", "2022-04-01", "", ""],
    [
        "ZB-004",
        "张店区",
        "四宝山街道",
        "confirmed",
        "abroad",
        "arrival_test",
        "2022-03-21",
        "2022-03-22",
        "",
        "",
        "",
        "",
    ],
]
GOOD_ZH = [
    [
        "ZB-001",
        "周村区",
        "",
        "无症状",
        "本土",
        "集中隔离点",
        "2022-03-20",
        "2022-03-21",
        "",
        "",
        "",
        "",
    ],
    [
        "ZB-002",
        "周村区",
        "萌水镇",
        "无症状感染者",
        "本土",
        "社会面筛查",
        "",
        "2022-03-21",
        "2022-03-22",
        "",
        "ZB-001",
        "家庭聚集",
    ],
    ["ZB-003", "桓台县", "", "确诊", "本土", "", "", "2022-03-22", "", "2022-04-01", "", ""],
    [
        "ZB-004",
        "张店区",
        "四宝山街道",
        "确诊病例",
        "境外输入",
        "入境/落地检",
        "2022-03-21",
        "2022-03-22",
        "",
        "",
        "",
        "",
    ],
]


def csv_bytes(rows: list[list[str]], header: list[str] = EN, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], header: list[str] = EN) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def load(session: Session, data: bytes, filename: str = "cases.csv") -> ImportReport:
    return import_cases(session, data=data, filename=filename, now=NOW, scope=CITY)


def rejected(session: Session, data: bytes, filename: str = "cases.csv") -> list[dict[str, Any]]:
    with pytest.raises(ImportRejected) as info:
        load(session, data, filename)
    assert info.value.code == "import_rejected"
    errors: list[dict[str, Any]] = info.value.details["errors"]
    assert info.value.details["report"]["rejected"] == len({e["row"] for e in errors})
    return errors


def case_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Case.id))) or 0)


def assert_untouched(session: Session) -> None:
    assert case_count(session) == 0
    assert service.counts_table(session) == {}


def assert_good_cases(session: Session) -> None:
    """The four cases of GOOD_EN / GOOD_ZH, as stored."""
    assert case_count(session) == 4
    one = service.get_case(session, case_no="ZB-001", scope=CITY)
    assert (one.district_code, one.unit_code, one.classification) == (
        "370306",
        "370306",
        "asymptomatic",
    )
    assert one.found_via == "quarantine_site"
    assert one.sampled_on == date(2022, 3, 20)
    two = service.get_case(session, case_no="ZB-002", scope=CITY)
    assert (two.street_code, two.unit_code) == ("370306103", "3703-wch")
    assert (two.reported_classification, two.classification) == ("asymptomatic", "confirmed")
    assert two.converted_on == date(2022, 3, 22)
    assert two.infector is not None
    assert two.infector.case_no == "ZB-001"
    assert two.notes == "家庭聚集"
    three = service.get_case(session, case_no="ZB-003", scope=CITY)
    assert (three.found_via, three.discharged_on) == (None, date(2022, 4, 1))
    four = service.get_case(session, case_no="ZB-004", scope=CITY)
    assert (four.origin, four.unit_code, four.found_via) == ("abroad", "3703-gxq", "arrival_test")
    assert service.counts_table(session) == dict(
        stats.recount(service.counted_facts(c) for c in session.scalars(select(Case))).items()
    )


# ---------------------------------------------------------------- good files


def test_csv_with_english_header(session: Session) -> None:
    report = load(session, csv_bytes(GOOD_EN))
    assert (report.added, report.updated, report.unchanged, report.rejected) == (4, 0, 0, 0)
    assert report.errors == []
    assert_good_cases(session)


def test_csv_with_bom_as_excel_saves_utf8(session: Session) -> None:
    report = load(session, csv_bytes(GOOD_EN, encoding="utf-8-sig"))
    assert report.added == 4
    assert_good_cases(session)


def test_csv_with_chinese_header_and_values(session: Session) -> None:
    report = load(session, csv_bytes(GOOD_ZH, header=ZH))
    assert report.added == 4
    assert_good_cases(session)


def test_gb18030_csv(session: Session) -> None:
    data = csv_bytes(GOOD_ZH, header=ZH, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert load(session, data).added == 4
    assert_good_cases(session)


def _as_cells(row: list[str]) -> list[Any]:
    """Date columns as real date cells; one as a datetime at midnight, as Excel stores it."""
    cells: list[Any] = list(row)
    for i in (6, 7, 8, 9):
        if cells[i]:
            cells[i] = date.fromisoformat(cells[i])
    if cells[7]:
        cells[7] = datetime.combine(cells[7], datetime.min.time())
    return cells


def test_xlsx_with_date_cells(session: Session) -> None:
    report = load(session, xlsx_bytes([_as_cells(r) for r in GOOD_ZH], header=ZH), "cases.xlsx")
    assert report.added == 4
    assert_good_cases(session)


def test_xlsx_with_text_dates_and_english_header(session: Session) -> None:
    assert load(session, xlsx_bytes(GOOD_EN), "cases.XLSX").added == 4
    assert_good_cases(session)


def test_dates_as_excel_writes_them_in_a_chinese_locale(session: Session) -> None:
    rows = [r.copy() for r in GOOD_ZH]
    rows[0][6], rows[0][7] = "2022/3/20", "2022年3月21日"
    assert load(session, csv_bytes(rows, header=ZH)).added == 4
    assert_good_cases(session)


def test_unknown_columns_are_reported_and_ignored(session: Session) -> None:
    data = csv_bytes([[*r, "x"] for r in GOOD_EN], header=[*EN, "备用"])
    report = load(session, data)
    assert report.ignored_columns == ["备用"]
    assert report.added == 4


def test_blank_lines_are_skipped(session: Session) -> None:
    data = csv_bytes([GOOD_EN[0], [""] * len(EN), GOOD_EN[2]])
    assert load(session, data).added == 2


def test_infector_in_a_later_row_of_the_same_file(session: Session) -> None:
    rows = [
        ["C-1", "周村区", "", "confirmed", "local", "", "", "2022-03-22", "", "", "C-2", ""],
        ["C-2", "周村区", "", "confirmed", "local", "", "", "2022-03-20", "", "", "", ""],
    ]
    assert load(session, csv_bytes(rows)).added == 2
    infector = service.get_case(session, case_no="C-1", scope=CITY).infector
    assert infector is not None
    assert infector.case_no == "C-2"


def test_infector_already_in_the_registry(session: Session) -> None:
    load(session, csv_bytes(GOOD_EN[:1]))
    row = ["C-9", "周村区", "", "confirmed", "local", "", "", "2022-03-22", "", "", "ZB-001", ""]
    assert load(session, csv_bytes([row])).added == 1
    infector = service.get_case(session, case_no="C-9", scope=CITY).infector
    assert infector is not None
    assert infector.case_no == "ZB-001"


# ---------------------------------------------------------------- idempotence and edits


def test_import_twice_changes_nothing(session: Session) -> None:
    data = csv_bytes(GOOD_EN)
    load(session, data)
    counts = service.counts_table(session)
    cases = {c.case_no: (service.snapshot(c), c.updated_at) for c in session.scalars(select(Case))}
    later = import_cases(
        session, data=data, filename="cases.csv", now=NOW + timedelta(hours=5), scope=CITY
    )
    assert (later.added, later.updated, later.unchanged, later.rejected) == (0, 0, 4, 0)
    assert service.counts_table(session) == counts
    again = {c.case_no: (service.snapshot(c), c.updated_at) for c in session.scalars(select(Case))}
    assert again == cases


def test_same_cases_in_the_other_language_are_unchanged(session: Session) -> None:
    load(session, csv_bytes(GOOD_EN))
    report = load(session, xlsx_bytes([_as_cells(r) for r in GOOD_ZH], header=ZH), "c.xlsx")
    assert (report.added, report.updated, report.unchanged) == (0, 0, 4)


def test_edit_file_updates_the_changed_case_and_its_counts(session: Session) -> None:
    load(session, csv_bytes(GOOD_EN))
    rows = [r.copy() for r in GOOD_EN]
    rows[0][1] = "淄川区"  # ZB-001 moves district
    report = load(session, csv_bytes(rows))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 3)
    case = service.get_case(session, case_no="ZB-001", scope=CITY)
    assert (case.district_code, case.unit_code) == ("370302", "370302")
    day = (date(2022, 3, 21), "3703")
    counts = service.counts_table(session)
    assert counts[(*day, "370302", "new:local:asymptomatic")] == 1
    assert (*day, "370306", "new:local:asymptomatic") not in counts
    assert counts[(*day, "3703-wch", "new:local:asymptomatic")] == 1


def test_edit_file_can_remove_a_conversion(session: Session) -> None:
    load(session, csv_bytes(GOOD_EN))
    rows = [r.copy() for r in GOOD_EN]
    rows[1][8] = ""
    report = load(session, csv_bytes(rows))
    assert report.updated == 1
    case = service.get_case(session, case_no="ZB-002", scope=CITY)
    assert (case.converted_on, case.classification) == (None, "asymptomatic")
    assert not any(m.startswith("converted") for *_, m in service.counts_table(session))


def test_edit_file_with_new_and_changed_rows(session: Session) -> None:
    load(session, csv_bytes(GOOD_EN[:2]))
    rows = [r.copy() for r in GOOD_EN]
    rows[1][11] = "已更正"
    report = load(session, csv_bytes(rows))
    assert (report.added, report.updated, report.unchanged) == (2, 1, 1)


# ---------------------------------------------------------------- bad files


def row(case_no: str = "B-1", **kw: str) -> list[str]:
    values = dict.fromkeys(EN, "")
    values.update(
        case_no=case_no,
        district="周村区",
        classification="asymptomatic",
        reported_on="2022-03-21",
    )
    values.update(kw)
    return [values[c] for c in EN]


@pytest.mark.parametrize(
    ("bad", "column", "reason"),
    [
        (row(district="火星区"), "district", "unknown district"),
        (row(street="不存在街道"), "street", "unknown street"),
        (row(reported_on="2022-13-01"), "reported_on", "not a date"),
        (row(reported_on="21.3.2022"), "reported_on", "not a date"),
        (row(sampled_on="2022-03-21x"), "sampled_on", "not a date"),
        (row(reported_on=""), "reported_on", "empty"),
        (row(classification=""), "classification", "empty"),
        (row(classification="疑似"), "classification", "is not one of"),
        (row(origin="火星"), "origin", "is not one of"),
        (row(found_via="网格排查"), "found_via", "is not one of"),
        (
            row(classification="confirmed", converted_on="2022-03-22"),
            "converted_on",
            "only an asymptomatic infection can be converted",
        ),
        (row(converted_on="2022-03-20"), "converted_on", "converted_on is before reported_on"),
        (row(sampled_on="2022-03-22"), "sampled_on", "sampled_on is after reported_on"),
        (row(discharged_on="2022-03-01"), "discharged_on", "before reported_on"),
        (row(infector_case_no="NOPE"), "infector_case_no", "unknown case 'NOPE'"),
        (row(infector_case_no="B-1"), "infector_case_no", "cannot infect itself"),
        (row(case_no="含 空格"), "case_no", "pattern"),
        (row(district="", street=""), "district", "district is required"),
    ],
)
def test_a_bad_row_is_reported_and_nothing_is_imported(
    session: Session, bad: list[str], column: str, reason: str
) -> None:
    data = csv_bytes([GOOD_EN[0], bad, GOOD_EN[2]])
    errors = rejected(session, data)
    assert [(e["row"], e["column"]) for e in errors] == [(3, column)]
    assert reason in errors[0]["reason"]
    assert_untouched(session)


def test_every_bad_row_is_reported_with_its_row_number(session: Session) -> None:
    data = csv_bytes(
        [
            GOOD_EN[0],  # row 2
            row("B-1", district="火星区"),  # row 3
            row("B-2", reported_on="2022-02-30"),  # row 4
            [""] * len(EN),  # row 5: blank, skipped but counted
            row("B-3", classification="confirmed", converted_on="2022-03-22"),  # row 6
            row("B-4", sampled_on="2022-03-25"),  # row 7
            row("ZB-001"),  # row 8: duplicate of row 2
            row("B-5", infector_case_no="B-404"),  # row 9
            row("B-6", infector_case_no="B-2"),  # row 10: infector is a bad row, not unknown
            GOOD_EN[2],  # row 11
        ]
    )
    errors = rejected(session, data)
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "district"),
        (4, "reported_on"),
        (6, "converted_on"),
        (7, "sampled_on"),
        (8, "case_no"),
        (9, "infector_case_no"),
    ]
    assert errors[4]["reason"] == "duplicate of row 2"
    assert errors[1]["value"] == "2022-02-30"
    assert_untouched(session)


def test_a_bad_row_leaves_earlier_cases_and_counts_as_they_were(session: Session) -> None:
    load(session, csv_bytes(GOOD_EN))
    counts = service.counts_table(session)
    rows = [r.copy() for r in GOOD_EN]
    rows[0][1] = "淄川区"  # a good edit ...
    rows.append(row("B-1", district="火星区"))  # ... in a file with a bad row
    errors = rejected(session, csv_bytes(rows))
    assert [(e["row"], e["column"]) for e in errors] == [(6, "district")]
    assert service.get_case(session, case_no="ZB-001", scope=CITY).district_code == "370306"
    assert case_count(session) == 4
    assert service.counts_table(session) == counts


@pytest.mark.parametrize("missing", ["reported_on", "classification", "case_no"])
def test_missing_required_column_is_row_1(session: Session, missing: str) -> None:
    index = EN.index(missing)
    header = [c for c in EN if c != missing]
    rows = [[v for i, v in enumerate(r) if i != index] for r in GOOD_EN]
    errors = rejected(session, csv_bytes(rows, header=header))
    assert [(e["row"], e["column"]) for e in errors] == [(1, missing)]
    assert "required column missing" in errors[0]["reason"]
    assert_untouched(session)


def test_column_twice_in_the_header(session: Session) -> None:
    errors = rejected(session, csv_bytes([[*GOOD_EN[0], "周村区"]], header=[*EN, "区县"]))
    assert [(e["row"], e["column"]) for e in errors] == [(1, "district")]


def test_empty_file(session: Session) -> None:
    errors = rejected(session, b"")
    assert [(e["row"], e["column"]) for e in errors] == [(1, None)]


def test_unsupported_file_type(session: Session) -> None:
    with pytest.raises(InvalidInput):
        load(session, b"%PDF", "cases.pdf")


def test_damaged_xlsx(session: Session) -> None:
    with pytest.raises(InvalidInput):
        load(session, b"not a zip", "cases.xlsx")


# ---------------------------------------------------------------- property


PLACES = [
    ("周村区", ""),
    ("周村区", "商家镇"),
    ("张店区", "傅家镇"),
    ("370321", ""),
    ("淄川区", ""),
]
TEXT = st.text(alphabet="张王李赵疫情复核abcXYZ019 ,\"'", max_size=12).map(str.strip)
DAY0 = date(2022, 3, 8)


@st.composite
def case_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 8))
    rows = []
    for i in range(n):
        classification = draw(st.sampled_from(["confirmed", "asymptomatic"]))
        reported = DAY0 + timedelta(days=draw(st.integers(0, 15)))
        district, street = draw(st.sampled_from(PLACES))
        converted = None
        if classification == "asymptomatic" and draw(st.booleans()):
            converted = reported + timedelta(days=draw(st.integers(0, 3)))
        rows.append(
            {
                "case_no": f"H-{i:02d}",
                "name": draw(TEXT) or None,
                "district": district,
                "street": street or None,
                "classification": classification,
                "origin": draw(st.sampled_from(list(Origin))),
                "found_via": draw(st.none() | st.sampled_from(list(FoundVia))),
                "sampled_on": draw(st.none() | st.just(reported - timedelta(days=1))),
                "reported_on": reported,
                "converted_on": converted,
                "discharged_on": draw(st.none() | st.just(reported + timedelta(days=10))),
                "infector_case_no": draw(
                    st.none() | st.sampled_from([f"H-{j:02d}" for j in range(n) if j != i] or [""])
                )
                or None,
                "notes": draw(TEXT) or None,
                "labels": draw(st.booleans()),  # Chinese labels instead of codes
            }
        )
    return rows


def _table(rows: list[dict[str, Any]], xlsx: bool) -> tuple[bytes, str]:
    header = [*EN, "name"]
    out = []
    for r in rows:
        origin, via = r["origin"], r["found_via"]
        if r["labels"]:
            origin = ORIGIN_LABELS[origin]
            via = FOUND_VIA_LABELS[via] if via else None
        values = {**r, "origin": origin, "found_via": via}
        cells = [values[c] for c in header]
        if xlsx:
            out.append(["" if v is None else v for v in cells])
        else:
            out.append(["" if v is None else str(v) for v in cells])
    if xlsx:
        return xlsx_bytes(out, header=header), "h.xlsx"
    return csv_bytes(out, header=header), "h.csv"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=case_rows(), xlsx=st.booleans())
def test_import_reads_back_as_given_and_reimport_is_unchanged(
    session: Session, rows: list[dict[str, Any]], xlsx: bool
) -> None:
    data, filename = _table(rows, xlsx)
    try:
        report = load(session, data, filename)
        assert (report.added, report.updated, report.unchanged) == (len(rows), 0, 0)
        for r in rows:
            got = service.to_read(
                session,
                service.get_case(session, case_no=r["case_no"], scope=CITY),
                POLICY,
                full=True,
            )
            expected_district = "370321" if r["district"] == "370321" else got.district_code
            assert got.district_name == r["district"] or got.district_code == expected_district
            assert (got.street_code is None) == (r["street"] is None)
            assert got.reported_classification == r["classification"]
            assert got.classification == ("confirmed" if r["converted_on"] else r["classification"])
            assert got.origin == r["origin"]
            assert got.found_via == r["found_via"]
            assert (got.sampled_on, got.reported_on) == (r["sampled_on"], r["reported_on"])
            assert (got.converted_on, got.discharged_on) == (r["converted_on"], r["discharged_on"])
            assert got.infector_case_no == r["infector_case_no"]
            assert (got.name, got.notes) == (r["name"], r["notes"])
        counts = service.counts_table(session)
        again = load(session, data, filename)
        assert (again.added, again.updated, again.unchanged) == (0, 0, len(rows))
        assert service.counts_table(session) == counts
    finally:
        session.rollback()
