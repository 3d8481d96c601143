"""Workplaces (单位) and their units (部门、车间、班组): create, look up, list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.errors import Conflict, NotFound
from fangkong.people import vocab
from fangkong.people.access import WORKPLACES, check_place, workplace_scope
from fangkong.people.lookups import Lookups, contains, resolve_region
from fangkong.people.models import Workplace, WorkplaceUnit
from fangkong.people.schemas import WorkplaceCreate, WorkplaceRead, WorkplaceUnitRead
from fangkong.regions import service as regions
from fangkong.storage.bulk import chunks


def workplace_values(data: WorkplaceCreate) -> dict[str, Any]:
    district_code, street_code = resolve_region(data.district, data.street)
    return {
        "workplace_no": data.workplace_no,
        "name": data.name,
        "industry": data.industry,
        "district_code": district_code,
        "street_code": street_code,
        "address": data.address,
    }


def get_workplace(session: Session, *, workplace_no: str, scope: Jurisdiction) -> Workplace:
    workplace = session.scalar(
        select(Workplace).where(Workplace.workplace_no == workplace_no, workplace_scope(scope))
    )
    if workplace is None:
        raise NotFound(f"no workplace {workplace_no!r}", workplace_no=workplace_no)
    return workplace


def create_workplace(session: Session, *, data: WorkplaceCreate, scope: Jurisdiction) -> Workplace:
    """A workplace with its units."""
    exists = session.scalar(select(Workplace.id).where(Workplace.workplace_no == data.workplace_no))
    if exists is not None:
        raise Conflict(
            f"workplace {data.workplace_no!r} already exists", workplace_no=data.workplace_no
        )
    values = workplace_values(data)
    check_place(
        scope, WORKPLACES, district_code=values["district_code"], street_code=values["street_code"]
    )
    workplace = Workplace(**values)
    session.add(workplace)
    session.add_all(
        WorkplaceUnit(workplace=workplace, name=u.name, kind=u.kind) for u in data.units
    )
    session.flush()
    return workplace


def ensure_unit(
    session: Session,
    *,
    workplace_no: str,
    name: str,
    scope: Jurisdiction,
    kind: str | None = None,
) -> WorkplaceUnit:
    """The unit of that name in the workplace, created when new."""
    workplace = get_workplace(session, workplace_no=workplace_no, scope=scope)
    unit = Lookups(session).unit(workplace, name, kind)
    session.flush()
    return unit


def units_of(session: Session, workplace_ids: Sequence[int]) -> dict[int, list[WorkplaceUnit]]:
    """Units per workplace id, by name."""
    units: dict[int, list[WorkplaceUnit]] = defaultdict(list)
    for batch in chunks(workplace_ids):
        for u in session.scalars(
            select(WorkplaceUnit)
            .where(WorkplaceUnit.workplace_id.in_(batch))
            .order_by(WorkplaceUnit.name)
        ):
            units[u.workplace_id].append(u)
    return units


@dataclass(frozen=True)
class WorkplaceFilter:
    text: str | None = None  # name or workplace number
    industry: str | None = None
    district_code: str | None = None


def list_workplaces(
    session: Session,
    *,
    flt: WorkplaceFilter,
    scope: Jurisdiction,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Workplace], int]:
    conditions: list[ColumnElement[bool]] = [workplace_scope(scope)]
    if flt.text:
        conditions.append(
            or_(contains(Workplace.name, flt.text), contains(Workplace.workplace_no, flt.text))
        )
    if flt.industry:
        conditions.append(Workplace.industry == flt.industry)
    if flt.district_code:
        conditions.append(Workplace.district_code == flt.district_code)
    total = session.scalar(select(func.count(Workplace.id)).where(*conditions))
    items = session.scalars(
        select(Workplace)
        .where(*conditions)
        .order_by(Workplace.workplace_no)
        .limit(limit)
        .offset(offset)
    )
    return list(items), int(total or 0)


def workplace_reads(session: Session, workplaces: Sequence[Workplace]) -> list[WorkplaceRead]:
    units = units_of(session, [w.id for w in workplaces])
    reads = []
    for w in workplaces:
        unit = regions.unit_for(w.district_code, w.street_code)
        reads.append(
            WorkplaceRead(
                workplace_no=w.workplace_no,
                name=w.name,
                industry=w.industry,
                industry_label=vocab.INDUSTRIES.get(w.industry, w.industry),
                district_code=w.district_code,
                district_name=regions.registry().districts[w.district_code].name,
                street_code=w.street_code,
                street_name=regions.street_name(w.street_code),
                unit_code=unit.code,
                unit_name=unit.name,
                address=w.address,
                units=[
                    WorkplaceUnitRead(
                        name=u.name, kind=u.kind, kind_label=vocab.UNIT_KINDS.get(u.kind, u.kind)
                    )
                    for u in units.get(w.id, [])
                ],
            )
        )
    return reads
