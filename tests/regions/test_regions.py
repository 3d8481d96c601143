"""The region registry: districts, streets, function zones, reporting units, boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from fangkong.errors import InvalidInput, NotFound
from fangkong.regions import service as regions

LINYI_COUNTIES = {
    "371302": "兰山区",
    "371311": "罗庄区",
    "371312": "河东区",
    "371321": "沂南县",
    "371322": "郯城县",
    "371323": "沂水县",
    "371324": "兰陵县",
    "371325": "费县",
    "371326": "平邑县",
    "371327": "莒南县",
    "371328": "蒙阴县",
    "371329": "临沭县",
}


@pytest.mark.parametrize("value", ["370306", "周村区", " 周村区 ", "370306000000", "370306103000"])
def test_resolve_district_by_code_name_or_long_code(value: str) -> None:
    district = regions.resolve_district(value)
    assert (district.code, district.name, district.city_code) == ("370306", "周村区", "3703")


@pytest.mark.parametrize("value", ["火星区", "3703", "999999", "", "周村"])
def test_unknown_district_is_invalid_input(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        regions.resolve_district(value)
    assert err.value.details == {"district": value}


def test_district_of_another_city_is_refused_when_a_city_is_given() -> None:
    assert regions.resolve_district("兰山区").city_code == "3713"
    with pytest.raises(InvalidInput):
        regions.resolve_district("兰山区", "3703")
    with pytest.raises(InvalidInput):
        regions.resolve_district("371302", "3703")


@pytest.mark.parametrize("value", ["370306103", "萌水镇", "370306103000"])
def test_resolve_street(value: str) -> None:
    street = regions.resolve_street(value, "370306")
    assert (street.code, street.name, street.district_code) == ("370306103", "萌水镇", "370306")


def test_street_must_belong_to_the_district() -> None:
    with pytest.raises(InvalidInput) as err:
        regions.resolve_street("萌水镇", "370303")
    assert err.value.details == {"street": "萌水镇"}
    with pytest.raises(InvalidInput):
        regions.resolve_street("370306103", "370303")


@pytest.mark.parametrize(
    ("street", "unit"),
    [
        ("370306103", "文昌湖区"),  # 萌水镇
        ("370306104", "文昌湖区"),  # 商家镇
        ("370306001", "周村区"),  # 丝绸路街道
        ("370306102", "周村区"),  # 王村镇
        (None, "周村区"),
    ],
)
def test_unit_for_zhoucun_streets(street: str | None, unit: str) -> None:
    assert regions.unit_for("370306", street).name == unit


def test_unit_for_zhangdian_streets_in_two_function_zones() -> None:
    assert regions.unit_for("370303", "370303008").name == "高新区"  # 四宝山街道
    assert regions.unit_for("370303", "370303105").name == "高新区"  # 中埠镇
    assert regions.unit_for("370303", "370303104").name == "淄博经开区"  # 傅家镇
    assert regions.unit_for("370303", "370303001").name == "张店区"  # 车站街道


def test_zibo_has_11_reporting_units_in_order() -> None:
    units = regions.units("3703")
    assert [u.name for u in units] == [
        "淄川区",
        "张店区",
        "博山区",
        "临淄区",
        "周村区",
        "桓台县",
        "高青县",
        "沂源县",
        "文昌湖区",
        "高新区",
        "淄博经开区",
    ]
    assert [u.kind for u in units] == ["district"] * 8 + ["function_zone"] * 3
    assert [u.order for u in units] == sorted(u.order for u in units)
    wch = units[8]
    assert (wch.code, wch.district_code, wch.streets) == (
        "3703-wch",
        "370306",
        ("370306103", "370306104"),
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("周村区", "370306"),
        ("370306", "370306"),
        ("文昌湖区", "3703-wch"),
        ("3703-wch", "3703-wch"),
        ("高新区", "3703-gxq"),
        ("淄博经开区", "3703-jkq"),
        ("370303000000", "370303"),
    ],
)
def test_resolve_unit(value: str, code: str) -> None:
    assert regions.resolve_unit(value).code == code
    assert regions.resolve_unit(value, "3703").code == code


def test_resolve_unknown_unit() -> None:
    with pytest.raises(InvalidInput):
        regions.resolve_unit("火星区")
    with pytest.raises(NotFound):
        regions.unit("nope")


@pytest.mark.parametrize("value", ["3703", "淄博市", "淄博"])
def test_city(value: str) -> None:
    assert regions.city(value).code == "3703"


def test_unknown_city_is_not_found() -> None:
    with pytest.raises(NotFound):
        regions.city("北京")


def test_districts_and_streets_are_sorted_by_code() -> None:
    codes = [d.code for d in regions.districts("3703")]
    assert codes == sorted(codes)
    assert len(codes) == 8
    streets = regions.streets("370306")
    assert [s.code for s in streets] == sorted(s.code for s in streets)
    assert {s.district_code for s in streets} == {"370306"}
    assert "萌水镇" in {s.name for s in streets}


def test_linyi_has_its_12_counties_in_the_geojson() -> None:
    data = regions.boundaries("3713")
    assert data["type"] == "FeatureCollection"
    found = {f["properties"]["adcode"]: f["properties"]["name"] for f in data["features"]}
    assert found == LINYI_COUNTIES
    for code, name in LINYI_COUNTIES.items():
        assert regions.resolve_district(code).name == name


def test_zibo_boundaries_cover_its_districts() -> None:
    data = regions.boundaries("3703")
    codes = {str(f["properties"]["adcode"]) for f in data["features"]}
    assert codes == {d.code for d in regions.districts("3703")}
    for feature in data["features"]:
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
        assert feature["geometry"]["coordinates"]


def test_no_boundaries_for_an_unknown_city() -> None:
    with pytest.raises(NotFound):
        regions.boundaries("1100")


def test_function_zone_street_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    units_file = tmp_path / "units.toml"
    units_file.write_text(
        '[[function_zone]]\ncode = "x"\nname = "X区"\ncity = "3703"\n'
        'host_district = "370306"\nstreets = ["370306999"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FANGKONG_REPORTING_UNITS", str(units_file))
    regions.registry.cache_clear()
    try:
        with pytest.raises(InvalidInput, match="370306999"):
            regions.registry()
    finally:
        monkeypatch.delenv("FANGKONG_REPORTING_UNITS")
        regions.registry.cache_clear()
    assert len(regions.units("3703")) == 11
