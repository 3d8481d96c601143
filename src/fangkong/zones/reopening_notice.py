"""The notice of a reopening decision (有序恢复生产生活秩序), pure: generated from its
cells — by region (cells over every category), then by industry (cells naming
categories) — as the seed's decision reads: "分区域…；分行业…".

    淄博市有序恢复正常生产生活秩序

    自3月23日0时起，淄博市逐步恢复正常生产生活秩序。现将有关事项通告如下：
    一、分区域。全市封控区、管控区以外的区域有序恢复，须落实测温、验码、戴口罩、限流。…
    二、分行业。疫情防控、能源供应、交通物流、医疗物资、重大工程优先复工复产。…
    特此公告。

    淄博市委统筹疫情防控和经济运行工作领导小组（指挥部）办公室
    2022年3月23日
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from fangkong.clock import LOCAL_TZ, chinese_day
from fangkong.zones.notice import chinese_number, moment
from fangkong.zones.reopening_rules import Cell

PHRASES = {
    "open": "正常开放",
    "conditional": "有序恢复",
    "closed": "暂不恢复",
    "priority": "优先复工复产",
}
SCOPES = {"any": "", "inside": "封控区、管控区", "outside": "封控区、管控区以外的区域"}


@dataclass(frozen=True)
class DecisionText:
    title: str
    city_name: str
    issuer: str
    effective_at: datetime
    cells: tuple[Cell, ...]
    region_names: Mapping[str, str]  # region code → name ("city" cells use the city's)
    category_labels: Mapping[str, str]


def _region(d: DecisionText, cell: Cell) -> str:
    if cell.region_kind == "city":
        return "全市"
    return d.region_names.get(cell.region_code, cell.region_code)


def _sentence(subject: str, cell: Cell) -> str:
    text = f"{subject}{PHRASES[cell.verdict]}"
    if cell.verdict == "conditional":
        conditions = cell.conditions()
        if conditions:
            text += f"，须落实{'、'.join(conditions)}"
    elif cell.note:
        text += f"：{cell.note}"
    return text + "。"


def _by_region(d: DecisionText) -> list[str]:
    cells = [c for c in d.cells if c.category == "*"]
    order = {"city": 0, "district": 1, "unit": 2}
    cells.sort(key=lambda c: (order.get(c.region_kind, 3), c.region_code))  # stable
    return [_sentence(f"{_region(d, c)}{SCOPES.get(c.zones, '')}", c) for c in cells]


def _by_industry(d: DecisionText) -> list[str]:
    groups: dict[tuple[object, ...], tuple[Cell, list[str]]] = {}
    for c in d.cells:
        if c.category == "*":
            continue
        key = (c.region_kind, c.region_code, c.zones, c.verdict, c.conditions())
        groups.setdefault(key, (c, []))[1].append(c.category)
    out: list[str] = []
    for cell, categories in groups.values():
        where = "" if cell.region_kind == "city" else _region(d, cell)
        labels = "、".join(d.category_labels.get(x, x) for x in categories)
        out.append(_sentence(f"{where}{SCOPES.get(cell.zones, '')}{labels}", cell))
    return out


def render(d: DecisionText) -> str:
    sections: list[tuple[str, Sequence[str]]] = [
        ("分区域", _by_region(d)),
        ("分行业", _by_industry(d)),
    ]
    lines = [
        d.title,
        "",
        f"自{moment(d.effective_at)}起，{d.city_name}逐步恢复正常生产生活秩序。"
        "现将有关事项通告如下：",
    ]
    number = 0
    for heading, sentences in sections:
        if sentences:
            number += 1
            lines.append(f"{chinese_number(number)}、{heading}。{''.join(sentences)}")
    day = d.effective_at.astimezone(LOCAL_TZ).date()
    lines += ["", "特此公告。", "", d.issuer, chinese_day(day, with_year=True)]
    return "\n".join(lines)
