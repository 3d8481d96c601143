"""The 紧急寻找风险人员 notice: exact text, windows in local time, full-width punctuation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from fangkong.clock import LOCAL_TZ
from fangkong.tracing.notice import NoticeVenue, merge_windows, risk_notice, windows_text

VENUE = NoticeVenue("银座超市周村店", "周村区", "正阳路1号")
ISSUER = "淄博市周村区新冠肺炎疫情防控指挥部"


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def notice(windows: list[tuple[datetime, datetime]], hotline: str | None = None) -> str:
    return risk_notice(
        city="淄博市",
        venue=VENUE,
        windows=windows,
        issuer=ISSUER,
        issued_on=date(2022, 3, 13),
        hotline=hotline,
    )


BODY = (
    "在淄博市周村区银座超市周村店（正阳路1号）停留的人员，"
    "请于看到本通告后2小时内立即向所在社区（村）或所住宾馆报告，并主动向单位报告；"
    "在报告和转运前请居家等待，不外出、不聚集、不乘坐公共交通工具，做好个人防护，"
    "配合落实核酸检测和健康监测等防控措施。"
)


def test_one_window() -> None:
    text = notice([(at(2022, 3, 12, 10), at(2022, 3, 12, 12, 30))])
    assert text == "\n\n".join(
        [
            "【紧急寻找】淄博市周村区新冠肺炎疫情防控指挥部关于紧急寻找银座超市周村店相关风险人员的通告",
            "近日，淄博市发现新冠病毒核酸检测阳性人员，经流行病学调查，其曾在以下场所停留。"
            "为尽快阻断疫情传播风险，现紧急寻找同时段在该场所停留的人员。",
            "凡于2022年3月12日10:00—12:30" + BODY,
            "对隐瞒行程、不主动报告、不配合防控措施，造成疫情传播等严重后果的，将依法追究法律责任。",
            "咨询及报告电话：12345政务服务便民热线。",
            "淄博市周村区新冠肺炎疫情防控指挥部\n2022年3月13日",
        ]
    )


def test_several_windows_in_local_time() -> None:
    windows = [
        # given in UTC: 01:05 UTC is 9:05 in Shanghai
        (datetime(2022, 3, 13, 1, 5, tzinfo=UTC), datetime(2022, 3, 13, 2, 0, tzinfo=UTC)),
        (at(2022, 3, 12, 10), at(2022, 3, 12, 12, 30)),
        (at(2022, 3, 12, 12), at(2022, 3, 12, 13)),  # overlaps the one before: joined
        (at(2022, 3, 14, 22), at(2022, 3, 15, 1, 30)),  # across midnight
    ]
    text = notice(windows, hotline="0533-6412345")
    when = "2022年3月12日10:00—13:00、3月13日9:05—10:00、3月14日22:00—3月15日1:30"
    assert f"凡于{when}{BODY}" in text.split("\n\n")
    assert "咨询及报告电话：12345政务服务便民热线或周村区疫情防控热线0533-6412345。" in text


def test_year_is_said_again_when_it_changes() -> None:
    text = windows_text(
        [(at(2022, 12, 31, 20), at(2022, 12, 31, 21)), (at(2023, 1, 1, 9), at(2023, 1, 1, 10))]
    )
    assert text == "2022年12月31日20:00—21:00、2023年1月1日9:00—10:00"


def test_full_width_punctuation_only() -> None:
    text = notice([(at(2022, 3, 12, 10), at(2022, 3, 12, 12, 30))], hotline="0533-6412345")
    # ASCII punctuation only inside numbers: 10:00 and 0533-6412345.
    stripped = re.sub(r"(?<=\d)[:\-](?=\d)", "", text)
    assert not re.search(r"[!-/:-@\[-`{-~]", stripped), stripped
    assert "—" in text
    assert "，" in text
    assert "（" in text
    assert "【" in text


def test_merge_and_no_window() -> None:
    a, b, c = at(2022, 3, 12, 10), at(2022, 3, 12, 11), at(2022, 3, 12, 12)
    assert merge_windows([(b, c), (a, b)]) == [(a, c)]  # touching windows join
    with pytest.raises(ValueError, match="at least one"):
        notice([])
