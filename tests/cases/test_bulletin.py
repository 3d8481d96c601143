"""The bulletin grammar (RULES §8): each clause, each combination, the seed days exactly."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.cases.bulletin import (
    BulletinFacts,
    ImportedFigures,
    UnitFigure,
    compose,
    conversions_sentence,
    new_cases_sentence,
)
from fangkong.cases.vocab import FoundVia, Origin

ZC = UnitFigure("周村区", 4, 0)
ZCH = UnitFigure("淄川区", 0, 0)
HT = UnitFigure("桓台县", 5, 0)
ZD = UnitFigure("张店区", 1, 0)


def n(unit: UnitFigure, count: int) -> UnitFigure:
    return UnitFigure(unit.name, unit.order, count)


def facts(**kw: object) -> BulletinFacts:
    base: dict[str, object] = {
        "city_name": "淄博市",
        "day": date(2022, 3, 21),
        "new_confirmed": 0,
        "new_asymptomatic": 0,
        "new_units": (),
        "total_confirmed": 45,
        "total_asymptomatic": 148,
    }
    base.update(kw)
    return BulletinFacts(**base)  # type: ignore[arg-type]


FULL_WIDTH = str.maketrans({",": "，", ";": "；", ":": "：", "(": "（", ")": "）"})


def seed(text: str) -> str:
    """A seed sentence with its punctuation made full-width, line breaks of the scan removed."""
    return text.replace("\n", "").translate(FULL_WIDTH)


def test_seed_000_march_21() -> None:
    expected = seed(
        "3月21日0时至24时，淄博市报告新增本土无症状感染者7例，其中周村区5例、淄川区2例。"
        "截至3月21日24时，淄博市本土确诊病例45例、本土无症状感染者148例。"
    )
    got = compose(facts(new_asymptomatic=7, new_units=(n(ZC, 5), n(ZCH, 2))))
    assert got == expected


def test_seed_004_march_22() -> None:
    # Seed 004 prints the two districts as "周村区2例,桓台县1例" (a comma where the official
    # form, RULES §8 and seed 000 of the day before, enumerate with 、); the rest of the
    # sentence is the seed's, character for character.
    expected = seed(
        "3月22日0时至24时,淄博市报告新增本土无症状感染者3例,其中周村区2例、桓台县1例。"
        "淄博市报告本土无症状感染者转为确诊病例1例,在周村区。"
        "自3月8日至3月22日24时,淄博市累计报告本土确诊病例46例、\n本土无症状感染者150例。"
    )
    got = compose(
        facts(
            day=date(2022, 3, 22),
            new_asymptomatic=3,
            new_units=(n(ZC, 2), n(HT, 1)),
            conversions=(n(ZC, 1),),
            total_confirmed=46,
            total_asymptomatic=150,
            since=date(2022, 3, 8),
        )
    )
    assert got == expected


def test_seed_001_march_23() -> None:
    expected = seed(
        "3月23日0时至24时，淄博市报告新增本土无症状感染者1例，在桓台县，为集中隔离点的隔离人员。"
        "\n\n自3月8日至3月23日24时，淄博市累计报告本土确诊病例\n\n46例、本土无症状感染者151例。"
    ).replace("\n", "")
    got = compose(
        facts(
            day=date(2022, 3, 23),
            new_asymptomatic=1,
            new_units=(n(HT, 1),),
            single_found_via=FoundVia.quarantine_site,
            total_confirmed=46,
            total_asymptomatic=151,
            since=date(2022, 3, 8),
        )
    )
    assert got == expected


def test_no_new_cases() -> None:
    assert (
        new_cases_sentence(facts()) == "3月21日0时至24时，淄博市无新增本土确诊病例和无症状感染者。"
    )


def test_confirmed_and_asymptomatic_together_one_district() -> None:
    got = new_cases_sentence(facts(new_confirmed=2, new_asymptomatic=3, new_units=(n(ZD, 5),)))
    assert (
        got == "3月21日0时至24时，淄博市报告新增本土确诊病例2例、本土无症状感染者3例，均在张店区。"
    )


def test_only_confirmed_leaves_out_asymptomatic_part() -> None:
    got = new_cases_sentence(facts(new_confirmed=2, new_units=(n(ZD, 1), n(ZC, 1))))
    assert got == "3月21日0时至24时，淄博市报告新增本土确诊病例2例，其中张店区1例、周村区1例。"


def test_ties_in_division_code_order_largest_first() -> None:
    got = new_cases_sentence(facts(new_asymptomatic=5, new_units=(n(HT, 1), n(ZC, 1), n(ZD, 3))))
    assert got.endswith("其中张店区3例、周村区1例、桓台县1例。")


def test_single_case_without_channel() -> None:
    got = new_cases_sentence(facts(new_confirmed=1, new_units=(n(ZD, 1),)))
    assert got == "3月21日0时至24时，淄博市报告新增本土确诊病例1例，在张店区。"


@pytest.mark.parametrize(
    ("channel", "phrase"),
    [
        (FoundVia.home_isolation, "为居家隔离人员"),
        (FoundVia.home_monitoring, "为居家健康监测人员"),
        (FoundVia.sealed_zone_screening, "为封控区筛查发现"),
        (FoundVia.controlled_zone_screening, "为管控区筛查发现"),
        (FoundVia.community_screening, "为社会面筛查发现"),
        (FoundVia.fever_clinic, "为发热门诊检出"),
        (FoundVia.walk_in, "为主动就诊检出"),
        (FoundVia.arrival_test, "为落地检发现"),
    ],
)
def test_single_case_phrases(channel: FoundVia, phrase: str) -> None:
    got = new_cases_sentence(
        facts(new_confirmed=1, new_units=(n(ZD, 1),), single_found_via=channel)
    )
    assert got.endswith(f"，在张店区，{phrase}。")


def test_conversions_several_units() -> None:
    got = conversions_sentence(facts(conversions=(n(ZC, 1), n(ZD, 2))))
    assert got == "淄博市报告本土无症状感染者转为确诊病例3例，其中张店区2例、周村区1例。"


def test_conversions_several_in_one_unit() -> None:
    got = conversions_sentence(facts(conversions=(n(ZC, 2),)))
    assert got == "淄博市报告本土无症状感染者转为确诊病例2例，在周村区。"


def test_imported_cases_have_their_own_sentence_and_stay_out_of_local() -> None:
    got = compose(
        facts(
            city_name="临沂市",
            day=date(2022, 3, 27),
            imported=(
                ImportedFigures(Origin.abroad, 0, 1, (UnitFigure("费县", 7, 1),)),
                ImportedFigures(
                    Origin.other_province,
                    0,
                    2,
                    (UnitFigure("兰山区", 0, 1), UnitFigure("兰陵县", 6, 1)),
                ),
            ),
            total_confirmed=0,
            total_asymptomatic=0,
        )
    )
    assert got == (
        "3月27日0时至24时，临沂市无新增本土确诊病例和无症状感染者。"
        "临沂市另报告新增境外输入无症状感染者1例，在费县；"
        "外省市输入无症状感染者2例，其中兰山区1例、兰陵县1例。"
        "截至3月27日24时，临沂市本土确诊病例0例、本土无症状感染者0例。"
    )


def test_since_in_another_year_names_the_years() -> None:
    got = compose(facts(day=date(2022, 1, 3), since=date(2021, 12, 20)))
    assert got.endswith(
        "自2021年12月20日至2022年1月3日24时，淄博市累计报告本土确诊病例45例、本土无症状感染者148例。"
    )


ASCII_PUNCT = set(",;:()")


@given(
    confirmed=st.integers(0, 500),
    asymptomatic=st.integers(0, 500),
    conv=st.lists(st.integers(0, 9), max_size=4),
    since=st.booleans(),
)
def test_always_full_width_and_well_formed(
    confirmed: int, asymptomatic: int, conv: list[int], since: bool
) -> None:
    units = (n(ZD, confirmed), n(ZC, asymptomatic))
    conversions = tuple(UnitFigure(f"区{i}", i, c) for i, c in enumerate(conv))
    text = compose(
        facts(
            new_confirmed=confirmed,
            new_asymptomatic=asymptomatic,
            new_units=units,
            conversions=conversions,
            since=date(2022, 3, 8) if since else None,
        )
    )
    assert not ASCII_PUNCT & set(text)
    assert " " not in text
    assert text.endswith("例。")
    # the totals sentence is always last
    assert "24时，淄博市" in text.rsplit("。", 2)[-2]
    assert ("转为确诊病例" in text) == (sum(conv) > 0)
    if confirmed + asymptomatic == 0:
        assert "无新增本土确诊病例和无症状感染者" in text
    else:
        assert (f"本土确诊病例{confirmed}例" in text) == (confirmed > 0)
        assert (f"本土无症状感染者{asymptomatic}例" in text) == (asymptomatic > 0)
