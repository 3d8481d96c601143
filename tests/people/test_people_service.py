"""The registry service: persons, households, addresses, venues, workplaces, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.people import lookups, service, venues, workplaces
from fangkong.people.identity import check_character
from fangkong.people.models import Community, Household
from fangkong.people.schemas import (
    PersonCreate,
    PersonUpdate,
    VenueCreate,
    VenueUpdate,
    WorkplaceCreate,
)

CITY = bind("city", "3703")  # city-wide: these tests see every record

NOW = datetime(2022, 3, 23, 4, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=5)


def idn(born: str = "19850315", seq: str = "001") -> str:
    first = "370306" + born + seq
    return first + check_character(first)


def person(no: str, **fields: object) -> PersonCreate:
    return PersonCreate.model_validate({"person_no": no, "name": "张三", **fields})


ADDRESS = {
    "district": "周村区",
    "street": "丝绸路街道",
    "community": "新建路社区",
    "compound": "丝绸苑",
    "building": "3号楼",
    "room": "301",
}


def test_create_read_and_conflicts(session: Session) -> None:
    created = service.create_person(
        session,
        scope=CITY,
        data=person("P1", id_number=idn(), phone="13853312345", sex="女", **ADDRESS),
        now=NOW,
    )
    read = service.person_read(created)
    assert (read.birth_year, read.sex, read.sex_label) == (1985, "F", "女")
    assert (read.unit_code, read.street_name, read.building) == ("370306", "丝绸路街道", "3号楼")
    with pytest.raises(Conflict, match="already exists"):
        service.create_person(session, scope=CITY, data=person("P1"), now=NOW)
    with pytest.raises(Conflict, match="already belongs to person 'P1'"):
        service.create_person(session, scope=CITY, data=person("P2", id_number=idn()), now=NOW)


def test_function_zone_of_the_address(session: Session) -> None:
    p = service.create_person(
        session, scope=CITY, data=person("P1", district="周村区", street="萌水镇"), now=NOW
    )
    assert service.person_read(p).unit_name == "文昌湖区"


def test_address_levels_need_their_parent(session: Session) -> None:
    with pytest.raises(InvalidInput, match="a community needs a street"):
        service.create_person(session, scope=CITY, data=person("P1", community="某社区"), now=NOW)
    with pytest.raises(InvalidInput, match="a building needs a compound"):
        lookups.ensure_address(
            session, district="周村区", street="丝绸路街道", community="甲", building="1号楼"
        )
    with pytest.raises(InvalidInput, match="unknown street"):
        lookups.ensure_address(session, district="周村区", street="车站街道")  # 张店区's


def test_ensure_address_is_get_or_create(session: Session) -> None:
    first = lookups.ensure_address(session, **{k: v for k, v in ADDRESS.items() if k != "room"})
    again = lookups.ensure_address(session, **{k: v for k, v in ADDRESS.items() if k != "room"})
    assert first.building is not None
    assert again.building is not None
    assert first.building.id == again.building.id
    assert (first.district_code, first.street_code) == ("370306", "370306001")
    # a street alone names its district
    street_only = lookups.ensure_address(session, district=None, street="370306001")
    assert street_only.district_code == "370306"
    assert session.scalar(select(func.count()).select_from(Community)) == 1
    assert first.community is not None
    assert lookups.community_street(session, community_id=first.community.id) == "370306001"
    with pytest.raises(NotFound):
        lookups.community_street(session, community_id=first.community.id + 1)


def test_update_person_merges_the_address(session: Session) -> None:
    service.create_person(session, scope=CITY, data=person("P1", **ADDRESS), now=NOW)
    p = service.update_person(
        session, scope=CITY, person_no="P1", data=PersonUpdate(room="502"), now=LATER
    )
    assert (p.room, p.building.name if p.building else None, p.updated_at) == (
        "502",
        "3号楼",
        LATER,
    )
    # a new community clears compound, building and room not given
    p = service.update_person(
        session, scope=CITY, person_no="P1", data=PersonUpdate(community="青年路社区"), now=LATER
    )
    read = service.person_read(p)
    assert (read.street_code, read.community, read.compound, read.room) == (
        "370306001",
        "青年路社区",
        None,
        None,
    )
    # the same district by name changes nothing below it
    p = service.update_person(
        session, scope=CITY, person_no="P1", data=PersonUpdate(district="370306"), now=LATER
    )
    assert service.person_read(p).community == "青年路社区"


def test_update_unchanged_keeps_updated_at(session: Session) -> None:
    service.create_person(session, scope=CITY, data=person("P1", phone="13853312345"), now=NOW)
    p = service.update_person(
        session, scope=CITY, person_no="P1", data=PersonUpdate(phone="138-5331-2345"), now=LATER
    )
    assert p.updated_at == NOW


def test_update_id_number_and_birth_year(session: Session) -> None:
    service.create_person(session, scope=CITY, data=person("P1", birth_year=1970), now=NOW)
    p = service.update_person(
        session, scope=CITY, person_no="P1", data=PersonUpdate(id_number=idn("19910101")), now=LATER
    )
    assert p.birth_year == 1991  # the new ID number brings its year
    with pytest.raises(InvalidInput, match="disagrees"):
        service.update_person(
            session, scope=CITY, person_no="P1", data=PersonUpdate(birth_year=1990), now=LATER
        )
    with pytest.raises(InvalidInput, match="name cannot be empty"):
        service.update_person(
            session, scope=CITY, person_no="P1", data=PersonUpdate(name=None), now=LATER
        )


def test_workplace_and_units(session: Session) -> None:
    workplaces.create_workplace(
        session,
        scope=CITY,
        data=WorkplaceCreate.model_validate(
            {
                "workplace_no": "W1",
                "name": "某纺织公司",
                "industry": "制造业",
                "district": "周村区",
                "units": [{"name": "生产一车间", "kind": "车间"}],
            }
        ),
    )
    p = service.create_person(
        session,
        scope=CITY,
        data=person("P1", workplace_no="W1", workplace_unit="生产一车间"),
        now=NOW,
    )
    assert p.workplace_unit is not None
    assert p.workplace_unit.kind == "workshop"
    unit = workplaces.ensure_unit(session, scope=CITY, workplace_no="W1", name="办公室")
    assert unit.kind == "department"
    p = service.update_person(
        session, scope=CITY, person_no="P1", data=PersonUpdate(workplace_unit="办公室"), now=LATER
    )
    assert service.person_read(p).workplace_unit == "办公室"
    with pytest.raises(InvalidInput, match="no workplace 'W9'"):
        service.update_person(
            session, scope=CITY, person_no="P1", data=PersonUpdate(workplace_no="W9"), now=LATER
        )
    with pytest.raises(Conflict):
        workplaces.create_workplace(
            session,
            scope=CITY,
            data=WorkplaceCreate(workplace_no="W1", name="x", industry="other", district="周村区"),
        )


def test_search_persons(session: Session) -> None:
    service.create_person(
        session,
        scope=CITY,
        data=person("P1", phone="13853312345", household_no="H1", **ADDRESS),
        now=NOW,
    )
    service.create_person(
        session,
        scope=CITY,
        data=PersonCreate(person_no="P2", name="李四", id_number=idn(seq="002"), district="张店区"),
        now=NOW,
    )
    service.create_person(
        session,
        scope=CITY,
        data=PersonCreate(person_no="P3", name="张小明", household_no="H1", **ADDRESS),
        now=NOW,
    )

    def nos(**kw: object) -> list[str]:
        items, total = service.list_persons(session, scope=CITY, flt=service.PersonFilter(**kw))  # type: ignore[arg-type]
        assert total == len(items)
        return [p.person_no for p in items]

    assert nos() == ["P1", "P2", "P3"]
    assert nos(name="张") == ["P1", "P3"]
    assert nos(text="5331") == ["P1"]
    assert nos(id_number=idn(seq="002")) == ["P2"]
    assert nos(district_code="370303") == ["P2"]
    assert nos(street_code="370306001") == ["P1", "P3"]
    assert nos(community="新建路") == ["P1", "P3"]
    assert nos(compound="丝绸苑", building="3号楼") == ["P1", "P3"]
    assert nos(household_no="H1") == ["P1", "P3"]
    assert nos(text="%") == []  # wildcards are literal
    items, total = service.list_persons(
        session, scope=CITY, flt=service.PersonFilter(), limit=1, offset=1
    )
    assert ([p.person_no for p in items], total) == (["P2"], 3)
    household, members = service.get_household(session, scope=CITY, household_no="H1")
    assert household.household_no == "H1"
    assert [m.person_no for m in members] == ["P1", "P3"]
    assert session.scalar(select(func.count()).select_from(Household)) == 1
    with pytest.raises(NotFound):
        service.get_household(session, scope=CITY, household_no="H9")


def test_population_by_unit(session: Session) -> None:
    for i, (district, street) in enumerate(
        [("周村区", "丝绸路街道"), ("周村区", "萌水镇"), ("周村区", None), ("张店区", "四宝山街道")]
    ):
        service.create_person(
            session, scope=CITY, data=person(f"P{i}", district=district, street=street), now=NOW
        )
    linyi = bind("city", "3713")
    service.create_person(session, scope=linyi, data=person("P9", district="兰山区"), now=NOW)
    service.create_person(session, scope=CITY, data=person("P10"), now=NOW)  # no address
    counts = service.population_by_unit(session, city_code="3703")
    assert counts["370306"] == 2
    assert counts["3703-wch"] == 1
    assert counts["3703-gxq"] == 1
    assert counts["370303"] == 0
    assert sum(counts.values()) == 4
    assert service.population_by_unit(session, city_code="3713") == {
        **dict.fromkeys(counts_for_city("3713"), 0),
        "371302": 1,
    }


def counts_for_city(city: str) -> list[str]:
    from fangkong.regions import service as regions

    return [u.code for u in regions.units(city)]


def test_venues(session: Session) -> None:
    data = VenueCreate.model_validate(
        {
            "venue_code": "V1",
            "name": "银座超市",
            "category": "超市",
            "district": "周村区",
            "street": "丝绸路街道",
            "capacity": 300,
        }
    )
    venues.create_venue(session, scope=CITY, data=data)
    with pytest.raises(Conflict):
        venues.create_venue(session, scope=CITY, data=data)
    v = venues.update_venue(session, scope=CITY, venue_code="V1", data=VenueUpdate(capacity=150))
    assert (v.capacity, v.street_code) == (150, "370306001")
    v = venues.update_venue(
        session, scope=CITY, venue_code="V1", data=VenueUpdate(district="张店区")
    )
    assert (v.district_code, v.street_code) == ("370303", None)
    venues.create_venue(
        session,
        scope=CITY,
        data=VenueCreate(venue_code="V2", name="体育馆", category="stadium", district="周村区"),
    )
    items, total = venues.list_venues(
        session, scope=CITY, flt=venues.VenueFilter(category="stadium")
    )
    assert ([v.venue_code for v in items], total) == (["V2"], 1)
    items, _ = venues.list_venues(session, scope=CITY, flt=venues.VenueFilter(text="银座"))
    assert [v.venue_code for v in items] == ["V1"]
    items, _ = venues.list_venues(
        session, scope=CITY, flt=venues.VenueFilter(district_code="370306")
    )
    assert [v.venue_code for v in items] == ["V2"]
    read = venues.venue_read(venues.get_venue(session, scope=CITY, venue_code="V1"))
    assert (read.category_label, read.district_name) == ("超市", "张店区")
    with pytest.raises(NotFound):
        venues.get_venue(session, scope=CITY, venue_code="V9")
