"""Jurisdictions: which places a binding covers (pure, no database)."""

from __future__ import annotations

import pytest

from fangkong.auth.jurisdiction import bind, unit_streets
from fangkong.errors import InvalidInput
from fangkong.regions import service as regions

ZHOUCUN = "370306"
MENGSHUI = "370306103"  # 萌水镇: reported under 文昌湖区
SILK_ROAD = "370306001"  # 丝绸路街道: 周村区 proper


def test_city_covers_its_districts_only() -> None:
    j = bind("city", "淄博市")
    assert j.covers(city_code="3703", district_code="370303")
    assert not j.covers(city_code="3713", district_code="371302")


def test_district_covers_its_function_zone_streets() -> None:
    j = bind("district", "周村区")
    assert j.district_code == ZHOUCUN
    assert j.covers(city_code="3703", district_code=ZHOUCUN, street_code=MENGSHUI)
    assert not j.covers(city_code="3703", district_code="370303")


def test_unit_of_a_district_leaves_out_its_function_zone() -> None:
    j = bind("unit", "周村区")
    assert j.covers(city_code="3703", district_code=ZHOUCUN, street_code=SILK_ROAD)
    assert not j.covers(city_code="3703", district_code=ZHOUCUN, street_code=MENGSHUI)
    assert MENGSHUI not in (j.street_codes or ())


def test_function_zone_unit() -> None:
    j = bind("unit", "文昌湖区")
    assert j.covers(city_code="3703", district_code=ZHOUCUN, street_code=MENGSHUI)
    assert j.covers(city_code="3703", district_code=ZHOUCUN, unit_code="3703-wch")
    assert not j.covers(city_code="3703", district_code=ZHOUCUN, street_code=SILK_ROAD)
    assert unit_streets(regions.unit("3703-wch")) == frozenset({MENGSHUI, "370306104"})


def test_street_and_community() -> None:
    street = bind("street", "丝绸路街道")
    assert street.covers(city_code="3703", district_code=ZHOUCUN, street_code=SILK_ROAD)
    assert not street.covers(city_code="3703", district_code=ZHOUCUN, street_code=MENGSHUI)
    community = bind("community", "7", community_street=SILK_ROAD)
    assert community.covers(
        city_code="3703", district_code=ZHOUCUN, street_code=SILK_ROAD, community_id=7
    )
    assert not community.covers(
        city_code="3703", district_code=ZHOUCUN, street_code=SILK_ROAD, community_id=8
    )


def test_site_lab_and_venue_cover_no_area() -> None:
    for kind in ("site", "lab", "venue"):
        j = bind(kind, "X1")
        assert not j.is_area
        assert not j.covers(city_code="3703", district_code=ZHOUCUN)


def test_unknown_kind_and_missing_street() -> None:
    with pytest.raises(InvalidInput):
        bind("planet", "earth")
    with pytest.raises(InvalidInput):
        bind("community", "7")
