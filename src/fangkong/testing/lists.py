"""What a round's pages and exports show: coverage per area, and the lists a community
worker acts on (who is missing, who is to be re-sampled), cut to a jurisdiction and masked
unless the reader may see personal data."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import LOCAL_TZ
from fangkong.errors import NotFound
from fangkong.people.joins import Community, Person
from fangkong.people.masking import mask_name, mask_phone
from fangkong.regions import service as regions
from fangkong.tabular import safe_row
from fangkong.testing import outcome
from fangkong.testing.models import Recall, TestingRound

STATE_LABELS = {
    "positive": "单管阳性",
    "pool_positive": "混管阳性待复核",
    "retest": "需重采",
    "cleared": "阴性",
    "pending": "待出结果",
    "exempt": "免检",
    "missing": "未检",
}
RECALL_LABELS = {
    "pending": "待复核",
    "resampled": "已复采",
    "cleared": "复核阴性",
    "positive": "复核阳性",
}
# The states of the outcome each list shows.
LIST_STATES = {"missing": ("missing",), "recall": ("pool_positive",), "retest": ("retest",)}
LIST_TITLES = {"missing": "未检人员名单", "recall": "混管阳性待复核名单", "retest": "需重采名单"}
LIST_LIMIT = 20_000  # one community's list; a city's is an export, not a page


def _applied(round_: TestingRound) -> None:
    if round_.applied_at is None:
        raise NotFound(f"round {round_.code} has no results applied yet", code=round_.code)


def _area_name(level: str, code: str, name: str | None) -> str:
    reg = regions.registry()
    if level == "district" and code in reg.districts:
        return reg.districts[code].name
    if level == "street" and code in reg.streets:
        return reg.streets[code].name
    if level == "city":
        return regions.city(code[:4]).name if code[:4].isdigit() else "全市"
    return name or code


def _inside(scope: Jurisdiction, city_code: str, level: str, row: dict[str, Any]) -> bool:
    if scope.whole_city:
        return scope.city_code == city_code
    if level == "city":
        return False
    if level == "district":
        return scope.kind == "district" and scope.district_code == row["area_code"]
    if level == "street":
        return scope.covers(
            city_code=city_code,
            district_code=row["parent_code"],
            street_code=row["area_code"],
        ) and scope.kind not in ("community",)
    street = row["parent_code"]
    reg = regions.registry()
    district = reg.streets[street].district_code if street in reg.streets else None
    return scope.covers(
        city_code=city_code,
        district_code=district,
        street_code=street,
        community_id=row["community_id"],
    )


def coverage(
    lake: Path,
    round_: TestingRound,
    *,
    level: outcome.Level,
    parent: str | None,
    scope: Jurisdiction,
) -> list[dict[str, Any]]:
    """Coverage rows of one level (inside ``parent`` if given) that ``scope`` may see."""
    _applied(round_)
    table = outcome.read_coverage(lake, round_.code, level, parent)
    city = round_.city_code
    rows = [r for r in table.to_pylist() if _inside(scope, city, level, r)]
    for r in rows:
        if r["level"] == "city":
            r["area_code"] = city
        r["area_name"] = _area_name(r["level"], r["area_code"], r.get("area_name"))
    return rows


def progress(lake: Path, round_: TestingRound) -> list[dict[str, Any]]:
    _applied(round_)
    rows: list[dict[str, Any]] = outcome.read_progress(lake, round_.code).to_pylist()
    return rows


def turnaround(lake: Path, round_: TestingRound) -> list[dict[str, Any]]:
    """Per lab: tubes resulted and the hours from a tube's closing to its result."""
    _applied(round_)
    rows: list[dict[str, Any]] = outcome.read_turnaround(lake, round_.code).to_pylist()
    return rows


@dataclass(frozen=True)
class Listed:
    person_no: str
    name: str | None
    phone: str | None
    community: str | None
    state: str
    tube_barcode: str | None = None
    sampled_at: datetime | None = None
    recall_status: str | None = None
    recall_due_by: datetime | None = None  # re-sample by (policy testing.recall_hours)


def listed(
    session: Session,
    lake: Path,
    round_: TestingRound,
    *,
    states: Sequence[str],
    scope: Jurisdiction,
    community_id: int | None = None,
    pii: bool = False,
    limit: int | None = LIST_LIMIT,
) -> list[Listed]:
    """The persons of the round in the given states (e.g. missing), of one community if
    asked, inside ``scope``; names and phones masked unless ``pii``."""
    _applied(round_)
    table = outcome.read_status(lake, round_.code, community_id=community_id, states=states)
    rows = [
        r
        for r in table.to_pylist()
        if scope.covers(
            city_code=round_.city_code,
            district_code=r["district_code"],
            street_code=r["street_code"],
            community_id=r["community_id"],
        )
    ]
    if limit is not None:
        rows = rows[:limit]
    numbers = [r["person_id"] for r in rows]
    persons: dict[str, Person] = {}
    for i in range(0, len(numbers), 5000):
        persons.update(
            (p.person_no, p)
            for p in session.scalars(
                select(Person).where(Person.person_no.in_(numbers[i : i + 5000]))
            )
        )
    communities = {
        c.id: c.name
        for c in session.scalars(
            select(Community).where(
                Community.id.in_({r["community_id"] for r in rows if r["community_id"]})
            )
        )
    }
    recalls = {
        p.person_no: r
        for r, p in session.execute(
            select(Recall, Person)
            .join(Person, Person.id == Recall.person_id)
            .where(Recall.round_id == round_.id)
        )
    }
    found: list[Listed] = []
    for r in rows:
        person = persons.get(r["person_id"])
        name = person.name if person else None
        phone = person.phone if person else None
        sampled = r.get("last_sampled_at")
        recall = recalls.get(r["person_id"])
        found.append(
            Listed(
                person_no=r["person_id"],
                name=name if pii else mask_name(name),
                phone=phone if pii else mask_phone(phone),
                community=communities.get(r["community_id"]),
                state=r["state"],
                tube_barcode=r.get("last_tube"),
                sampled_at=sampled.replace(tzinfo=UTC)
                if sampled and not sampled.tzinfo
                else sampled,
                recall_status=recall.status if recall else None,
                recall_due_by=recall.due_by if recall else None,
            )
        )
    return found


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def workbook(rows: Sequence[Listed], *, title: str) -> bytes:
    """A list as Excel, for the community worker's phone calls and door knocks."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "名单"
    sheet.append(safe_row([title]))
    sheet["A1"].font = Font(bold=True)
    headers = ["人员编号", "姓名", "手机号", "社区", "状态", "管码", "采样时间", "复核"]
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append(
            safe_row(
                [
                    r.person_no,
                    r.name,
                    r.phone,
                    r.community,
                    STATE_LABELS.get(r.state, r.state),
                    r.tube_barcode,
                    r.sampled_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
                    if r.sampled_at
                    else None,
                    RECALL_LABELS.get(r.recall_status or "", r.recall_status),
                ]
            )
        )
    sheet.freeze_panes = "A3"
    for column, width in zip("ABCDEFGH", (16, 10, 14, 16, 14, 18, 18, 10), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
