"""Quarantine sites and their rooms: import, listing, occupancy now and day by day.

A site file has one row per room (``room_no``, ``beds``) or one row per site with a room
count (``rooms``, ``beds`` each), which numbers the rooms 001, 002, …; site columns repeat
on every row of a site and must agree. As every importer: every error reported with its
row and column, nothing written unless the whole file is good, and importing the same file
again changes nothing. Rooms missing from a file are left as they are (a file may list a
site's new wing only); a room cannot shrink below the people in it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import LOCAL_TZ
from fangkong.errors import ImportRejected, InvalidInput, NotFound
from fangkong.quarantine.models import (
    OrderTransition,
    QuarantineOrder,
    QuarantineSite,
    SiteRoom,
)
from fangkong.quarantine.scope import check_site, site_conditions
from fangkong.quarantine.status import OrderStatus
from fangkong.regions import service as regions
from fangkong.storage.bulk import chunks
from fangkong.tabular import Column, ImportReport, Row, RowError, read_table

SITE_KINDS = {
    "centralized_site": "集中隔离点",
    "designated_hospital": "定点医院",
}
SITE_STATUSES = {"open": "开放", "paused": "暂停接收", "closed": "关闭"}
# An order holds its bed from placement until it leaves the site.
HOLDS_BED = (OrderStatus.pending_transfer.value, OrderStatus.in_quarantine.value)
MAX_ROOMS_PER_ROW = 2000

SITE_COLUMNS = [
    Column("site_code", "隔离点编码", required=True, aliases=("code",)),
    Column("name", "隔离点名称", required=True, aliases=("site_name",)),
    Column("kind", "类型"),
    Column("district", "区县", required=True, aliases=("district_code",)),
    Column("address", "地址"),
    Column("lon", "经度", aliases=("longitude",)),
    Column("lat", "纬度", aliases=("latitude",)),
    Column("phone", "联系电话"),
    Column("status", "状态"),
    Column("room_no", "房间号"),
    Column("beds", "床位数"),
    Column("rooms", "房间数"),
    Column("single_only", "单人间"),
]
_KIND_BY_TEXT = {**{k: k for k in SITE_KINDS}, **{v: k for k, v in SITE_KINDS.items()}}
_STATUS_BY_TEXT = {**{k: k for k in SITE_STATUSES}, **{v: k for k, v in SITE_STATUSES.items()}}
_YES = {"1", "true", "yes", "y", "是"}
_NO = {"", "0", "false", "no", "n", "否"}


# ---------------------------------------------------------------- import


@dataclass
class _SiteRows:
    first_row: int
    values: dict[str, Any]
    rooms: dict[str, tuple[int, int, bool]] = field(
        default_factory=dict
    )  # no → (row, beds, single)


def _site_values(row: Row, city_code: str, errors: list[RowError]) -> dict[str, Any] | None:
    n = row.number
    before = len(errors)
    kind_text = row.get("kind") or "centralized_site"
    kind = _KIND_BY_TEXT.get(kind_text)
    if kind is None:
        errors.append(RowError(n, "kind", "one of 集中隔离点, 定点医院", kind_text))
    status_text = row.get("status") or "open"
    status = _STATUS_BY_TEXT.get(status_text)
    if status is None:
        errors.append(RowError(n, "status", "one of 开放, 暂停接收, 关闭", status_text))
    district_text = row.get("district") or ""
    district_code = None
    try:
        district_code = regions.resolve_district(district_text, city_code).code
    except (InvalidInput, NotFound) as exc:
        errors.append(RowError(n, "district", exc.message, district_text))
    coords: dict[str, float | None] = {}
    for column, low, high in (("lon", 73.0, 136.0), ("lat", 3.0, 54.0)):
        text = row.get(column)
        coords[column] = None
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            errors.append(RowError(n, column, "a decimal number of degrees", text))
            continue
        if not low <= value <= high:
            errors.append(RowError(n, column, f"outside China ({low}–{high})", text))
            continue
        coords[column] = value
    if (coords["lon"] is None) != (coords["lat"] is None):
        errors.append(
            RowError(n, "lat" if coords["lat"] is None else "lon", "give both lon and lat")
        )
    name = row.get("name") or ""
    if len(name) > 128:
        errors.append(RowError(n, "name", "at most 128 characters", name))
    code = row.get("site_code") or ""
    if len(code) > 32:
        errors.append(RowError(n, "site_code", "at most 32 characters", code))
    if len(errors) > before:
        return None
    return {
        "code": code,
        "name": name,
        "kind": kind,
        "city_code": city_code,
        "district_code": district_code,
        "address": row.get("address"),
        "lon": coords["lon"],
        "lat": coords["lat"],
        "phone": row.get("phone"),
        "status": status,
    }


def _positive(row: Row, column: str, errors: list[RowError], limit: int) -> int | None:
    text = row.get(column)
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= limit:
        errors.append(RowError(row.number, column, f"a whole number from 1 to {limit}", text))
        return None
    return int(text)


def _room_rows(row: Row, site: _SiteRows, errors: list[RowError]) -> None:
    n = row.number
    beds = _positive(row, "beds", errors, 20)
    count = _positive(row, "rooms", errors, MAX_ROOMS_PER_ROW)
    single_text = (row.get("single_only") or "").lower()
    if single_text not in _YES | _NO:
        errors.append(RowError(n, "single_only", "是 or 否", row.get("single_only")))
    single = single_text in _YES
    room_no = row.get("room_no")
    if room_no is not None and count is not None:
        errors.append(RowError(n, "rooms", "give room_no or rooms, not both", row.get("rooms")))
        return
    if (room_no is not None or count is not None) and beds is None and row.get("beds") is None:
        errors.append(RowError(n, "beds", "required with room_no or rooms"))
        return
    if beds is None:
        return
    if room_no is not None:
        numbers = [room_no]
        if len(room_no) > 32:
            errors.append(RowError(n, "room_no", "at most 32 characters", room_no))
            return
    elif count is not None:
        numbers = [f"{i:03d}" for i in range(1, count + 1)]
    else:
        errors.append(RowError(n, "room_no", "give room_no (one room) or rooms (how many)"))
        return
    for number in numbers:
        if number in site.rooms:
            first = site.rooms[number][0]
            errors.append(RowError(n, "room_no", f"room listed again (row {first})", number))
            continue
        site.rooms[number] = (n, beds, single)


def import_sites(
    session: Session, *, data: bytes, filename: str, now: datetime, scope: Jurisdiction
) -> ImportReport:
    """Validate the whole file, then upsert sites by code and rooms by (site, room_no)."""
    if not scope.is_area or scope.city_code is None:
        raise InvalidInput("sites are imported by a user of the city or a district")
    table = read_table(data, filename, SITE_COLUMNS)
    report = ImportReport(ignored_columns=table.ignored_columns)
    errors = list(table.errors)
    sites: dict[str, _SiteRows] = {}
    for row in table.rows:
        values = _site_values(row, scope.city_code, errors)
        if values is None:
            _room_rows(row, _SiteRows(row.number, {}), errors)  # report the room's errors too
            continue
        if scope.district_code and values["district_code"] != scope.district_code:
            errors.append(
                RowError(row.number, "district", "outside your jurisdiction", row.get("district"))
            )
            continue
        site = sites.get(values["code"])
        if site is None:
            site = sites[values["code"]] = _SiteRows(row.number, values)
        elif site.values != values:
            differs = next(k for k in values if values[k] != site.values[k])
            errors.append(
                RowError(row.number, differs, f"differs from row {site.first_row} of this site")
            )
            continue
        _room_rows(row, site, errors)
    existing = {
        s.code: s
        for batch in chunks(sorted(sites))
        for s in session.scalars(
            select(QuarantineSite)
            .where(QuarantineSite.code.in_(batch))
            .options(selectinload(QuarantineSite.rooms))
        )
    }
    held = _beds_held(session, [s.id for s in existing.values()])
    for code, found in existing.items():
        rows = sites[code]
        if found.city_code != scope.city_code or (
            scope.district_code and found.district_code != scope.district_code
        ):
            errors.append(RowError(rows.first_row, "site_code", "outside your jurisdiction", code))
            continue
        by_no = {r.room_no: r for r in found.rooms}
        for number, (n, beds, _) in rows.rooms.items():
            room = by_no.get(number)
            if room is not None and beds < held.get(room.id, 0):
                reason = f"{held[room.id]} people are in this room now"
                errors.append(RowError(n, "beds", reason, str(beds)))
    if errors:
        report.reject(errors)
        raise ImportRejected(
            f"{report.rejected} row(s) rejected; nothing was imported",
            errors=[e.model_dump() for e in report.errors],
            report=report.model_dump(),
        )
    for code, rows in sites.items():
        _upsert(session, existing.get(code), rows, now, report)
    session.flush()
    return report


def _upsert(
    session: Session,
    site: QuarantineSite | None,
    rows: _SiteRows,
    now: datetime,
    report: ImportReport,
) -> None:
    changed = False
    if site is None:
        site = QuarantineSite(**rows.values, created_at=now, updated_at=now)
        session.add(site)
        report.added += 1
    else:
        for key, value in rows.values.items():
            if getattr(site, key) != value:
                setattr(site, key, value)
                changed = True
    by_no = {r.room_no: r for r in site.rooms}
    for number, (_, beds, single) in rows.rooms.items():
        room = by_no.get(number)
        if room is None:
            site.rooms.append(SiteRoom(room_no=number, beds=beds, single_only=single))
            changed = True
        elif (room.beds, room.single_only) != (beds, single):
            room.beds, room.single_only = beds, single
            changed = True
    if site.id is not None:
        if changed:
            site.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1


# ---------------------------------------------------------------- reading


def require_site(session: Session, code: str) -> QuarantineSite:
    """The site, whatever the caller's jurisdiction (a binding's check); else NotFound."""
    site = session.scalar(select(QuarantineSite).where(QuarantineSite.code == code))
    if site is None:
        raise NotFound(f"no quarantine site {code!r}", site=code)
    return site


def get_site(session: Session, code: str, *, scope: Jurisdiction) -> QuarantineSite:
    site = require_site(session, code)
    check_site(scope, site)
    return site


def list_sites(session: Session, *, scope: Jurisdiction) -> list[QuarantineSite]:
    return list(
        session.scalars(
            select(QuarantineSite)
            .where(site_conditions(scope))
            .order_by(QuarantineSite.district_code, QuarantineSite.code)
        )
    )


def _beds_held(session: Session, site_ids: list[int]) -> dict[int, int]:
    """Room id → beds held now (placed or in the room)."""
    held: dict[int, int] = {}
    for batch in chunks(site_ids):
        rows = session.execute(
            select(QuarantineOrder.room_id, func.count())
            .where(
                QuarantineOrder.site_id.in_(batch),
                QuarantineOrder.room_id.is_not(None),
                QuarantineOrder.status.in_(HOLDS_BED),
            )
            .group_by(QuarantineOrder.room_id)
        )
        held.update((room_id, n) for room_id, n in rows if room_id is not None)
    return held


@dataclass(frozen=True)
class Occupancy:
    site: QuarantineSite
    rooms: int
    beds: int
    rooms_in_use: int
    persons: int  # in the site now
    arriving: int  # placed, transfer pending
    beds_free: int
    rooms_free: int

    @property
    def share(self) -> float:
        return (self.persons + self.arriving) / self.beds if self.beds else 0.0


def occupancy(session: Session, *, scope: Jurisdiction) -> list[Occupancy]:
    """Every visible site's rooms, beds, who is in and who is on the way, free beds.

    A room in use by a household offers no bed to anyone else (rooms are not shared
    between households), so free beds count only the rooms nobody holds."""
    sites = list(
        session.scalars(
            select(QuarantineSite)
            .where(site_conditions(scope))
            .options(selectinload(QuarantineSite.rooms))
            .order_by(QuarantineSite.district_code, QuarantineSite.code)
        )
    )
    counts: dict[tuple[int | None, str], int] = defaultdict(int)
    held_rooms: set[int] = set()
    for site_id, room_id, status in session.execute(
        select(QuarantineOrder.site_id, QuarantineOrder.room_id, QuarantineOrder.status).where(
            QuarantineOrder.site_id.in_([s.id for s in sites]),
            QuarantineOrder.status.in_(HOLDS_BED),
        )
    ):
        counts[(site_id, status)] += 1
        if room_id is not None:
            held_rooms.add(room_id)
    result = []
    for site in sites:
        rooms = [r for r in site.rooms if r.in_service]
        free = [r for r in rooms if r.id not in held_rooms]
        result.append(
            Occupancy(
                site=site,
                rooms=len(rooms),
                beds=sum(r.beds for r in rooms),
                rooms_in_use=len(rooms) - len(free),
                persons=counts[(site.id, OrderStatus.in_quarantine.value)],
                arriving=counts[(site.id, OrderStatus.pending_transfer.value)],
                beds_free=sum(r.beds for r in free) if site.status == "open" else 0,
                rooms_free=len(free) if site.status == "open" else 0,
            )
        )
    return result


def occupancy_by_day(
    session: Session, site: QuarantineSite, first: date, last: date
) -> list[tuple[date, int]]:
    """Persons in the site at the end of each local day from ``first`` to ``last``: from
    every arrival (a move into ``in_quarantine`` while placed there) and departure."""
    if last < first:
        raise InvalidInput("the last day comes before the first")
    if (last - first).days > 366:
        raise InvalidInput("at most a year of days")
    moves = session.execute(
        select(
            OrderTransition.order_id,
            OrderTransition.from_status,
            OrderTransition.to_status,
            OrderTransition.at,
        )
        .join(QuarantineOrder, QuarantineOrder.id == OrderTransition.order_id)
        .where(QuarantineOrder.site_id == site.id, QuarantineOrder.kind == "centralized")
        .order_by(OrderTransition.id)
    ).all()
    delta: dict[date, int] = defaultdict(int)
    inside = OrderStatus.in_quarantine.value
    for _, from_status, to_status, at in moves:
        day = at.astimezone(LOCAL_TZ).date()
        if to_status == inside and from_status != inside:
            delta[day] += 1
        elif from_status == inside and to_status != inside:
            delta[day] -= 1
    running = sum(n for d, n in delta.items() if d < first)
    series = []
    day = first
    while day <= last:
        running += delta.get(day, 0)
        series.append((day, running))
        day += timedelta(days=1)
    return series
