"""Importing persons, venues and workplaces: validation, all or nothing, idempotence."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.errors import ImportRejected
from fangkong.people import service, venues, workplaces
from fangkong.people.identity import check_character
from fangkong.people.importer import import_people, import_venues, import_workplaces
from fangkong.people.models import (
    Building,
    Community,
    Compound,
    Household,
    Person,
    Venue,
    Workplace,
    WorkplaceUnit,
)

CITY = bind("city", "3703")  # city-wide: these tests see every record

NOW = datetime(2022, 3, 23, 4, 0, tzinfo=UTC)


def idn(region: str = "370306", born: str = "19850315", seq: str = "001") -> str:
    first = region + born + seq
    return first + check_character(first)


def csv_of(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


HEADER = [
    "person_id",
    "name",
    "id_number",
    "phone",
    "sex",
    "birth_year",
    "household_id",
    "district",
    "street",
    "community",
    "compound",
    "building",
    "room",
    "workplace_id",
    "workplace_unit",
]
HEADER_ZH = [
    "人员编号",
    "姓名",
    "身份证号",
    "手机号",
    "性别",
    "出生年份",
    "户编号",
    "区县",
    "街道",
    "社区",
    "小区",
    "楼栋",
    "房号",
    "单位编号",
    "部门",
]
ZHANG = idn()


def row(person_id: str, name: str, **values: Any) -> list[str]:
    """A row of a file with the full ``HEADER``; columns not given are empty."""
    cells = dict.fromkeys(HEADER, "") | {"person_id": person_id, "name": name}
    cells.update({k: str(v) for k, v in values.items()})
    return [cells[h] for h in HEADER]


HOME = {"community": "新建路社区", "compound": "丝绸苑", "building": "3号楼", "room": "301"}
GOOD = [
    row(
        "P001",
        "张三",
        id_number=ZHANG,
        phone="13853312345",
        sex="男",
        household_id="H001",
        district="周村区",
        street="丝绸路街道",
        workplace_id="W1",
        workplace_unit="生产一车间",
        **HOME,
    ),
    row(
        "P002",
        "李四",
        phone="13953398765",
        sex="F",
        birth_year=1990,
        household_id="H001",
        district="370306",
        street="370306001",
        **HOME,
    ),
    row("P003", "王五", district="张店区"),
]


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the registry tables, for comparing the store before and after."""
    session.expire_all()
    tables = (Person, Household, Community, Compound, Building, Workplace, WorkplaceUnit, Venue)
    return {
        t.__tablename__: [
            tuple(r) for r in session.execute(select(t.__table__).order_by(t.__table__.c.id))
        ]
        for t in tables
    }


def count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def workplace(session: Session) -> None:
    data = csv_of(
        [
            ["workplace_id", "name", "industry", "district", "units"],
            ["W1", "淄博某纺织有限公司", "制造业", "周村区", "办公室"],
        ]
    )
    import_workplaces(session, scope=CITY, data=data, filename="w.csv", now=NOW)


def rejected(session: Session, data: bytes, filename: str = "p.csv") -> list[tuple[Any, ...]]:
    with pytest.raises(ImportRejected) as info:
        import_people(session, scope=CITY, data=data, filename=filename, now=NOW)
    return [(e["row"], e["column"], e["reason"], e["value"]) for e in info.value.details["errors"]]


# ---------------------------------------------------------------- people


@pytest.mark.usefixtures("workplace")
def test_good_file_is_imported_and_read_back(session: Session) -> None:
    report = import_people(
        session, scope=CITY, data=csv_of([HEADER, *GOOD]), filename="p.csv", now=NOW
    )
    assert (report.added, report.updated, report.unchanged, report.rejected) == (3, 0, 0, 0)

    zhang = service.person_read(service.get_person(session, scope=CITY, person_no="P001"))
    assert (zhang.name, zhang.id_number, zhang.phone, zhang.sex) == (
        "张三",
        ZHANG,
        "13853312345",
        "M",
    )
    assert zhang.birth_year == 1985  # from the ID number
    assert (zhang.district_code, zhang.street_code) == ("370306", "370306001")
    assert (zhang.community, zhang.compound, zhang.building, zhang.room) == (
        "新建路社区",
        "丝绸苑",
        "3号楼",
        "301",
    )
    assert (zhang.workplace_no, zhang.workplace_unit) == ("W1", "生产一车间")
    assert zhang.created_at == NOW

    li = service.get_person(session, scope=CITY, person_no="P002")
    assert (li.sex, li.birth_year, li.id_number) == ("F", 1990, None)
    assert li.building_id == service.get_person(session, scope=CITY, person_no="P001").building_id
    _, members = service.get_household(session, scope=CITY, household_no="H001")
    assert [m.person_no for m in members] == ["P001", "P002"]

    wang = service.person_read(service.get_person(session, scope=CITY, person_no="P003"))
    assert (wang.district_name, wang.street_code, wang.community, wang.household_no) == (
        "张店区",
        None,
        None,
        None,
    )
    # one community, compound and building for both; units: 办公室 and the new 车间
    assert (count(session, Community), count(session, Compound), count(session, Building)) == (
        1,
        1,
        1,
    )
    assert count(session, WorkplaceUnit) == 2


@pytest.mark.usefixtures("workplace")
def test_chinese_headers_import_the_same(session: Session) -> None:
    import_people(
        session, scope=CITY, data=csv_of([HEADER_ZH, *GOOD]), filename="人员.csv", now=NOW
    )
    zh = snapshot(session)
    person = service.person_read(service.get_person(session, scope=CITY, person_no="P001"))
    assert (person.community, person.workplace_unit, person.birth_year) == (
        "新建路社区",
        "生产一车间",
        1985,
    )
    # the English file describes the same records: nothing changes
    report = import_people(
        session, scope=CITY, data=csv_of([HEADER, *GOOD]), filename="p.csv", now=NOW
    )
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    assert snapshot(session) == zh


def test_gb18030_csv_from_excel(session: Session) -> None:
    data = "人员编号,姓名,区县\nP9,赵六,桓台县\n".encode("gb18030")
    report = import_people(session, scope=CITY, data=data, filename="p.csv", now=NOW)
    assert report.added == 1
    assert service.get_person(session, scope=CITY, person_no="P9").name == "赵六"


@pytest.mark.usefixtures("workplace")
def test_xlsx(session: Session) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER_ZH)
    sheet.append(
        [
            *("P001", "张三", ZHANG, 13853312345, "男", None, "H001", "周村区", "丝绸路街道"),
            *("新建路社区", "丝绸苑", "3号楼", 301, "W1", "生产一车间"),
        ]
    )
    sheet.append(["P002", "李四", None, None, "女", 1990, "H001", "周村区", *[None] * 7])
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_people(
        session, scope=CITY, data=buffer.getvalue(), filename="people.xlsx", now=NOW
    )
    assert report.added == 2
    zhang = service.person_read(service.get_person(session, scope=CITY, person_no="P001"))
    assert (zhang.phone, zhang.room, zhang.birth_year) == ("13853312345", "301", 1985)
    li = service.get_person(session, scope=CITY, person_no="P002")
    assert (li.sex, li.birth_year) == ("F", 1990)


@pytest.mark.usefixtures("workplace")
def test_bad_rows_are_all_reported_and_nothing_is_written(session: Session) -> None:
    before = snapshot(session)
    bad_check = ZHANG[:17] + ("0" if ZHANG[17] != "0" else "1")
    other = ZHANG[:14] + "011" + check_character(ZHANG[:14] + "011")  # born 1985 too
    rows = [
        HEADER,
        GOOD[0],
        row("P010", "钱七", id_number=bad_check),
        row("P011", "孙八", phone="12345"),
        row("P012", "周九", id_number=other, birth_year=1990),
        row("P013", "吴十", district="火星区"),
        row("P001", "张三"),
        row("P014", "郑一", district="周村区", workplace_id="W404"),
        row("P015", ""),
        row("P016", "冯二", district="周村区", community="新建路社区"),
        row("P017", "陈三", sex="X"),
        row("P018", "褚四", birth_year=1850),
        row("P019", "卫五", workplace_unit="部门甲"),
        row("P020", "蒋六", id_number=ZHANG),
    ]
    errors = rejected(session, csv_of(rows))
    assert errors == [
        (
            3,
            "id_number",
            f"check digit is {bad_check[17]}, should be {ZHANG[17]} (GB 11643)",
            bad_check,
        ),
        (4, "phone", "not an 11-digit mainland mobile number", "12345"),
        (5, "birth_year", "birth_year 1990 disagrees with the ID number (1985)", "1990"),
        (6, "district", "unknown district '火星区'", "火星区"),
        (7, "person_id", "duplicate of row 2", "P001"),
        (8, "workplace_id", "no workplace 'W404' in the registry", "W404"),
        (9, "name", "Field required", None),
        (10, "street", "a community needs a street", None),
        (11, "sex", "Input should be 'M' or 'F'", "X"),
        (12, "birth_year", "Input should be greater than or equal to 1900", "1850"),
        (13, "workplace_id", "a workplace unit needs a workplace", None),
        (14, "id_number", "duplicate of row 2", ZHANG),
    ]
    assert snapshot(session) == before


@pytest.mark.usefixtures("workplace")
def test_one_bad_row_among_many_writes_nothing(session: Session) -> None:
    before = snapshot(session)
    rows: list[list[Any]] = [HEADER]
    for i in range(300):
        rows.append(
            row(
                f"P{i:03d}",
                "某人",
                id_number=idn(seq=f"{i:03d}"),
                household_id=f"H{i // 3}",
                district="周村区",
                street="丝绸路街道",
                community=f"社区{i % 4}",
                compound=f"小区{i % 7}",
                building=f"{i % 5}号楼",
                workplace_id="W1",
                workplace_unit=f"部门{i % 3}",
            )
        )
    # valid in itself; only resolving it fails, after earlier rows made their addresses
    rows.append(row("P999", "某人", household_id="H999", district="周村区", street="不存在街道"))
    errors = rejected(session, csv_of(rows))
    assert errors == [(302, "street", "unknown street '不存在街道'", "不存在街道")]
    assert snapshot(session) == before
    assert count(session, Person) == count(session, Household) == count(session, Community) == 0


def test_missing_required_column_and_empty_file(session: Session) -> None:
    errors = rejected(session, csv_of([["name", "phone"], ["张三", "13853312345"]]))
    assert errors == [
        (1, "person_id", "required column missing (header person_id or 人员编号)", None)
    ]
    assert rejected(session, b"") == [(1, None, "the file is empty: no header row", None)]


def test_unknown_workplace_is_a_row_error(session: Session) -> None:
    rows = [["person_id", "name", "workplace_id"], ["P1", "张三", "W1"]]
    assert rejected(session, csv_of(rows)) == [
        (2, "workplace_id", "no workplace 'W1' in the registry", "W1")
    ]
    # once the workplace is imported, the same file goes in
    import_workplaces(
        session,
        scope=CITY,
        data=csv_of(
            [["单位编号", "单位名称", "行业", "区县"], ["W1", "某公司", "能源供应", "淄川区"]]
        ),
        filename="w.csv",
        now=NOW,
    )
    assert (
        import_people(session, scope=CITY, data=csv_of(rows), filename="p.csv", now=NOW).added == 1
    )


def test_id_number_of_another_registered_person_is_rejected(session: Session) -> None:
    import_people(
        session,
        scope=CITY,
        data=csv_of([HEADER[:3], ["P1", "张三", ZHANG]]),
        filename="a.csv",
        now=NOW,
    )
    errors = rejected(session, csv_of([HEADER[:3], ["P2", "张三", ZHANG]]))
    assert errors == [(2, "id_number", "ID number already belongs to person P1", ZHANG)]


@pytest.mark.usefixtures("workplace")
def test_reimport_changes_nothing_and_an_edit_updates_one(session: Session) -> None:
    data = csv_of([HEADER, *GOOD])
    import_people(session, scope=CITY, data=data, filename="p.csv", now=NOW)
    first = snapshot(session)
    later = NOW + timedelta(days=1)
    report = import_people(session, scope=CITY, data=data, filename="p.csv", now=later)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    assert snapshot(session) == first

    edited = [list(r) for r in GOOD]
    edited[1][12] = "302"
    report = import_people(
        session, scope=CITY, data=csv_of([HEADER, *edited]), filename="p.csv", now=later
    )
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    li = service.get_person(session, scope=CITY, person_no="P002")
    assert (li.room, li.updated_at, li.created_at) == ("302", later, NOW)


@pytest.mark.usefixtures("workplace")
def test_columns_absent_from_the_file_are_kept(session: Session) -> None:
    import_people(session, scope=CITY, data=csv_of([HEADER, *GOOD]), filename="p.csv", now=NOW)
    phones = csv_of([["人员编号", "姓名", "手机号"], ["P001", "张三", "13800000001"]])
    report = import_people(session, scope=CITY, data=phones, filename="phones.csv", now=NOW)
    assert (report.updated, report.unchanged) == (1, 0)
    zhang = service.person_read(service.get_person(session, scope=CITY, person_no="P001"))
    assert (zhang.phone, zhang.community, zhang.workplace_no, zhang.id_number) == (
        "13800000001",
        "新建路社区",
        "W1",
        ZHANG,
    )
    # an address column present replaces the whole address
    moved = csv_of([["person_id", "name", "district"], ["P001", "张三", "淄川区"]])
    import_people(session, scope=CITY, data=moved, filename="moved.csv", now=NOW)
    zhang = service.person_read(service.get_person(session, scope=CITY, person_no="P001"))
    assert (zhang.district_name, zhang.street_code, zhang.community, zhang.room) == (
        "淄川区",
        None,
        None,
        None,
    )


# ---------------------------------------------------------------- venues

VENUE_HEADER = ["venue_code", "name", "category", "industry", "district", "street", "address"]
VENUES = [
    [*VENUE_HEADER, "capacity"],
    ["V1", "银座超市周村店", "超市", "批发零售", "周村区", "丝绸路街道", "正阳路100号", "300"],
    ["V2", "周村体育馆", "stadium", "sports_fitness", "370306", "", "", ""],
]


def test_venues_import_and_reimport(session: Session) -> None:
    report = import_venues(session, scope=CITY, data=csv_of(VENUES), filename="v.csv", now=NOW)
    assert report.added == 2
    v1 = venues.venue_read(venues.get_venue(session, scope=CITY, venue_code="V1"))
    assert (v1.category, v1.industry, v1.street_code, v1.capacity) == (
        "supermarket",
        "retail",
        "370306001",
        300,
    )
    assert venues.get_venue(session, scope=CITY, venue_code="V2").capacity is None
    before = snapshot(session)
    again = import_venues(session, scope=CITY, data=csv_of(VENUES), filename="v.csv", now=NOW)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot(session) == before


def test_venue_rows_with_errors(session: Session) -> None:
    rows = [
        ["场所码", "场所名称", "类别", "区县", "容量"],
        ["V1", "某超市", "超市", "周村区", "0"],
        ["V2", "某影院", "电影院", "周村区", ""],
        ["V3", "某馆", "gym", "", "abc"],
        ["V1", "重复", "gym", "周村区", ""],
    ]
    with pytest.raises(ImportRejected) as info:
        import_venues(session, scope=CITY, data=csv_of(rows), filename="v.csv", now=NOW)
    errors = [(e["row"], e["column"], e["reason"]) for e in info.value.details["errors"]]
    assert errors[0] == (2, "capacity", "Input should be greater than 0")
    assert errors[1][:2] == (3, "category")
    assert errors[1][2].startswith("unknown venue category '电影院'")
    assert errors[2:] == [
        (4, "capacity", "Input should be a valid integer, unable to parse string as an integer"),
        (4, "district", "Field required"),
    ]
    assert info.value.details["report"]["rejected"] == 3
    assert count(session, Venue) == 0


# ---------------------------------------------------------------- workplaces


def test_workplaces_with_units(session: Session) -> None:
    rows = [
        ["workplace_id", "name", "industry", "district", "street", "units"],
        [
            "W1",
            "某纺织公司",
            "manufacturing",
            "周村区",
            "",
            "生产一车间:workshop；办公室;质检:班组",
        ],
        ["W2", "某小学", "教育", "张店区", "车站街道", "一年级一班:classroom"],
    ]
    report = import_workplaces(session, scope=CITY, data=csv_of(rows), filename="w.csv", now=NOW)
    assert report.added == 2
    w1 = workplaces.workplace_reads(
        session, [workplaces.get_workplace(session, scope=CITY, workplace_no="W1")]
    )[0]
    assert [(u.name, u.kind) for u in w1.units] == [
        ("办公室", "department"),
        ("生产一车间", "workshop"),
        ("质检", "team"),
    ]
    before = snapshot(session)
    again = import_workplaces(session, scope=CITY, data=csv_of(rows), filename="w.csv", now=NOW)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot(session) == before

    rows[1][5] = "生产一车间:team"  # a kind given changes; units not listed stay
    again = import_workplaces(session, scope=CITY, data=csv_of(rows), filename="w.csv", now=NOW)
    assert (again.updated, again.unchanged) == (1, 1)
    w1 = workplaces.workplace_reads(
        session, [workplaces.get_workplace(session, scope=CITY, workplace_no="W1")]
    )[0]
    assert [(u.name, u.kind) for u in w1.units] == [
        ("办公室", "department"),
        ("生产一车间", "team"),
        ("质检", "team"),
    ]


def test_workplace_rows_with_errors(session: Session) -> None:
    rows = [
        ["单位编号", "单位名称", "行业", "区县", "部门"],
        ["W1", "某公司", "航天", "周村区", ""],
        ["W2", "某公司", "制造业", "周村区", "车间:factory"],
        ["W3", "某公司", "制造业", "周村区", "车间;车间"],
    ]
    with pytest.raises(ImportRejected) as info:
        import_workplaces(session, scope=CITY, data=csv_of(rows), filename="w.csv", now=NOW)
    errors = [
        (e["row"], e["column"], e["reason"].split(";")[0]) for e in info.value.details["errors"]
    ]
    assert errors == [
        (2, "industry", "unknown industry '航天'"),
        (3, "units", "unknown unit kind 'factory'"),
        (4, "units", "unit listed twice: 车间"),
    ]
    assert count(session, Workplace) == 0
