"""What the tracing pages show beyond contacts: a cluster's cases with their contact counts,
and who was at a venue with a positive. Reading only; the routes are in ``pages.py``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ibis.backends import BaseBackend
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.cases import service as cases_service
from fangkong.people import service as people_service
from fangkong.people import venues as people_venues
from fangkong.people.masking import mask_name, mask_phone
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.tracing import query
from fangkong.tracing.models import Contact
from fangkong.tracing.rules import ContactStatus, Degree
from fangkong.tracing.schemas import VisitRead
from fangkong.tracing.service import degree_counts, window_of

if TYPE_CHECKING:
    from fangkong.cases.models import Case


@dataclass(frozen=True)
class CaseBrief:
    """A case as a node of a cluster graph: what it is and how many contacts it has."""

    case_no: str
    classification: str
    district_name: str
    reported_on: date
    onset_on: date | None
    contacts: dict[str, int]


def case_briefs(
    session: Session, *, case_nos: Sequence[str], scope: Jurisdiction
) -> dict[str, CaseBrief]:
    """The given cases of ``scope`` (others left out) with their contact counts by degree."""
    found: dict[str, CaseBrief] = {}
    cases = cases_service.cases_by_no(session, case_nos, scope=scope)
    counts = degree_counts(session, [c.id for c in cases])
    for c in cases:
        found[c.case_no] = CaseBrief(
            case_no=c.case_no,
            classification=c.classification,
            district_name=regions.registry().districts[c.district_code].name,
            reported_on=c.reported_on,
            onset_on=c.onset_on,
            contacts={d.value: counts.get((c.id, d.value), 0) for d in Degree},
        )
    return found


@dataclass(frozen=True)
class CoPresence:
    """A person at the venue together with a positive: one overlap, masked."""

    person_no: str
    name: str | None
    phone: str | None
    degree: Degree
    status: ContactStatus
    overlap_start: datetime
    overlap_end: datetime
    minutes: float


@dataclass(frozen=True)
class PositiveAtVenue:
    case_no: str
    classification: str
    visits: list[VisitRead]
    persons: list[CoPresence]


def venue_exposures(
    session: Session,
    *,
    venue_code: str,
    con: BaseBackend,
    lake: Path,
    policy: Policy,
    scope: Jurisdiction,
) -> list[PositiveAtVenue]:
    """Who was at a venue (inside ``scope``, ``NotFound`` otherwise) with a positive: the
    traced cases of ``scope`` with a co-presence reason there, their own visits there, and
    each co-present person with the overlap (masked)."""
    people_venues.get_venue(session, venue_code=venue_code, scope=scope)
    # Reasons are stored as JSON with sorted keys: a substring match narrows the rows,
    # the parsed reasons decide.
    needle = json.dumps({"venue_code": venue_code}, ensure_ascii=False)[1:-1]
    contacts = session.scalars(
        select(Contact).where(Contact.reasons.contains(needle, autoescape=True))
    ).all()
    of_case = {
        c.id: c
        for c in cases_service.cases_by_id(session, {c.case_id for c in contacts}, scope=scope)
    }
    people = people_service.persons_by_id(session, {c.person_id for c in contacts})
    rows = sorted(
        ((of_case[c.case_id], c, people[c.person_id]) for c in contacts if c.case_id in of_case),
        key=lambda r: (r[0].reported_on, r[0].case_no, r[2].person_no),
    )
    cases: dict[str, Case] = {}
    persons: dict[str, list[CoPresence]] = defaultdict(list)
    for case, contact, person in rows:
        for r in json.loads(contact.reasons):
            if r.get("kind") != "venue" or r.get("venue_code") != venue_code:
                continue
            cases[case.case_no] = case
            start = datetime.fromisoformat(r["overlap_start"])
            end = datetime.fromisoformat(r["overlap_end"])
            persons[case.case_no].append(
                CoPresence(
                    person_no=person.person_no,
                    name=mask_name(person.name),
                    phone=mask_phone(person.phone),
                    degree=Degree(contact.degree),
                    status=ContactStatus(contact.status),
                    overlap_start=start,
                    overlap_end=end,
                    minutes=float(r.get("minutes", (end - start).total_seconds() / 60)),
                )
            )
    owners = people_service.persons_by_id(
        session, [c.person_id for c in cases.values() if c.person_id is not None]
    )
    windows = []
    for case in cases.values():
        owner = owners.get(case.person_id) if case.person_id is not None else None
        if owner is not None:
            w = window_of(case, policy)
            windows.append(query.CaseWindow(case.case_no, owner.person_no, w.start, w.end))
    timelines = query.timeline(con, lake, windows) if windows else {}
    venue = people_venues.venues_by_code(session, [venue_code]).get(venue_code)
    result = []
    for case_no, case in cases.items():
        visits = [
            VisitRead(
                venue_code=v.venue_code,
                venue_name=venue.name if venue else None,
                category=venue.category if venue else None,
                entered_at=v.entered_at,
                left_at=v.left_at,
            )
            for v in timelines.get(case_no, [])
            if v.venue_code == venue_code
        ]
        found = sorted(persons[case_no], key=lambda p: (p.overlap_start, p.person_no))
        result.append(PositiveAtVenue(case_no, case.classification, visits, found))
    return result


# ---------------------------------------------------------------- one person's record


def reason_words(reason: dict[str, object]) -> str:
    """A contact's reason in a few words (the contacts page says it in full)."""
    kind = reason.get("kind")
    if kind == "household":
        return f"同住（户号 {reason.get('household_no', '—')}）"
    if kind == "workplace_unit":
        return f"同单位同部门（单位 {reason.get('workplace_no', '—')}）"
    if kind == "venue":
        return f"场所共同暴露（场所码 {reason.get('venue_code', '—')}）"
    if kind == "secondary":
        return f"次密接（经 {reason.get('via', '—')}）"
    return str(kind or "")


@dataclass(frozen=True)
class PersonContact:
    """A contact edge of one person's record: the case and the contact (masked), the degree,
    the status and the first reason kind (the page words them)."""

    case_no: str
    person_no: str
    name: str | None
    degree: str
    status: str
    reason: str  # the first reason, in a few words


def person_contacts(
    session: Session, *, person_id: int, case_ids: Sequence[int], scope: Jurisdiction
) -> tuple[list[PersonContact], list[PersonContact]]:
    """The person's contacts as a case (of ``case_ids``, their own cases) and the cases
    they are a contact of, inside ``scope`` (a case outside it is left out), strongest first."""
    rank = {d.value: i for i, d in enumerate((Degree.close, Degree.secondary, Degree.general))}
    as_case = list(session.scalars(select(Contact).where(Contact.case_id.in_(list(case_ids)))))
    as_contact = list(session.scalars(select(Contact).where(Contact.person_id == person_id)))
    visible = {
        c.id: c.case_no
        for c in cases_service.cases_by_id(
            session, {c.case_id for c in (*as_case, *as_contact)}, scope=scope
        )
    }
    persons = people_service.persons_by_id(session, {c.person_id for c in as_case} | {person_id})

    def line(c: Contact) -> PersonContact:
        reasons = json.loads(c.reasons)
        person = persons[c.person_id]
        return PersonContact(
            case_no=visible[c.case_id],
            person_no=person.person_no,
            name=mask_name(person.name),
            degree=c.degree,
            status=c.status,
            reason=reason_words(reasons[0]) if reasons else "",
        )

    def ordered(rows: list[Contact]) -> list[PersonContact]:
        kept = [line(c) for c in rows if c.case_id in visible]
        return sorted(kept, key=lambda p: (rank.get(p.degree, 9), p.case_no, p.person_no))

    return ordered(as_case), ordered(as_contact)
