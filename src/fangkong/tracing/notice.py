"""The 紧急寻找风险人员 notice, pure: a venue and time windows in, the published text out.

Worded the way city CDCs and command HQs published these notices in 2022: a title line,
when and where, who is sought, what they must do and by when, a hotline, the issuing
body and date. Full-width punctuation throughout; times are 24-hour Asia/Shanghai time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fangkong.clock import LOCAL_TZ, chinese_day

DASH = "—"  # the full-width dash of ``10:00—12:30``


@dataclass(frozen=True)
class NoticeVenue:
    name: str
    district: str
    address: str | None = None


def merge_windows(windows: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, with overlapping or touching windows joined: one sentence per stretch."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clock(moment: datetime) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def window_text(
    start: datetime, end: datetime, *, with_year: bool = True, year_shown: int | None = None
) -> str:
    """``2022年3月12日10:00—12:30``; a window across midnight names both days."""
    a, b = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    first = chinese_day(a.date(), with_year=with_year and a.year != year_shown)
    if a.date() == b.date():
        return f"{first}{_clock(a)}{DASH}{_clock(b)}"
    second = chinese_day(b.date(), with_year=b.year != a.year)
    return f"{first}{_clock(a)}{DASH}{second}{_clock(b)}"


def windows_text(windows: Sequence[tuple[datetime, datetime]]) -> str:
    """Several windows joined with 、, the year said once while it does not change."""
    parts: list[str] = []
    year: int | None = None
    for start, end in merge_windows(windows):
        parts.append(window_text(start, end, year_shown=year))
        year = end.astimezone(LOCAL_TZ).year
    return "、".join(parts)


def risk_notice(
    *,
    city: str,
    venue: NoticeVenue,
    windows: Sequence[tuple[datetime, datetime]],
    issuer: str,
    issued_on: date,
    report_within_hours: int = 2,
    hotline: str | None = None,
) -> str:
    """The notice text, paragraphs separated by blank lines."""
    if not windows:
        raise ValueError("a notice needs at least one time window")
    place = f"{city}{venue.district}{venue.name}"
    if venue.address:
        place += f"（{venue.address}）"
    phones = "12345政务服务便民热线"
    if hotline:
        phones += f"或{venue.district}疫情防控热线{hotline}"
    return "\n\n".join(
        [
            f"【紧急寻找】{issuer}关于紧急寻找{venue.name}相关风险人员的通告",
            (
                f"近日，{city}发现新冠病毒核酸检测阳性人员，经流行病学调查，"
                "其曾在以下场所停留。为尽快阻断疫情传播风险，现紧急寻找同时段在该场所停留的人员。"
            ),
            (
                f"凡于{windows_text(windows)}在{place}停留的人员，"
                f"请于看到本通告后{report_within_hours}小时内立即向所在社区（村）"
                "或所住宾馆报告，并主动向单位报告；在报告和转运前请居家等待，"
                "不外出、不聚集、不乘坐公共交通工具，做好个人防护，"
                "配合落实核酸检测和健康监测等防控措施。"
            ),
            (
                "对隐瞒行程、不主动报告、不配合防控措施，造成疫情传播等严重后果的，"
                "将依法追究法律责任。"
            ),
            f"咨询及报告电话：{phones}。",
            f"{issuer}\n{chinese_day(issued_on, with_year=True)}",
        ]
    )
