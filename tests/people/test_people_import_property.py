"""Property: any file of valid rows imports, reads back as written, and re-imports as
unchanged (CSV or .xlsx, English or Chinese headers)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.people import service
from fangkong.people.identity import check_character
from fangkong.people.importer import PEOPLE_COLUMNS, import_people, import_workplaces
from fangkong.regions import service as regions

CITY = bind("city", "3703")  # city-wide: these tests see every record

NOW = datetime(2022, 3, 23, 4, 0, tzinfo=UTC)
DISTRICTS = [d.code for d in regions.districts("3703")]
NAMES = st.text(alphabet="张王李赵刘陈杨黄周吴三四五六明华丽军芳", min_size=1, max_size=5)
UNITS = {"W1": ["车间一", "车间二"], "W2": ["办公室"]}


@st.composite
def person_rows(draw: st.DrawFn, number: int) -> dict[str, str]:
    row = dict.fromkeys((c.name for c in PEOPLE_COLUMNS), "")
    row["person_id"] = f"P{number:04d}"
    row["name"] = draw(NAMES)
    district = draw(st.sampled_from(DISTRICTS))
    if draw(st.booleans()):
        born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2022, 3, 1)))
        first = f"{district}{born:%Y%m%d}{number % 1000:03d}"
        row["id_number"] = first + check_character(first)
        if draw(st.booleans()):
            row["birth_year"] = str(born.year)
    elif draw(st.booleans()):
        row["birth_year"] = str(draw(st.integers(1900, 2030)))
    if draw(st.booleans()):
        row["phone"] = (
            "1" + draw(st.sampled_from("3456789")) + f"{draw(st.integers(0, 10**9 - 1)):09d}"
        )
    row["sex"] = draw(st.sampled_from(["", "M", "F", "男", "女"]))
    row["household_id"] = draw(st.sampled_from(["", "H1", "H2", "H3"]))
    if draw(st.booleans()):
        row["district"] = draw(
            st.sampled_from([district, regions.registry().districts[district].name])
        )
        street = draw(st.none() | st.sampled_from(regions.streets(district)))
        if street is not None:
            row["street"] = draw(st.sampled_from([street.code, street.name]))
            levels = draw(st.integers(0, 3))
            for level, pool in zip(
                ("community", "compound", "building")[:levels],
                (["和平社区", "幸福社区"], ["丝绸苑", "银座花园"], ["1号楼", "2号楼"]),
                strict=False,
            ):
                row[level] = draw(st.sampled_from(pool))
        row["room"] = draw(st.sampled_from(["", "101", "2单元302"]))
    workplace = draw(st.sampled_from(["", "W1", "W2"]))
    if workplace:
        row["workplace_id"] = workplace
        row["workplace_unit"] = draw(st.sampled_from(["", *UNITS[workplace], "新部门"]))
    return row


@st.composite
def files(draw: st.DrawFn) -> list[dict[str, str]]:
    count = draw(st.integers(1, 12))
    return [draw(person_rows(i)) for i in range(count)]


def encode(rows: list[dict[str, str]], chinese: bool, xlsx: bool) -> tuple[bytes, str]:
    header = [c.label if chinese else c.name for c in PEOPLE_COLUMNS]
    body = [[r[c.name] for c in PEOPLE_COLUMNS] for r in rows]
    if xlsx:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for line in [header, *body]:
            sheet.append(line)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue(), "people.xlsx"
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    return out.getvalue().encode(), "people.csv"


def expected(row: dict[str, str]) -> dict[str, Any]:
    district = regions.resolve_district(row["district"]).code if row["district"] else None
    street = regions.resolve_street(row["street"], district).code if row["street"] else None
    year = row["birth_year"] or (row["id_number"][6:10] if row["id_number"] else "")
    return {
        "name": row["name"],
        "id_number": row["id_number"] or None,
        "phone": row["phone"] or None,
        "sex": {"男": "M", "女": "F"}.get(row["sex"], row["sex"]) or None,
        "birth_year": int(year) if year else None,
        "household_no": row["household_id"] or None,
        "district_code": district,
        "street_code": street,
        "community": row["community"] or None,
        "compound": row["compound"] or None,
        "building": row["building"] or None,
        "room": row["room"] or None,
        "workplace_no": row["workplace_id"] or None,
        "workplace_unit": row["workplace_unit"] or None,
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=files(), chinese=st.booleans(), xlsx=st.booleans())
def test_valid_rows_round_trip(
    session: Session, rows: list[dict[str, str]], chinese: bool, xlsx: bool
) -> None:
    example = session.begin_nested()  # each example starts from the empty store
    try:
        units = "\n".join(f"{no},单位{no},other,周村区,{';'.join(u)}" for no, u in UNITS.items())
        import_workplaces(
            session,
            scope=CITY,
            data=f"workplace_id,name,industry,district,units\n{units}\n".encode(),
            filename="w.csv",
            now=NOW,
        )
        data, filename = encode(rows, chinese, xlsx)
        report = import_people(session, scope=CITY, data=data, filename=filename, now=NOW)
        assert (report.added, report.updated, report.unchanged) == (len(rows), 0, 0)
        for row in rows:
            read = service.person_read(
                service.get_person(session, scope=CITY, person_no=row["person_id"])
            )
            assert {k: getattr(read, k) for k in expected(row)} == expected(row)

        again = import_people(session, scope=CITY, data=data, filename=filename, now=NOW)
        assert (again.added, again.updated, again.unchanged) == (0, 0, len(rows))
    finally:
        example.rollback()
