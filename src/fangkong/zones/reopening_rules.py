"""Differentiated reopening (分区域、分行业, seed 000), pure: which cell of a decision
applies to a place, and what it allows.

A decision is cells region × zones × category. For a place the most specific cell wins:
a reporting unit or district before the city, "inside zones" / "outside zones" before
"anywhere", the place's own category (or industry) before ``*``. Inside zones means inside a
zone of the two severer levels (封控区/管控区, 高/中风险区): the county-wide level is the
region's ordinary state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

VERDICTS = {
    "open": "开放",
    "conditional": "有条件开放",
    "closed": "暂不开放",
    "priority": "优先复工复产",
}
ZONE_SCOPES = {"any": "全域", "inside": "封控区、管控区内", "outside": "封控区、管控区外"}


@dataclass(frozen=True)
class Cell:
    region_kind: str  # city | district | unit
    region_code: str
    zones: str  # any | inside | outside
    category: str  # * or a category / industry
    verdict: str
    capacity_share: float | None = None
    temperature: bool = False
    code_check: bool = False
    mask: bool = False
    test_within_hours: int | None = None
    note: str | None = None

    def conditions(self) -> tuple[str, ...]:
        out: list[str] = []
        if self.capacity_share is not None:
            out.append(f"限流{round(self.capacity_share * 100)}%")
        if self.temperature:
            out.append("测温")
        if self.code_check:
            out.append("验码")
        if self.mask:
            out.append("戴口罩")
        if self.test_within_hours is not None:
            out.append(f"查验{self.test_within_hours}小时内核酸检测阴性证明")
        if self.note:
            out.append(self.note)
        return tuple(out)


@dataclass(frozen=True)
class PlaceFacts:
    city_code: str
    district_code: str | None
    unit_code: str | None
    categories: tuple[str, ...]  # the place's category and industry, most specific first
    inside_zone: bool


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    verdict: str
    conditions: tuple[str, ...]
    cell: Cell | None


def _region_rank(cell: Cell, place: PlaceFacts) -> int | None:
    if cell.region_kind == "city":
        return 0 if cell.region_code == place.city_code else None
    if cell.region_kind == "district":
        return 2 if cell.region_code == place.district_code else None
    if cell.region_kind == "unit":
        return 2 if cell.region_code == place.unit_code else None
    return None


def match(cells: Sequence[Cell], place: PlaceFacts) -> Verdict:
    """The cell that applies to ``place`` and its verdict; no cell → open."""
    best: tuple[tuple[int, int, int], Cell] | None = None
    for i, cell in enumerate(cells):
        region = _region_rank(cell, place)
        if region is None:
            continue
        if cell.zones == "inside" and not place.inside_zone:
            continue
        if cell.zones == "outside" and place.inside_zone:
            continue
        if cell.category == "*":
            category = 0
        elif cell.category in place.categories:
            category = 2 if cell.category == place.categories[0] else 1
        else:
            continue
        zones = 0 if cell.zones == "any" else 1
        # zones first: inside a sealed or controlled zone closes whatever the industry
        rank = (zones if cell.zones == "inside" else 0, region + category, zones)
        if best is None or rank > best[0] or (rank == best[0] and i > cells.index(best[1])):
            best = (rank, cell)
    if best is None:
        return Verdict(True, "open", (), None)
    cell = best[1]
    return Verdict(cell.verdict != "closed", cell.verdict, cell.conditions(), cell)
