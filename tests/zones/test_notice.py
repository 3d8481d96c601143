"""Notices to the character for hand-made cases: drawing (one section per level, the
county level as "the rest" of its district), adjusting, lifting; section numbers; and the
reopening decision of 23 March 2022 generated from its cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fangkong.people.vocab import INDUSTRIES, VENUE_CATEGORIES
from fangkong.zones.notice import Notice, NoticeItem, chinese_number, moment, render
from fangkong.zones.reopening_notice import DecisionText
from fangkong.zones.reopening_notice import render as render_decision
from fangkong.zones.reopening_rules import Cell

AT = datetime(2022, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
MIDNIGHT = datetime(2022, 3, 29, 16, 0, tzinfo=UTC)  # 30 March 0时


def test_chinese_numbers_and_moments() -> None:
    assert [chinese_number(n) for n in (1, 9, 10, 11, 20, 23, 99)] == [
        "一",
        "九",
        "十",
        "十一",
        "二十",
        "二十三",
        "九十九",
    ]
    with pytest.raises(ValueError, match="1 to 99"):
        chinese_number(0)
    assert moment(AT) == "3月16日10时"
    assert moment(datetime(2022, 3, 16, 2, 30, tzinfo=UTC)) == "3月16日10时30分"
    assert moment(MIDNIGHT) == "3月30日0时"


def test_drawing_notice() -> None:
    text = render(
        Notice(
            kind="draw",
            city_name="淄博市",
            edition_title="新型冠状病毒肺炎防控方案（第九版）",
            issuer="淄博市疫情防控指挥部办公室",
            day=AT.date(),
            items=(
                NoticeItem("周村区", "low", AT, county=True),
                NoticeItem("周村区新建路社区", "medium", AT),
                NoticeItem("周村区新建路社区丝绸苑小区", "high", AT),
                NoticeItem("周村区新建路社区新华苑小区", "high", AT),
            ),
        )
    )
    assert text == (
        "淄博市关于划定风险区域的通告\n"
        "\n"
        "根据《新型冠状病毒肺炎防控方案（第九版）》有关规定，经研判，决定划定以下风险区域。"
        "现将有关事项通告如下：\n"
        "一、自3月16日10时起，将周村区新建路社区丝绸苑小区、周村区新建路社区新华苑小区"
        "划定为高风险区。高风险区实行“足不出户、上门服务”。\n"
        "二、自3月16日10时起，将周村区新建路社区划定为中风险区。"
        "中风险区实行“人不出区、错峰取物”。\n"
        "三、自3月16日10时起，将周村区其他区域划定为低风险区。"
        "低风险区实行“个人防护、避免聚集”。\n"
        "\n"
        "特此公告。\n"
        "\n"
        "淄博市疫情防控指挥部办公室\n"
        "2022年3月16日"
    )


def test_adjusting_and_lifting_notices() -> None:
    common = {
        "city_name": "淄博市",
        "edition_title": "新型冠状病毒肺炎防控方案（第八版）",
        "issuer": "淄博市疫情防控指挥部办公室",
        "day": MIDNIGHT.astimezone(UTC).date().replace(day=30),
    }
    adjust = render(
        Notice(
            kind="adjust",
            items=(NoticeItem("周村区丝绸苑小区", "sealed", MIDNIGHT, to_level="controlled"),),
            **common,  # type: ignore[arg-type]
        )
    )
    assert adjust.split("\n")[0] == "淄博市关于调整风险区域的通告"
    assert adjust.split("\n")[3] == (
        "一、自3月30日0时起，将周村区丝绸苑小区由封控区调整为管控区。"
        "管控区实行“人不出区、严禁聚集”。"
    )
    lift = render(
        Notice(
            kind="lift",
            items=(
                NoticeItem("周村区", "precaution", MIDNIGHT, county=True),
                NoticeItem("周村区丝绸苑小区", "sealed", MIDNIGHT),
            ),
            **common,  # type: ignore[arg-type]
        )
    )
    assert lift.split("\n")[2:5] == [
        "根据《新型冠状病毒肺炎防控方案（第八版）》有关规定，经研判，决定解除以下风险区域。"
        "现将有关事项通告如下：",
        "一、自3月30日0时起，解除周村区丝绸苑小区封控区管控措施。",
        "二、自3月30日0时起，解除周村区其他区域防范区管控措施。",
    ]
    assert lift.endswith("特此公告。\n\n淄博市疫情防控指挥部办公室\n2022年3月30日")
    with pytest.raises(ValueError, match="at least one zone"):
        render(Notice(kind="lift", items=(), **common))  # type: ignore[arg-type]


def test_reopening_notice_of_a_hand_made_decision() -> None:
    text = render_decision(
        DecisionText(
            title="淄博市有序恢复正常生产生活秩序",
            city_name="淄博市",
            issuer="淄博市疫情防控指挥部办公室",
            effective_at=datetime(2022, 3, 22, 16, 0, tzinfo=UTC),
            cells=(
                Cell("city", "3703", "outside", "*", "conditional", 0.5, True, True, True, 48),
                Cell("district", "370306", "any", "*", "closed", note="继续分级分类管控"),
                Cell("city", "3703", "any", "energy", "priority"),
                Cell("city", "3703", "any", "major_project", "priority"),
                Cell("city", "3703", "any", "cinema", "closed"),
            ),
            region_names={"370306": "周村区"},
            category_labels={**INDUSTRIES, **VENUE_CATEGORIES},
        )
    )
    assert text == (
        "淄博市有序恢复正常生产生活秩序\n"
        "\n"
        "自3月23日0时起，淄博市逐步恢复正常生产生活秩序。现将有关事项通告如下：\n"
        "一、分区域。全市封控区、管控区以外的区域有序恢复，"
        "须落实限流50%、测温、验码、戴口罩、查验48小时内核酸检测阴性证明。"
        "周村区暂不恢复：继续分级分类管控。\n"
        "二、分行业。能源供应、重大工程优先复工复产。影剧院暂不恢复。\n"
        "\n"
        "特此公告。\n"
        "\n"
        "淄博市疫情防控指挥部办公室\n"
        "2022年3月23日"
    )
