"""Lifting by rule: the facts of each zone in force gathered in a few set-based reads, the
pure verdict (``rules.evaluate``), and ``lift`` — which applies what the rules allow and
lists what they hold back, with the condition that blocks each.

Facts: the last positive found inside (a case whose home — or workplace, for a workplace
zone — lies in the zone's units, or a positive of the zone's screening round); the zone's
all-negative screening rounds; for the 2021 rules the quarantine orders of the close
contacts of its cases; for the county-wide level, the other zones of its county in force.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.cases import service as cases
from fangkong.policy import Policy
from fangkong.quarantine import service as quarantine
from fangkong.tracing import service as tracing
from fangkong.zones import places, records
from fangkong.zones.models import RiskZone, RiskZonePeriod, ZoneScreening
from fangkong.zones.rules import LiftVerdict, RoundFact, ZoneFacts, ZoneStatusCode, evaluate
from fangkong.zones.scope import covers


@dataclass(frozen=True)
class Evaluated:
    zone: RiskZone
    period: RiskZonePeriod
    verdict: LiftVerdict


@dataclass
class LiftRun:
    day: date
    applied: list[tuple[Evaluated, str]]  # with the level it left
    held: list[Evaluated]


def _city_scope(city_code: str) -> Jurisdiction:
    return Jurisdiction("city", city_code, city_code=city_code)


def _facts(
    session: Session, pairs: Sequence[tuple[RiskZone, RiskZonePeriod]], day: date, policy: Policy
) -> dict[int, ZoneFacts]:
    if not pairs:
        return {}
    by_unit: dict[tuple[str, str], list[int]] = defaultdict(list)
    for zone, _ in pairs:
        for u in zone.units:
            by_unit[(u.kind, u.ref)].append(zone.id)
    last: dict[int, date] = {}
    case_ids: dict[int, list[int]] = defaultdict(list)
    for city in sorted({z.city_code for z, _ in pairs}):
        since = min(p.starts_on for z, p in pairs if z.city_code == city)
        found = [
            c
            for c in cases.cases_in_scope(session, scope=_city_scope(city), since=since)
            if c.reported_on <= day and c.person_id is not None
        ]
        person_ids = [c.person_id for c in found if c.person_id is not None]
        homes = {a[0]: a for a in places.addresses(session, person_ids)}
        works = places.workplace_of(session, person_ids)
        for case in found:
            assert case.person_id is not None
            home = homes.get(case.person_id)
            keys: list[tuple[str, str]] = []
            if home is not None:
                _, district, street, community, compound, building = home
                keys += [("district", district or ""), ("street", street or "")]
                keys += [("community", str(community)), ("compound", str(compound))]
                keys += [("building", str(building))]
            if case.person_id in works:
                keys.append(("workplace", works[case.person_id]))
            for zid in {z for k in keys for z in by_unit.get(k, ())}:
                case_ids[zid].append(case.id)
                if zid not in last or case.reported_on > last[zid]:
                    last[zid] = case.reported_on
    rounds = _screenings(session, [z.id for z, _ in pairs])
    out: dict[int, ZoneFacts] = {}
    for zone, period in pairs:
        zone_rounds = [r for r in rounds.get(zone.id, []) if r.day <= day]
        positive_days = [r.day for r in zone_rounds if r.positives > 0]
        last_positive = max(
            [*positive_days, *([last[zone.id]] if zone.id in last else [])], default=None
        )
        lift = policy.zones.lifting.get(period.level)
        open_, last_end = 0, None
        if lift is not None and lift.contacts_released and case_ids.get(zone.id):
            contacts = tracing.close_contact_ids(session, case_ids=case_ids[zone.id])
            state = quarantine.contact_orders_state(
                session, contact_ids=[c for ids in contacts.values() for c in ids]
            )
            open_, last_end = state.running, state.last_end
        county = 0
        if period.level == policy.zones.county:
            county = records.county_zones(
                session,
                district_code=zone.district_code,
                day=day,
                levels=policy.zones.levels[:-1],
            )
        out[zone.id] = ZoneFacts(
            level=period.level,
            level_since=period.starts_on,
            downgraded=period.downgraded,
            last_positive=last_positive,
            rounds=tuple(RoundFact(r.day, r.positives == 0) for r in zone_rounds),
            contacts_open=open_,
            contacts_last_end=last_end,
            county_in_force=county,
        )
    return out


def _screenings(session: Session, zone_ids: list[int]) -> dict[int, list[ZoneScreening]]:
    out: dict[int, list[ZoneScreening]] = defaultdict(list)
    for row in records.screenings(session, zone_ids):
        out[row.zone_id].append(row)
    return out


def evaluate_zones(
    session: Session,
    *,
    day: date,
    policy: Policy,
    scope: Jurisdiction,
    codes: Sequence[str] | None = None,
) -> list[Evaluated]:
    """The verdict of every zone in force on ``day`` inside ``scope`` (or of ``codes``)."""
    city = scope.city_code if scope.is_area else None
    pairs = [
        (z, p)
        for z, p in records.in_force_on(session, day=day, city_code=city)
        if covers(scope, z) and (codes is None or z.code in codes)
    ]
    facts = _facts(session, pairs, day, policy)
    return [
        Evaluated(z, p, evaluate(facts[z.id], day, policy.zones, z.edition or policy.edition))
        for z, p in pairs
    ]


def evaluate_zone(
    session: Session, *, code: str, day: date, policy: Policy, scope: Jurisdiction
) -> Evaluated | None:
    """One zone's verdict on ``day``; None when it is not in force that day."""
    found = evaluate_zones(session, day=day, policy=policy, scope=scope, codes=[code])
    return found[0] if found else None


def _apply(e: Evaluated, *, day: date, now: datetime, by: str) -> str:
    zone, verdict = e.zone, e.verdict
    left = zone.level
    if verdict.then is not None:
        records.start_period(zone, level=verdict.then, day=day, rule=verdict.rule, downgraded=True)
        action, status, level = "downgraded", ZoneStatusCode.downgraded.value, verdict.then
    else:
        records.end_period(zone, day=day)
        zone.lifted_at = now
        action, status, level = "lifted", ZoneStatusCode.lifted.value, zone.level
    met = "；".join(c.detail for c in verdict.conditions)
    records.record_event(
        zone,
        action=action,
        to_status=status,
        to_level=level,
        actor=by,
        reason=met[:200],
        rule=verdict.rule,
        now=now,
    )
    return left


def lift(
    session: Session, *, day: date, policy: Policy, scope: Jurisdiction, now: datetime, by: str
) -> LiftRun:
    """Apply what the rules allow on ``day``; list what they hold back. The county-wide
    zones are judged after the others, so a county whose last sealed zone lifts today
    lifts its precaution zone today too."""
    run = LiftRun(day, [], [])
    first = evaluate_zones(session, day=day, policy=policy, scope=scope)
    county = policy.zones.county
    for e in first:
        if e.period.level == county:
            continue
        if e.verdict.allowed:
            run.applied.append((e, _apply(e, day=day, now=now, by=by)))
        else:
            run.held.append(e)
    session.flush()
    counties = [e.zone.code for e in first if e.period.level == county]
    if counties:
        for e in evaluate_zones(session, day=day, policy=policy, scope=scope, codes=counties):
            if e.verdict.allowed:
                run.applied.append((e, _apply(e, day=day, now=now, by=by)))
            else:
                run.held.append(e)
    session.flush()
    return run
