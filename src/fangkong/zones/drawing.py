"""Drawing zones: proposals from a day's cases (``rules.propose``), and the HQ's decision
on each — confirm, edit, reject — every move kept with who, why and the rule.

A proposal is a zone in status ``proposed``: it holds no period, so no status query sees
it until it is confirmed. Confirming starts its first period on the local day it takes
effect and counts what is inside. A proposal that upgrades a milder zone over the same
place ends that zone on the same day. A district officer proposes only from the cases of
their district (the cases service cuts them); only the HQ decides (``zones.decide``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.cases import service as cases
from fangkong.errors import Conflict, InvalidInput
from fangkong.people import venues as people_venues
from fangkong.policy import Policy
from fangkong.tracing import service as tracing
from fangkong.zones import geo, places, records
from fangkong.zones.day import day_zones
from fangkong.zones.models import RiskZone, RiskZoneUnit, ZoneScreening
from fangkong.zones.rules import (
    EXTENT_KINDS,
    CaseAt,
    Drawn,
    Place,
    Proposal,
    ZoneStatusCode,
    propose,
)
from fangkong.zones.scope import covers

PROPOSED = ZoneStatusCode.proposed.value


class ReasonRequired(InvalidInput):
    code = "reason_required"


def _cases_at(
    session: Session, *, day: date, scope: Jurisdiction, case_nos: Collection[str] | None
) -> list[CaseAt]:
    new = cases.cases_in_scope(session, scope=scope, reported_on=day)
    if case_nos is not None:
        new = [c for c in new if c.case_no in case_nos]
    homes = {a[0]: a for a in places.addresses(session, [c.person_id for c in new if c.person_id])}
    found = tracing.contact_places(session, case_ids=[c.id for c in new])
    venues_wanted = {v for p in found.values() for v in p.venues}
    workplaces_wanted = {w for p in found.values() for w in p.workplaces}
    venue_rows = people_venues.venues_by_code(session, venues_wanted)
    workplace_rows = places.workplaces_by_no(session, workplaces_wanted)
    zones = day_zones(session, day=day)
    out: list[CaseAt] = []
    for case in new:
        home = homes.get(case.person_id) if case.person_id else None
        _, district, street, community, compound, building = home or (
            0,
            case.district_code,
            case.street_code,
            None,
            None,
            None,
        )
        contact: list[Place] = []
        if case.id in found:
            for code in sorted(found[case.id].venues):
                v = venue_rows.get(code)
                if v is not None:
                    contact.append(Place("venue", code, v.district_code, v.street_code))
            for no in sorted(found[case.id].workplaces):
                if no in workplace_rows:
                    d, s = workplace_rows[no]
                    contact.append(Place("workplace", no, d, s))
        now_in = zones.units.of_address(
            district_code=district,
            street_code=street,
            community_id=community,
            compound_id=compound,
            building_id=building,
        )
        out.append(
            CaseAt(
                case.case_no,
                case.city_code,
                district or case.district_code,
                street,
                community,
                compound,
                building,
                tuple(contact),
                (now_in.zone_code, now_in.level, None) if now_in else None,
            )
        )
    return out


def _drawn(session: Session, *, day: date) -> list[Drawn]:
    out: list[Drawn] = []
    seen: set[int] = set()
    for zone, _period in records.in_force_on(session, day=day):
        seen.add(zone.id)
        out.extend(_as_drawn(zone))
    for zone in records.proposed_zones(session):
        if zone.id not in seen:
            out.extend(_as_drawn(zone))
    return out


def _as_drawn(zone: RiskZone) -> list[Drawn]:
    return [
        Drawn(zone.code, zone.level, Place(u.kind, u.ref, zone.district_code)) for u in zone.units
    ]


def _counts(session: Session, zone: RiskZone) -> None:
    units = [(u.kind, u.ref) for u in zone.units]
    zone.residents = places.resident_count(session, units)
    zone.venues = len(places.venues_inside(session, zone))
    zone.workplaces = places.workplace_count(session, units)


def _apply_place(zone: RiskZone, place: Place, name: str) -> None:
    zone.district_code = place.district_code
    zone.street_code = place.street_code if place.kind not in ("district",) else None
    in_community = place.kind in ("building", "compound", "community")
    zone.community_id = place.community_id if in_community else None
    zone.units.append(RiskZoneUnit(kind=place.kind, ref=place.ref, name=name))


def propose_zones(
    session: Session,
    *,
    day: date,
    policy: Policy,
    scope: Jurisdiction,
    now: datetime,
    by: str,
    case_nos: Collection[str] | None = None,
) -> list[RiskZone]:
    """Proposals for the cases reported on ``day`` inside ``scope`` (only ``case_nos``
    when given: a case just registered); a place already proposed at that level gets the
    new case numbers added. Returns the zones touched."""
    proposals = propose(
        _cases_at(session, day=day, scope=scope, case_nos=case_nos),
        _drawn(session, day=day),
        policy.zones,
        policy.edition,
    )
    pending = {
        (u.kind, u.ref, z.level): z for z in records.proposed_zones(session) for u in z.units
    }
    touched: list[RiskZone] = []
    for p in proposals:
        existing = pending.get((p.place.kind, p.place.ref, p.level))
        if existing is not None:
            nos = existing.case_nos.split()
            existing.case_nos = " ".join(sorted(set(nos) | set(p.case_nos)))
            touched.append(existing)
            continue
        touched.append(_new_zone(session, p, day=day, policy=policy, now=now, by=by))
    session.flush()
    return touched


def _new_zone(
    session: Session, p: Proposal, *, day: date, policy: Policy, now: datetime, by: str
) -> RiskZone:
    named = places.describe(session, p.place.kind, p.place.ref)
    zone = RiskZone(
        code=records.next_code(session, city_code=p.city_code, day=day),
        name=named.name,
        city_code=p.city_code,
        district_code=p.place.district_code,
        edition=policy.edition,
        level=p.level,
        status=PROPOSED,
        rule=p.rule,
        reason=p.reason,
        case_nos=" ".join(p.case_nos),
        upgrade_of=p.upgrade_of,
        proposed_on=day,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    _apply_place(zone, named.place, named.name)
    records.record_event(
        zone,
        action="proposed",
        to_status=PROPOSED,
        to_level=p.level,
        actor=by,
        reason=p.reason,
        rule=p.rule,
        now=now,
    )
    session.add(zone)
    session.flush()
    _counts(session, zone)
    return zone


def _require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReasonRequired("a reason is required", field="reason")
    return text[:200]


def confirm(
    session: Session,
    *,
    code: str,
    scope: Jurisdiction,
    effective_at: datetime,
    now: datetime,
    by: str,
    reason: str | None = None,
) -> RiskZone:
    """The proposal is in force from ``effective_at`` (its local day)."""
    zone = records.get_zone(session, code=code, scope=scope)
    day = records.local_day(effective_at)
    records.record_event(
        zone,
        action="confirmed",
        to_status=ZoneStatusCode.in_force.value,
        to_level=zone.level,
        actor=by,
        reason=(reason or "").strip()[:200] or "指挥部确认",
        rule=zone.rule,
        now=now,
    )
    zone.effective_at = effective_at
    records.start_period(zone, level=zone.level, day=day, rule=zone.rule, downgraded=False)
    if zone.upgrade_of:
        _end_upgraded(session, zone, day=day, now=now, by=by)
    _counts(session, zone)
    session.flush()
    return zone


def _end_upgraded(session: Session, zone: RiskZone, *, day: date, now: datetime, by: str) -> None:
    """A milder zone over exactly this place ends where the severer one begins."""
    older = records.find_zone(session, zone.upgrade_of or "")
    if older is None or older.status not in ("in_force", "downgraded"):
        return
    if {(u.kind, u.ref) for u in older.units} != {(u.kind, u.ref) for u in zone.units}:
        return  # a compound sealed inside a controlled community: both stand
    records.end_period(older, day=day)
    older.lifted_at = now
    records.record_event(
        older,
        action="upgraded",
        to_status=ZoneStatusCode.lifted.value,
        to_level=older.level,
        actor=by,
        reason=f"升级为{zone.code}",
        rule=zone.rule,
        now=now,
    )


def reject(
    session: Session, *, code: str, scope: Jurisdiction, reason: str | None, now: datetime, by: str
) -> RiskZone:
    zone = records.get_zone(session, code=code, scope=scope)
    text = _require_reason(reason)
    records.record_event(
        zone,
        action="rejected",
        to_status=ZoneStatusCode.rejected.value,
        to_level=zone.level,
        actor=by,
        reason=text,
        rule=zone.rule,
        now=now,
    )
    session.flush()
    return zone


def edit(
    session: Session,
    *,
    code: str,
    scope: Jurisdiction,
    reason: str | None,
    now: datetime,
    by: str,
    policy: Policy,
    level: str | None = None,
    name: str | None = None,
    units: list[tuple[str, str]] | None = None,
    geometry: str | dict[str, object] | None = None,
) -> RiskZone:
    """Change a zone: its level (a proposal only, within the edition), name, extent (a
    proposal only) or boundary polygon. A reason is required."""
    zone = records.get_zone(session, code=code, scope=scope)
    text = _require_reason(reason)
    if zone.status not in (PROPOSED, "in_force", "downgraded"):
        raise Conflict(f"zone {code} is {zone.status}: it cannot be edited", zone=code)
    if (level is not None or units is not None) and zone.status != PROPOSED:
        raise Conflict(
            "the level and extent of a zone in force change by lifting or a new proposal",
            zone=code,
        )
    if level is not None and level not in policy.zones.levels:
        raise InvalidInput(
            f"level {level!r} is not one of the edition's: {', '.join(policy.zones.levels)}",
            field="level",
        )
    if units is not None:
        if not units:
            raise InvalidInput("a zone needs at least one unit", field="units")
        named = [places.describe(session, kind, ref) for kind, ref in units]
        if any(n.place.kind not in EXTENT_KINDS for n in named):
            raise InvalidInput("unknown unit kind", field="units")
        districts = {n.place.district_code for n in named}
        if len(districts) != 1:
            raise InvalidInput("a zone's units lie in one district", field="units")
        zone.units.clear()
        session.flush()
        for n in named:
            zone.units.append(RiskZoneUnit(kind=n.place.kind, ref=n.place.ref, name=n.name))
        first = named[0].place
        zone.district_code = first.district_code
        streets = {n.place.street_code for n in named}
        zone.street_code = streets.pop() if len(streets) == 1 else None
        comms = {n.place.community_id for n in named}
        zone.community_id = comms.pop() if len(comms) == 1 else None
        if not covers(scope, zone):
            raise InvalidInput("the new extent lies outside your jurisdiction", field="units")
    if geometry is not None:
        zone.geometry = geo.normalised(geometry) if geometry != "" else None
    if name is not None and name.strip():
        zone.name = name.strip()[:128]
    records.record_event(
        zone,
        action="edited",
        to_status=zone.status,
        to_level=level or zone.level,
        actor=by,
        reason=text,
        rule=zone.rule,
        now=now,
    )
    _counts(session, zone)
    session.flush()
    return zone


def record_screening(
    session: Session,
    *,
    code: str,
    scope: Jurisdiction,
    day: date,
    round_code: str,
    sampled: int,
    positives: int,
    now: datetime,
    by: str,
) -> ZoneScreening:
    """A screening round of the zone on ``day`` (what lifting waits for)."""
    zone = records.get_zone(session, code=code, scope=scope)
    if sampled < 0 or positives < 0 or positives > sampled:
        raise InvalidInput("0 ≤ positives ≤ sampled", field="positives")
    if zone.status not in ("in_force", "downgraded"):
        raise Conflict(f"zone {code} is not in force", zone=code)
    row = ZoneScreening(
        zone_id=zone.id,
        day=day,
        round_code=round_code,
        sampled=sampled,
        positives=positives,
        recorded_by=by,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def screenings_of(session: Session, zone_ids: list[int]) -> dict[int, list[ZoneScreening]]:
    out: dict[int, list[ZoneScreening]] = defaultdict(list)
    for row in records.screenings(session, zone_ids):
        out[row.zone_id].append(row)
    return out
