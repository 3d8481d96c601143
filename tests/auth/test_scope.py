"""The scope helper: the SQL a jurisdiction turns into and its Python twin agree, for every
way a record kind reaches an area (Hypothesis over the real 淄博 and 临沂 divisions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.engine import Engine

from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.auth.scope import Reach
from fangkong.regions import service as regions

ZIBO, LINYI = "3703", "3713"
META = MetaData()
RECORD = Table(
    "record",
    META,
    Column("id", Integer, primary_key=True),
    Column("city", String(4)),
    Column("district", String(6)),
    Column("street", String(9)),
    Column("community", Integer),
    Column("unit", String(32)),
    Column("person_community", Integer),  # where a case's person lives
)
C = RECORD.c

REACHES = {
    "person": Reach(
        district=C.district, street=C.street, community=C.community, placeless_in_city=True
    ),
    "venue": Reach(district=C.district, street=C.street),
    "case": Reach(
        district=C.district,
        street=C.street,
        unit=C.unit,
        city=C.city,
        community_via=lambda cid: C.person_community == cid,
    ),
    "district_only": Reach(district=C.district),
}


@pytest.fixture(scope="module")
def store() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    META.create_all(engine)
    yield engine
    engine.dispose()


def _districts() -> list[str]:
    return [d.code for city in (ZIBO, LINYI) for d in regions.districts(city)]


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    district = draw(st.one_of(st.none(), st.sampled_from(_districts()), st.just("999999")))
    known = district is not None and district in regions.registry().districts
    streets = [s.code for s in regions.streets(district)] if known and district else []
    street = draw(st.one_of(st.none(), st.sampled_from(streets))) if streets else None
    community = draw(st.one_of(st.none(), st.integers(1, 3)))
    return {
        "city": district[:4] if district else None,
        "district": district,
        "street": street if district else None,
        "community": community if street else None,
        "unit": regions.unit_for(district, street).code if known and district else None,
        "person_community": community,
    }


@st.composite
def scopes(draw: st.DrawFn) -> Jurisdiction:
    kind = draw(st.sampled_from(["city", "district", "unit", "street", "community", "other"]))
    if kind == "city":
        return bind("city", draw(st.sampled_from([ZIBO, LINYI])))
    if kind == "district":
        return bind("district", draw(st.sampled_from(_districts())))
    if kind == "unit":
        return bind("unit", draw(st.sampled_from([u.code for u in regions.units(ZIBO)])))
    district = draw(st.sampled_from(_districts()))
    street = draw(st.sampled_from([s.code for s in regions.streets(district)]))
    if kind == "street":
        return bind("street", street)
    if kind == "community":
        return bind("community", str(draw(st.integers(1, 3))), community_street=street)
    return bind(draw(st.sampled_from(["site", "lab", "venue"])), "X1")


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(records(), min_size=1, max_size=12), scope=scopes())
def test_sql_and_python_twin_agree(
    store: Engine, rows: list[dict[str, object]], scope: Jurisdiction
) -> None:
    with store.begin() as conn:
        conn.execute(RECORD.delete())
        conn.execute(insert(RECORD), [{"id": i, **r} for i, r in enumerate(rows)])
        for name, reach in REACHES.items():
            in_sql = set(conn.scalars(select(C.id).where(reach.condition(scope))))
            in_python = {
                i
                for i, r in enumerate(rows)
                if reach.covers(
                    scope,
                    district_code=r["district"],  # type: ignore[arg-type]
                    street_code=r["street"],  # type: ignore[arg-type]
                    community_id=(r["person_community"] if reach.community_via else r["community"]),  # type: ignore[arg-type]
                    unit_code=r["unit"],  # type: ignore[arg-type]
                )
            }
            assert in_sql == in_python, (name, scope.kind, scope.code)


def test_a_district_sees_its_function_zones_a_unit_does_not() -> None:
    mengshui = "370306103"  # 萌水镇, reported under 文昌湖区
    person = REACHES["person"]
    assert person.covers(bind("district", "370306"), district_code="370306", street_code=mengshui)
    assert not person.covers(bind("unit", "370306"), district_code="370306", street_code=mengshui)
    assert person.covers(bind("unit", "3703-wch"), district_code="370306", street_code=mengshui)


def test_placeless_records_belong_to_the_whole_city_only_where_the_kind_says() -> None:
    city = bind("city", ZIBO)
    assert REACHES["person"].covers(city, district_code=None)
    assert not REACHES["venue"].covers(city, district_code=None)
    assert not REACHES["person"].covers(bind("district", "370306"), district_code=None)


def test_a_community_worker_sees_venues_of_the_street() -> None:
    worker = bind("community", "7", community_street="370306001")
    venue = REACHES["venue"]
    assert venue.covers(worker, district_code="370306", street_code="370306001")
    assert not venue.covers(worker, district_code="370306", street_code="370306002")
    assert not REACHES["district_only"].covers(worker, district_code="370306")


def test_sites_labs_and_venues_reach_no_area() -> None:
    for kind in ("site", "lab", "venue"):
        for reach in REACHES.values():
            assert not reach.covers(bind(kind, "X1"), district_code="370306")
