"""What is inside a zone, as lists show it: its residents (masked unless the caller may
read personal data, and then the read is audited by the interface) and its venues and
workplaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Principal
from fangkong.people.masking import mask_id_number, mask_name, mask_phone
from fangkong.zones import places, records
from fangkong.zones.models import RiskZone


@dataclass(frozen=True)
class ResidentRow:
    person_no: str
    name: str
    id_number: str | None
    phone: str | None
    address: str  # community and compound; the building and room only in full


@dataclass(frozen=True)
class Residents:
    zone_code: str
    full: bool
    total: int
    limit: int
    offset: int
    rows: list[ResidentRow]


@dataclass(frozen=True)
class PlaceRow:
    kind: str  # venue | workplace
    code: str
    name: str
    category: str
    address: str | None


def _units(zone: RiskZone) -> list[tuple[str, str]]:
    return [(u.kind, u.ref) for u in zone.units]


def residents(
    session: Session,
    *,
    code: str,
    scope: Jurisdiction,
    full: bool,
    limit: int = 100,
    offset: int = 0,
) -> Residents:
    """The zone's residents in the caller's jurisdiction, a page at a time."""
    zone = records.get_zone(session, code=code, scope=scope)
    units = _units(zone)
    rows: list[ResidentRow] = []
    for p in places.residents(session, units, scope=scope, limit=limit, offset=offset):
        where = "".join(x.name for x in (p.community, p.compound) if x is not None)
        if full:
            where += "".join(x for x in (p.building.name if p.building else None, p.room) if x)
            rows.append(ResidentRow(p.person_no, p.name, p.id_number, p.phone, where))
        else:
            rows.append(
                ResidentRow(
                    p.person_no,
                    mask_name(p.name) or "",
                    mask_id_number(p.id_number),
                    mask_phone(p.phone),
                    where,
                )
            )
    total = places.residents_total(session, units, scope=scope)
    return Residents(zone.code, full, total, limit, offset, rows)


def record_full_view(
    session: Session, *, principal: Principal, found: Residents, now: datetime
) -> None:
    """A full page of residents is a read of personal data: one audit entry per page."""
    if found.rows:
        audit.record(
            session,
            principal=principal,
            action="read_pii",
            now=now,
            entity_type="risk_zone_residents",
            entity_id=found.zone_code,
            fields=["name", "id_number", "phone", "address"],
            detail={
                "rows": len(found.rows),
                "persons": [r.person_no for r in found.rows],
                "offset": found.offset,
            },
        )


def places_inside(session: Session, *, code: str, scope: Jurisdiction) -> list[PlaceRow]:
    """The zone's venues (by unit, street, district or its boundary) and workplaces."""
    zone = records.get_zone(session, code=code, scope=scope)
    rows = [
        PlaceRow("venue", v.venue_code, v.name, v.category, v.address)
        for v in places.venues_inside(session, zone)
    ]
    rows += [
        PlaceRow("workplace", w.workplace_no, w.name, w.industry, w.address)
        for w in places.workplaces_inside(session, _units(zone))
    ]
    return rows
