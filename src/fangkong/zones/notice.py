"""The official notices of zones (划定、调整、解除风险区域的通告), pure: the structure local
notices used — a title, a preamble naming the policy edition, one numbered section per
level (and time) with its measures, 特此公告, the issuing 指挥部办公室 and the date.

    淄博市关于划定风险区域的通告

    根据《新型冠状病毒肺炎防控方案（第九版）》有关规定，经研判，决定划定以下风险区域。现将有关事项通告如下：
    一、自3月16日10时起，将周村区新建路社区丝绸苑小区划定为高风险区。高风险区实行“足不出户、上门服务”。
    …
    特此公告。

    淄博市疫情防控指挥部办公室
    2022年3月16日

The county-wide level is "the rest" of its district: a zone of it is named
``周村区其他区域``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fangkong.clock import LOCAL_TZ, chinese_day
from fangkong.zones.rules import LEVEL_MEASURES, SEVERITY, label

KINDS = {"draw": "划定", "adjust": "调整", "lift": "解除"}
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 23 → 二十三 (section numbers up to 99)."""
    if not 0 < n < 100:
        raise ValueError("a notice numbers its sections from 1 to 99")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def moment(at: datetime) -> str:
    """``3月16日10时`` (``10时30分`` when not on the hour), Beijing time."""
    local = at.astimezone(LOCAL_TZ)
    minutes = f"{local.minute}分" if local.minute else ""
    return f"{chinese_day(local.date())}{local.hour}时{minutes}"


@dataclass(frozen=True)
class NoticeItem:
    """One zone in a notice: its name, the level it is drawn at (or leaves), the level it
    goes to when adjusted, and when."""

    name: str
    level: str
    at: datetime
    county: bool = False  # the county-wide level: "the rest of" its district
    to_level: str | None = None


@dataclass(frozen=True)
class Notice:
    kind: str  # draw | adjust | lift
    city_name: str
    edition_title: str
    issuer: str
    day: date
    items: tuple[NoticeItem, ...]


def _name(item: NoticeItem) -> str:
    return f"{item.name}其他区域" if item.county else item.name


def _sections(notice: Notice) -> list[str]:
    groups: dict[tuple[str, str | None, datetime], list[NoticeItem]] = {}
    for item in notice.items:
        groups.setdefault((item.level, item.to_level, item.at), []).append(item)
    ordered = sorted(
        groups.items(),
        key=lambda kv: (-SEVERITY.get(kv[0][0], 0), kv[0][2], SEVERITY.get(kv[0][1] or "", 0)),
    )
    out: list[str] = []
    for (level, to_level, at), items in ordered:
        names = "、".join(_name(i) for i in items)
        when = f"自{moment(at)}起，"
        if notice.kind == "draw":
            text = f"{when}将{names}划定为{label(level)}。"
            text += f"{label(level)}实行“{LEVEL_MEASURES[level]}”。"
        elif notice.kind == "adjust" and to_level is not None:
            text = f"{when}将{names}由{label(level)}调整为{label(to_level)}。"
            text += f"{label(to_level)}实行“{LEVEL_MEASURES[to_level]}”。"
        else:
            text = f"{when}解除{names}{label(level)}管控措施。"
        out.append(text)
    return out


def render(notice: Notice) -> str:
    """The notice's text, lines joined by newlines (empty lines between its parts)."""
    if notice.kind not in KINDS:
        raise ValueError(f"unknown notice kind {notice.kind!r}")
    verb = KINDS[notice.kind]
    lines = [
        f"{notice.city_name}关于{verb}风险区域的通告",
        "",
        f"根据《{notice.edition_title}》有关规定，经研判，决定{verb}以下风险区域。"
        "现将有关事项通告如下：",
    ]
    sections = _sections(notice)
    if not sections:
        raise ValueError("a notice names at least one zone")
    lines += [f"{chinese_number(i)}、{s}" for i, s in enumerate(sections, start=1)]
    lines += ["", "特此公告。", "", notice.issuer, chinese_day(notice.day, with_year=True)]
    return "\n".join(lines)


def paragraphs(text: str) -> Sequence[str]:
    """The notice's lines without the empty ones (what the Word file lays out)."""
    return [line for line in text.split("\n") if line]
