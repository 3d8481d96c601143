"""Contact tracing: trace cases against the lake, store contacts, link chains, find clusters.

Functions take a ``Session`` and keyword arguments and never commit. A run is
incremental: it adds contacts and reasons and upgrades degrees, and removes or downgrades
only contacts nobody has acted on yet (status ``new``).
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ibis.backends import BaseBackend
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.cases import service as cases_service
from fangkong.cases.schemas import CaseUpdate
from fangkong.clock import chinese_day
from fangkong.errors import FangkongError, NotFound
from fangkong.lake import engine as lake_engine
from fangkong.lake.layout import lake_root
from fangkong.people import service as people_service
from fangkong.people import venues as people_venues
from fangkong.people.access import person_scope
from fangkong.people.joins import Person
from fangkong.people.masking import mask_id_number, mask_name, mask_phone
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.storage import bulk
from fangkong.tabular import SafeWriter
from fangkong.tracing import query, rules
from fangkong.tracing.models import Contact
from fangkong.tracing.rules import ContactStatus, Degree, Finding, Membership, Reason
from fangkong.tracing.schemas import (
    CaseTraceRead,
    ChainLinkRead,
    ClusterEdge,
    ClusterRead,
    ContactRead,
    TraceReport,
    VisitRead,
)

if TYPE_CHECKING:
    from fangkong.cases.models import Case

NOT_TRACEABLE = "not traceable: no registry person"


@dataclass(frozen=True)
class Lake:
    """An engine connection and the lake it reads."""

    con: BaseBackend
    root: Path


def open_lake(*, home: Path, engine: str, spark_master: str = "local[*]") -> Lake:
    return Lake(lake_engine.connect(engine, spark_master=spark_master), lake_root(home))


_SHARED: dict[tuple[Path, str, str], tuple[Lake, threading.Lock]] = {}
_SHARED_GUARD = threading.Lock()


@contextmanager
def shared_lake(*, home: Path, engine: str, spark_master: str = "local[*]") -> Iterator[Lake]:
    """The process's one connection to a lake, held by one request at a time.

    A connection keeps the lake files' footers and its registered tables between traces
    (``lake/engine.py``, ``lake/scans.py``): a server that opened one per request would pay
    the first trace's cost on every request. An engine connection is not safe to share
    between threads, and a trace already uses every core, so requests take turns."""
    key = (home.resolve(), engine, spark_master)
    with _SHARED_GUARD:
        if key not in _SHARED:
            _SHARED[key] = (
                open_lake(home=home, engine=engine, spark_master=spark_master),
                threading.Lock(),
            )
        lake, lock = _SHARED[key]
    with lock:
        yield lake


def window_of(case: Case, policy: Policy) -> rules.Window:
    return rules.lookback_window(
        onset_on=case.onset_on,
        sampled_on=case.sampled_on,
        reported_on=case.reported_on,
        policy=policy,
    )


# ---------------------------------------------------------------- tracing


def _memberships(session: Session, person_nos: Iterable[str]) -> dict[str, list[Membership]]:
    nos = set(person_nos)
    found: dict[str, list[Membership]] = defaultdict(list)
    for of, members in people_service.household_members(session, nos).items():
        found[of].extend(Membership(no, "household", household_no=h) for no, h in members)
    for of, units in people_service.unit_members(session, nos).items():
        found[of].extend(
            Membership(no, "workplace_unit", workplace_no=w, workplace_unit=u) for no, w, u in units
        )
    return found


def _reasons_json(reasons: Iterable[Reason]) -> str:
    items = sorted((r.as_dict() for r in reasons), key=lambda d: json.dumps(d, sort_keys=True))
    return json.dumps(items, ensure_ascii=False, sort_keys=True)


def _load_reasons(text: str) -> list[Reason]:
    return [Reason.from_dict(d) for d in json.loads(text)]


def _store(
    session: Session,
    case: Case,
    findings: dict[str, Finding],
    person_ids: dict[str, int],
    now: datetime,
) -> tuple[int, int, int]:
    """Writes the findings of one case; returns (added, changed, removed)."""
    existing = {
        c.person_id: c for c in session.scalars(select(Contact).where(Contact.case_id == case.id))
    }
    added = changed = removed = 0
    seen: set[int] = set()
    for person_no, f in sorted(findings.items()):
        pid = person_ids.get(person_no)
        if pid is None:
            continue  # scans of someone not in the registry: no record to link
        seen.add(pid)
        contact = existing.get(pid)
        if contact is None:
            session.add(
                Contact(
                    case_id=case.id,
                    person_id=pid,
                    degree=f.degree.value,
                    reasons=_reasons_json(f.reasons),
                    rule=f.rule,
                    status=ContactStatus.new.value,
                    first_found_at=now,
                    updated_at=now,
                )
            )
            added += 1
            continue
        before = (contact.degree, contact.rule, contact.reasons)
        if contact.status == ContactStatus.new:
            degree, rule, reasons = f.degree, f.rule, f.reasons
        else:
            # Someone acted on it: keep what it was, add what is new.
            old = Degree(contact.degree)
            degree = rules.stronger(old, f.degree)
            rule = contact.rule if degree == old else f.rule
            reasons = rules.merge_reasons(_load_reasons(contact.reasons), f.reasons)
        contact.degree, contact.rule = degree.value, rule
        contact.reasons = _reasons_json(reasons)
        if (contact.degree, contact.rule, contact.reasons) != before:
            contact.updated_at = now
            changed += 1
    for pid, contact in existing.items():
        if pid not in seen and contact.status == ContactStatus.new:
            session.delete(contact)
            removed += 1
    session.flush()
    return added, changed, removed


def _cases_of_persons(
    session: Session, person_ids: Iterable[int], scope: Jurisdiction
) -> dict[int, list[Case]]:
    found: dict[int, list[Case]] = defaultdict(list)
    for c in cases_service.cases_in_scope(session, scope=scope, person_ids=list(person_ids)):
        if c.person_id is not None:
            found[c.person_id].append(c)
    return found


def _order(case: Case) -> tuple[date, str]:
    return case.reported_on, case.case_no


def _link_chain(
    session: Session,
    *,
    pairs: dict[tuple[int, int], Degree],
    cases: dict[int, Case],
    now: datetime,
    scope: Jurisdiction,
) -> list[ChainLinkRead]:
    """A contact who is a case themselves: the later case gets the earlier as infector
    when it has none. Ordering by report makes the links acyclic."""
    links = []
    for (a, b), degree in sorted(pairs.items()):
        earlier, later = sorted((cases[a], cases[b]), key=_order)
        if later.infector_case_id is None:
            # outside the caller's reach: listed, not linked
            with contextlib.suppress(FangkongError):
                cases_service.update_case(
                    session,
                    case_no=later.case_no,
                    data=CaseUpdate(infector_case_no=earlier.case_no),
                    now=now,
                    scope=scope,
                )
        links.append(
            ChainLinkRead(
                infector_case_no=earlier.case_no,
                case_no=later.case_no,
                degree=degree,
                linked=later.infector_case_id == earlier.id,
            )
        )
    return links


def trace_cases(
    session: Session,
    *,
    case_nos: Sequence[str],
    con: BaseBackend,
    lake: Path,
    policy: Policy,
    now: datetime,
    scope: Jurisdiction,
) -> TraceReport:
    """Trace the given cases (each must lie inside ``scope``) and store their contacts."""
    cases = [
        cases_service.get_case(session, case_no=no, scope=scope) for no in dict.fromkeys(case_nos)
    ]
    persons = people_service.persons_by_id(
        session, [c.person_id for c in cases if c.person_id is not None]
    )
    reads: dict[str, CaseTraceRead] = {}
    windows: list[query.CaseWindow] = []
    for case in cases:
        person = persons.get(case.person_id) if case.person_id is not None else None
        if person is None:
            reads[case.case_no] = CaseTraceRead(
                case_no=case.case_no, traceable=False, note=NOT_TRACEABLE
            )
            continue
        window = window_of(case, policy)
        windows.append(query.CaseWindow(case.case_no, person.person_no, window.start, window.end))
        reads[case.case_no] = CaseTraceRead(
            case_no=case.case_no,
            traceable=True,
            note=f"window from {window.anchor} {window.anchor_day.isoformat()}",
            window_start=window.start,
            window_end=window.end,
            window_rule=str(policy.rule("tracing.lookback_days")),
        )
    exposures = query.exposures(con, lake, windows)
    venue_codes = {e.venue_code for found in exposures.values() for e in found}
    categories = {
        code: v.category for code, v in people_venues.venues_by_code(session, venue_codes).items()
    }
    members = _memberships(session, [w.person_id for w in windows])
    findings = {
        w.case_no: rules.direct_contacts(
            case_person=w.person_id,
            exposures=exposures[w.case_no],
            members=members.get(w.person_id, ()),
            categories=categories,
            policy=policy,
        )
        for w in windows
    }
    if policy.tracing.identify_secondary:
        closes = set().union(*(rules.close_ids(f) for f in findings.values()))
        members_of = _memberships(session, closes)
        for w in windows:
            rules.with_secondary(
                findings[w.case_no],
                case_person=w.person_id,
                members_of=members_of,
                policy=policy,
            )
    registry = people_service.persons_by_no(
        session, {p for found in findings.values() for p in found}
    )
    person_ids = {no: p.id for no, p in registry.items()}
    by_no = {c.case_no: c for c in cases}
    for case_no, found in findings.items():
        read = reads[case_no]
        read.added, read.changed, read.removed = _store(
            session, by_no[case_no], found, person_ids, now
        )
    counts = degree_counts(session, [c.id for c in cases])
    totals = {d.value: 0 for d in Degree}
    for case in cases:
        read = reads[case.case_no]
        for d in Degree:
            n = counts.get((case.id, d.value), 0)
            setattr(read, d.value, n)
            totals[d.value] += n
    # Transmission chain: stored contacts who are registered cases themselves.
    pairs: dict[tuple[int, int], Degree] = {}
    known: dict[int, Case] = {c.id: c for c in cases}
    contacts = session.execute(
        select(Contact.case_id, Contact.person_id, Contact.degree).where(
            Contact.case_id.in_([c.id for c in cases])
        )
    ).all()
    positives = _cases_of_persons(session, [pid for _, pid, _ in contacts], scope)
    for case_id, pid, degree in contacts:
        for other in positives.get(pid, ()):
            if other.id == case_id:
                continue
            known[other.id] = other
            key = (min(case_id, other.id), max(case_id, other.id))
            pairs[key] = rules.stronger(pairs.get(key, Degree.general), Degree(degree))
    chain = _link_chain(session, pairs=pairs, cases=known, now=now, scope=scope)
    return TraceReport(cases=[reads[c.case_no] for c in cases], totals=totals, chain=chain)


def degree_counts(session: Session, case_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(Contact.case_id, Contact.degree, func.count(Contact.id))
        .where(Contact.case_id.in_(case_ids))
        .group_by(Contact.case_id, Contact.degree)
    )
    return {(case_id, degree): int(n) for case_id, degree, n in rows}


def trace_day(
    session: Session,
    *,
    day: date,
    con: BaseBackend,
    lake: Path,
    policy: Policy,
    now: datetime,
    scope: Jurisdiction,
) -> TraceReport:
    """Trace every case of ``scope`` reported on ``day``."""
    case_nos = [
        c.case_no for c in cases_service.cases_in_scope(session, scope=scope, reported_on=day)
    ]
    return trace_cases(
        session, case_nos=case_nos, con=con, lake=lake, policy=policy, now=now, scope=scope
    )


# ---------------------------------------------------------------- reading


def contacts_of(
    session: Session, *, case_no: str, scope: Jurisdiction
) -> list[tuple[Contact, Person]]:
    """The contacts of a case inside ``scope`` (``NotFound`` otherwise), strongest first."""
    case = cases_service.get_case(session, case_no=case_no, scope=scope)
    contacts = list(session.scalars(select(Contact).where(Contact.case_id == case.id)))
    persons = people_service.persons_by_id(session, (c.person_id for c in contacts))
    pairs = [(c, persons[c.person_id]) for c in contacts]
    pairs.sort(key=lambda cp: (-rules.RANK[Degree(cp[0].degree)], cp[1].person_no))
    return pairs


def contact_read(contact: Contact, person: Person) -> ContactRead:
    """Always masked: a list of contacts is a list of people."""
    return ContactRead(
        person_no=person.person_no,
        name=mask_name(person.name),
        id_number=mask_id_number(person.id_number),
        phone=mask_phone(person.phone),
        degree=Degree(contact.degree),
        status=ContactStatus(contact.status),
        rule=contact.rule,
        reasons=json.loads(contact.reasons),
        first_found_at=contact.first_found_at,
        updated_at=contact.updated_at,
    )


def set_status(
    session: Session,
    *,
    case_no: str,
    person_no: str,
    status: ContactStatus,
    now: datetime,
    scope: Jurisdiction,
) -> Contact:
    """Records that someone acted on a contact (notified, controlled)."""
    for contact, person in contacts_of(session, case_no=case_no, scope=scope):
        if person.person_no == person_no:
            if contact.status != status:
                contact.status, contact.updated_at = status.value, now
                session.flush()
            return contact
    raise NotFound(f"{person_no!r} is no contact of {case_no!r}", case_no=case_no)


def visits_of(
    session: Session,
    *,
    case_no: str,
    con: BaseBackend,
    lake: Path,
    policy: Policy,
    scope: Jurisdiction,
) -> list[VisitRead]:
    """The case's own visits inside its look-back window (empty without a registry person)."""
    case = cases_service.get_case(session, case_no=case_no, scope=scope)
    if case.person_id is None:
        return []
    person_no = people_service.person_no_of(session, person_id=case.person_id)
    if person_no is None:
        return []
    w = window_of(case, policy)
    found = query.timeline(con, lake, [query.CaseWindow(case_no, person_no, w.start, w.end)])
    visits = found[case_no]
    venues = people_venues.venues_by_code(session, {v.venue_code for v in visits})
    return [
        VisitRead(
            venue_code=v.venue_code,
            venue_name=venues[v.venue_code].name if v.venue_code in venues else None,
            category=venues[v.venue_code].category if v.venue_code in venues else None,
            entered_at=v.entered_at,
            left_at=v.left_at,
            left_at_inferred=v.left_at_inferred,
        )
        for v in visits
    ]


EXPORT_COLUMNS = (
    "case_no",
    "person_id",
    "degree",
    "status",
    "reason",
    "rule",
    "venue_code",
    "overlap_start",
    "overlap_end",
    "minutes",
    "household_no",
    "workplace_no",
    "workplace_unit",
    "via",
)


def export_csv(session: Session, *, scope: Jurisdiction) -> tuple[str, int]:
    """Contacts of the cases of ``scope``, one row per reason (no names or ID numbers:
    ``person_id`` is the registry number, as in the lake)."""
    case_nos = {c.id: c.case_no for c in cases_service.cases_in_scope(session, scope=scope)}
    contacts = [
        contact
        for batch in bulk.chunks(case_nos)
        for contact in session.scalars(select(Contact).where(Contact.case_id.in_(batch)))
    ]
    person_nos = {
        pid: p.person_no
        for pid, p in people_service.persons_by_id(session, (c.person_id for c in contacts)).items()
    }
    rows = sorted(
        ((case_nos[c.case_id], person_nos[c.person_id], c) for c in contacts),
        key=lambda row: (row[0], row[1]),
    )
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(EXPORT_COLUMNS)
    n = 0
    for case_no, person_no, contact in rows:
        for reason in json.loads(contact.reasons):
            writer.writerow(
                [
                    case_no,
                    person_no,
                    contact.degree,
                    contact.status,
                    reason["kind"],
                    reason["rule"],
                    *(reason.get(c, "") for c in EXPORT_COLUMNS[6:]),
                ]
            )
            n += 1
    return out.getvalue(), n


# ---------------------------------------------------------------- clusters


class _Components:
    def __init__(self, items: Iterable[int]) -> None:
        self.parent = {i: i for i in items}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _first_day(case: Case) -> date:
    return min(d for d in (case.onset_on, case.sampled_on, case.reported_on) if d is not None)


def cluster_name(first: Case, first_day: date) -> str:
    district = regions.registry().districts[first.district_code].name
    return f"{district} {chinese_day(first_day)} 聚集性疫情 ({first.case_no})"


def clusters(
    session: Session, *, scope: Jurisdiction, since: date | None = None
) -> list[ClusterRead]:
    """Connected components (two cases or more) of the cases of ``scope`` through infector
    links, a close contact in common, or one being the other's contact."""
    cases = {c.id: c for c in cases_service.cases_in_scope(session, scope=scope, since=since)}
    by_person: dict[int, list[int]] = defaultdict(list)
    for c in cases.values():
        if c.person_id is not None:
            by_person[c.person_id].append(c.id)
    edges: dict[tuple[int, int], ClusterEdge] = {}

    def edge(a: int, b: int, kind: str, detail: str | None = None) -> None:
        key = (min(a, b), max(a, b))
        if a != b and key not in edges:
            edges[key] = ClusterEdge(
                source=cases[a].case_no, target=cases[b].case_no, kind=kind, detail=detail
            )

    for c in cases.values():
        if c.infector_case_id in cases:
            edge(c.infector_case_id, c.id, "infector")
    shared: dict[int, list[int]] = defaultdict(list)
    for batch in bulk.chunks(sorted(cases)):
        for case_id, pid, degree, reasons in session.execute(
            select(Contact.case_id, Contact.person_id, Contact.degree, Contact.reasons).where(
                Contact.case_id.in_(batch)
            )
        ):
            for other in by_person.get(pid, ()):
                venue = any(r["kind"] == "venue" for r in json.loads(reasons))
                edge(case_id, other, "co_presence" if venue else "contact", degree)
            if degree == Degree.close:
                shared[pid].append(case_id)
    for ids in shared.values():
        for other in sorted(ids)[1:]:
            edge(min(ids), other, "shared_contact")
    parts = _Components(cases)
    for a, b in edges:
        parts.union(a, b)
    members: dict[int, list[Case]] = defaultdict(list)
    for c in cases.values():
        members[parts.find(c.id)].append(c)
    result = []
    for group in members.values():
        if len(group) < 2:
            continue
        group.sort(key=_order)
        first = group[0]
        day = min(_first_day(c) for c in group)
        in_group = {c.id for c in group}
        result.append(
            ClusterRead(
                name=cluster_name(first, day),
                first_case_no=first.case_no,
                first_day=day,
                district_name=regions.registry().districts[first.district_code].name,
                case_nos=[c.case_no for c in group],
                edges=[e for (a, _), e in sorted(edges.items()) if a in in_group],
            )
        )
    result.sort(key=lambda c: (c.first_day, c.first_case_no))
    return result


# ---------------------------------------------------------------- for other domains


@dataclass(frozen=True)
class ContactToControl:
    """A close or secondary contact not yet under control, with where the person lives."""

    contact_id: int
    degree: str
    case_id: int
    person_id: int
    person_no: str
    district_code: str | None
    street_code: str | None
    community_id: int | None


def contacts_to_control(
    session: Session, *, found_from: datetime, found_until: datetime, scope: Jurisdiction
) -> list[ContactToControl]:
    """Close and secondary contacts first found in [``found_from``, ``found_until``) who
    live inside ``scope`` and are not under control yet (quarantine orders them)."""
    rows = session.execute(
        select(
            Contact.id,
            Contact.degree,
            Contact.case_id,
            Person.id,
            Person.person_no,
            Person.district_code,
            Person.street_code,
            Person.community_id,
        )
        .join(Person, Person.id == Contact.person_id)
        .where(
            Contact.degree.in_((Degree.close.value, Degree.secondary.value)),
            Contact.status != ContactStatus.controlled.value,
            Contact.first_found_at >= found_from,
            Contact.first_found_at < found_until,
            person_scope(scope),
        )
        .order_by(Contact.person_id, Contact.degree, Contact.id)
    ).all()
    return [ContactToControl(*row) for row in rows]


def mark_controlled(session: Session, *, contact_ids: Sequence[int], now: datetime) -> None:
    """The contacts are under control now (their person has an order in force)."""
    for batch in bulk.chunks(contact_ids):
        session.execute(
            update(Contact)
            .where(Contact.id.in_(batch))
            .values(status=ContactStatus.controlled.value, updated_at=now)
            .execution_options(synchronize_session=False)  # no Contact is loaded here
        )


def is_controlled(session: Session, *, person_id: int) -> bool:
    """Whether the person is a contact already under control (of any case)."""
    found = session.scalar(
        select(Contact.id)
        .where(Contact.person_id == person_id, Contact.status == ContactStatus.controlled.value)
        .limit(1)
    )
    return found is not None


def contact_person_nos(
    session: Session, *, case_ids: Iterable[int], degrees: Sequence[str]
) -> set[str]:
    """The registry numbers of the persons who are contacts of ``degrees`` of these cases."""
    found: set[str] = set()
    for batch in bulk.chunks(sorted(set(case_ids))):
        found.update(
            session.scalars(
                select(Person.person_no)
                .join(Contact, Contact.person_id == Person.id)
                .where(Contact.case_id.in_(batch), Contact.degree.in_(degrees))
            )
        )
    return found


def contact_persons_by_district(session: Session, *, degrees: Sequence[str]) -> dict[str, int]:
    """District code → distinct persons who are contacts of ``degrees`` and live there (a
    quarantine site's size is planned from it)."""
    rows = session.execute(
        select(Person.district_code, func.count(func.distinct(Person.id)))
        .select_from(Contact)
        .join(Person, Person.id == Contact.person_id)
        .where(Contact.degree.in_(degrees), Person.district_code.is_not(None))
        .group_by(Person.district_code)
    )
    return {str(district): int(n) for district, n in rows}


@dataclass(frozen=True)
class ContactPlaces:
    """Where a case's close contacts were found: venue codes and workplace numbers."""

    venues: frozenset[str]
    workplaces: frozenset[str]


def contact_places(session: Session, *, case_ids: Iterable[int]) -> dict[int, ContactPlaces]:
    """Case id → the venues and workplaces of its window where tracing found close
    contacts (zones draws them as controlled areas)."""
    venues: dict[int, set[str]] = defaultdict(set)
    workplaces: dict[int, set[str]] = defaultdict(set)
    for batch in bulk.chunks(sorted(set(case_ids))):
        rows = session.execute(
            select(Contact.case_id, Contact.reasons).where(
                Contact.case_id.in_(batch), Contact.degree == Degree.close.value
            )
        )
        for case_id, text in rows:
            for reason in _load_reasons(text):
                if reason.venue_code:
                    venues[case_id].add(reason.venue_code)
                if reason.workplace_no:
                    workplaces[case_id].add(reason.workplace_no)
    return {
        cid: ContactPlaces(frozenset(venues.get(cid, ())), frozenset(workplaces.get(cid, ())))
        for cid in set(venues) | set(workplaces)
    }


def close_contact_ids(session: Session, *, case_ids: Iterable[int]) -> dict[int, list[int]]:
    """Case id → the ids of its close contacts."""
    found: dict[int, list[int]] = defaultdict(list)
    for batch in bulk.chunks(sorted(set(case_ids))):
        rows = session.execute(
            select(Contact.case_id, Contact.id).where(
                Contact.case_id.in_(batch), Contact.degree == Degree.close.value
            )
        )
        for case_id, contact_id in rows:
            found[case_id].append(contact_id)
    return dict(found)
