"""Applying a round's lab results to the registry: recall tasks for the members of positive
pools, a case for every positive single tube (and its tracing), the round's figures.

The lake computes who is in which state (``testing/outcome.py``); this module makes the
people acted on: re-running it after more results adds what is new, and never lowers what a
community already did (a recall re-sampled stays re-sampled until its result).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from ibis.backends import BaseBackend
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.cases import service as cases_service
from fangkong.cases.models import Case
from fangkong.cases.schemas import CaseCreate
from fangkong.cases.vocab import Classification, FoundVia
from fangkong.clock import LOCAL_TZ
from fangkong.people.models import Person
from fangkong.policy import Policy
from fangkong.quarantine import conversion, site_tests
from fangkong.testing import outcome as lake_outcome
from fangkong.testing.models import Recall, RoundExemption, TestingRound
from fangkong.testing.service import due_path, exemptions_table
from fangkong.tracing import service as tracing_service
from fangkong.tracing.models import Contact

# Recall statuses: pending → resampled (the community re-swabbed the person) → cleared or
# positive (from the single tube's result, when the round is applied again).
RECALL_STATUSES = ("pending", "resampled", "cleared", "positive")
SETTLED = ("cleared", "positive")
PERSON_BATCH = 10_000


@dataclass
class ApplyReport:
    round_code: str
    figures: dict[str, Any]
    recalls_added: int = 0
    recalls_settled: int = 0
    cases: list[str] = field(default_factory=list)
    already_cases: list[str] = field(default_factory=list)
    traced: bool = False
    tests_synced: int = 0  # quarantine tests whose state changed (a site's round)


def apply(
    session: Session,
    round_: TestingRound,
    *,
    lake: Path,
    policy: Policy,
    now: datetime,
    scope: Jurisdiction,
    con: BaseBackend | None = None,
) -> ApplyReport:
    """Compute the round's outcome from the lake and act on it (see the module's doc).
    With an engine connection ``con`` the new cases are traced at once."""
    result = lake_outcome.apply_round(
        lake,
        round_.code,
        due_path(lake, round_.code),
        exemptions_table(session, round_),
        fixed_size=round_.pool_size,
    )
    figures = _figures(result)
    round_.outcome = json.dumps(figures, ensure_ascii=False)
    round_.applied_at = now
    round_.updated_at = now
    report = ApplyReport(round_.code, figures)
    states = lake_outcome.read_status(lake, round_.code, states=("cleared", "positive"))
    settled = dict(zip(states["person_id"].to_pylist(), states["state"].to_pylist(), strict=True))
    report.recalls_settled = _settle(session, round_, settled, now)
    due_by = now + timedelta(hours=policy.testing.recall_hours)
    recall = lake_outcome.read_recall(lake, round_.code)
    report.recalls_added = _recall(session, round_, recall, now, due_by)
    positives = lake_outcome.read_positives(lake, round_.code)
    if round_.kind == "quarantine":
        # A site holds people from all over the city: a positive there is the city's case
        # wherever they live, whoever applies the site's round.
        scope = bind("city", round_.city_code)
    report.cases, report.already_cases = _cases(session, round_, positives, now=now, scope=scope)
    if round_.kind == "quarantine":  # a site's day: its tests take their people's states
        report.tests_synced = site_tests.sync_round(session, round_, lake, now)
    session.flush()
    if report.cases and con is not None:
        tracing_service.trace_cases(
            session,
            case_nos=report.cases,
            con=con,
            lake=lake,
            policy=policy,
            now=now,
            scope=scope,
        )
        report.traced = True
    return report


def _figures(result: lake_outcome.RoundOutcome) -> dict[str, Any]:
    return {
        "counts": asdict(result.counts),
        "persons_sampled": result.persons_sampled,
        "tubes_first_stage": result.tubes_first_stage,
        "tubes_retest": result.tubes_retest,
        "tubes_resulted": result.tubes_resulted,
        "tests_per_person": round(result.tests_per_person, 4),
        "positivity": result.positivity,
        "fixed_size": result.fixed_size,
        "fixed_tests_per_person": round(result.fixed_tests_per_person, 4),
        "entropy_floor": round(result.entropy_floor, 4),
        "seconds": result.seconds,
    }


def _persons(session: Session, person_nos: Iterable[str]) -> dict[str, Person]:
    wanted = sorted(set(person_nos))
    found: dict[str, Person] = {}
    for i in range(0, len(wanted), PERSON_BATCH):
        batch = wanted[i : i + PERSON_BATCH]
        found.update(
            (p.person_no, p)
            for p in session.scalars(select(Person).where(Person.person_no.in_(batch)))
        )
    return found


def _recall(
    session: Session, round_: TestingRound, recall: pa.Table, now: datetime, due_by: datetime
) -> int:
    """A recall task for every pool-positive person of the registry not yet listed."""
    rows = recall.to_pylist()
    persons = _persons(session, (r["person_id"] for r in rows))
    listed = set(session.scalars(select(Recall.person_id).where(Recall.round_id == round_.id)))
    added = 0
    for row in rows:
        person = persons.get(row["person_id"])
        if person is None or person.id in listed:
            continue  # sampled without being in the registry: the list still shows them
        session.add(
            Recall(
                round_id=round_.id,
                person_id=person.id,
                tube_barcode=row["tube_barcode"],
                sampled_at=_aware(row["sampled_at"]),
                district_code=person.district_code,
                street_code=person.street_code,
                community_id=person.community_id,
                status="pending",
                due_by=due_by,
                created_at=now,
                updated_at=now,
            )
        )
        added += 1
    return added


def _settle(session: Session, round_: TestingRound, settled: dict[str, str], now: datetime) -> int:
    """Recalls whose person is now cleared (a later single tube negative) or positive."""
    open_ = session.execute(
        select(Recall, Person.person_no)
        .join(Person, Person.id == Recall.person_id)
        .where(Recall.round_id == round_.id, Recall.status.not_in(SETTLED))
    ).all()
    count = 0
    for recall, person_no in open_:
        state = settled.get(person_no)
        if state is not None:
            recall.status, recall.updated_at = state, now
            count += 1
    return count


def _found_via(session: Session, round_: TestingRound, person: Person) -> FoundVia:
    """Where the positive was found: where the person's order in force keeps them (site,
    home isolation, home monitoring); else under quarantine when the person is exempt for
    it or is a contact already controlled; otherwise by the screening of the community."""
    under_order = conversion.found_via_for(session, person.id)
    if under_order is not None:
        return under_order
    reason = session.scalar(
        select(RoundExemption.reason).where(
            RoundExemption.round_id == round_.id, RoundExemption.person_id == person.id
        )
    )
    controlled = session.scalar(
        select(Contact.id).where(Contact.person_id == person.id, Contact.status == "controlled")
    )
    if reason == "quarantine" or controlled is not None:
        return FoundVia.quarantine_site
    return FoundVia.community_screening


def _case_no(round_: TestingRound, seq: int) -> str:
    return f"{round_.code[:24]}-{seq:04d}"


def _cases(
    session: Session,
    round_: TestingRound,
    positives: pa.Table,
    *,
    now: datetime,
    scope: Jurisdiction,
) -> tuple[list[str], list[str]]:
    """A case (asymptomatic until a clinician says otherwise) for each person with a
    positive single tube who is not a case yet; exactly once however often it runs."""
    rows = sorted(positives.to_pylist(), key=lambda r: (r["resulted_at"], r["person_id"]))
    persons = _persons(session, (r["person_id"] for r in rows))
    ids = [p.id for p in persons.values()]
    known = select(Case.person_id, Case.case_no).where(Case.person_id.in_(ids))
    existing: dict[int | None, str] = dict(session.execute(known).all())
    created: list[str] = []
    already: list[str] = []
    taken = set(
        session.scalars(select(Case.case_no).where(Case.case_no.like(f"{round_.code[:24]}-%")))
    )
    seq = len(taken)
    for row in rows:
        person = persons.get(row["person_id"])
        if person is None:
            continue  # not in the registry: the positives list shows them for follow-up
        if person.id in existing:
            already.append(existing[person.id])
            _link_recall(session, round_, person.id, existing[person.id])
            continue
        seq += 1
        while _case_no(round_, seq) in taken:
            seq += 1
        data = CaseCreate(
            case_no=_case_no(round_, seq),
            person_no=person.person_no,
            classification=Classification.asymptomatic,
            found_via=_found_via(session, round_, person),
            sampled_on=_local_day(row["sampled_at"]),
            reported_on=_local_day(row["resulted_at"]),
            notes=f"核酸检测 {round_.code} 单管阳性（管码 {row['tube_barcode']}，{row['lab']}）",
        )
        case = cases_service.create_case(session, data=data, now=now, scope=scope)
        existing[person.id] = case.case_no
        created.append(case.case_no)
        _link_recall(session, round_, person.id, case.case_no)
    return created, already


def _link_recall(session: Session, round_: TestingRound, person_id: int, case_no: str) -> None:
    recall = session.scalar(
        select(Recall).where(Recall.round_id == round_.id, Recall.person_id == person_id)
    )
    if recall is not None and recall.case_id is None:
        recall.case_id = session.scalar(select(Case.id).where(Case.case_no == case_no))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _local_day(value: datetime) -> Any:
    return _aware(value).astimezone(LOCAL_TZ).date()


def recall_status(session: Session, recall: Recall, *, status: str, now: datetime) -> Recall:
    """A community marks a recall re-sampled; cleared and positive come from results."""
    if status not in ("pending", "resampled"):
        raise ValueError("only pending or resampled can be set by hand")
    if recall.status in SETTLED:
        return recall
    recall.status, recall.updated_at = status, now
    return recall
