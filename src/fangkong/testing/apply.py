"""Applying a round's lab results within testing: the round's figures, recall tasks for the
members of positive pools, and the positives found (``flows/rounds.py`` makes them cases,
copies states onto quarantine swabs and traces the cases).

The lake computes who is in which state (``testing/outcome.py``); this module makes the
people acted on: re-running it after more results adds what is new, and never lowers what a
community already did (a recall re-sampled stays re-sampled until its result).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.clock import LOCAL_TZ
from fangkong.people.joins import Person
from fangkong.policy import Policy
from fangkong.storage.bulk import chunks
from fangkong.testing import outcome as lake_outcome
from fangkong.testing.models import Recall, RoundExemption, TestingRound
from fangkong.testing.service import due_path, exemptions_table

# Recall statuses: pending → resampled (the community re-swabbed the person) → cleared or
# positive (from the single tube's result, when the round is applied again).
RECALL_STATUSES = ("pending", "resampled", "cleared", "positive")
SETTLED = ("cleared", "positive")


@dataclass
class ApplyReport:
    round_code: str
    figures: dict[str, Any]
    recalls_added: int = 0
    recalls_settled: int = 0
    cases: list[str] = field(default_factory=list)
    already_cases: list[str] = field(default_factory=list)
    traced: bool = False
    tests_synced: int = 0  # quarantine swabs whose state changed (a site's round)


@dataclass(frozen=True)
class Positive:
    """A registry person with a positive single tube in the round."""

    person: Person
    tube_barcode: str
    lab: str
    sampled_at: datetime
    resulted_at: datetime

    @property
    def sampled_on(self) -> date:
        return self.sampled_at.astimezone(LOCAL_TZ).date()

    @property
    def reported_on(self) -> date:
        return self.resulted_at.astimezone(LOCAL_TZ).date()


def apply_outcome(
    session: Session, round_: TestingRound, *, lake: Path, policy: Policy, now: datetime
) -> tuple[ApplyReport, list[Positive]]:
    """Compute the round's outcome from the lake, store its figures, settle and add recall
    tasks; the report and the positives of the registry (earliest result first) for the
    flow to make cases of."""
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
    rows = sorted(
        lake_outcome.read_positives(lake, round_.code).to_pylist(),
        key=lambda r: (r["resulted_at"], r["person_id"]),
    )
    persons = _persons(session, (r["person_id"] for r in rows))
    # not in the registry: the positives list shows them for follow-up
    positives = [
        Positive(
            person=persons[r["person_id"]],
            tube_barcode=r["tube_barcode"],
            lab=r["lab"],
            sampled_at=_aware(r["sampled_at"]),
            resulted_at=_aware(r["resulted_at"]),
        )
        for r in rows
        if r["person_id"] in persons
    ]
    session.flush()
    return report, positives


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
    found: dict[str, Person] = {}
    for batch in chunks(sorted(set(person_nos))):
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


def exemption_reason(session: Session, round_: TestingRound, person_id: int) -> str | None:
    """Why the person was exempt from the round (``quarantine``, ``hospital`` …), if so."""
    return session.scalar(
        select(RoundExemption.reason).where(
            RoundExemption.round_id == round_.id, RoundExemption.person_id == person_id
        )
    )


def case_number(session: Session, round_: TestingRound, taken: set[str]) -> str:
    """The next free case number of the round's positives (``<round>-0001``…); ``taken``
    holds the numbers given so far (the caller adds the one returned)."""
    seq = len(taken) + 1
    while f"{round_.code[:24]}-{seq:04d}" in taken:
        seq += 1
    return f"{round_.code[:24]}-{seq:04d}"


def case_prefix(round_: TestingRound) -> str:
    return f"{round_.code[:24]}-"


def case_notes(round_: TestingRound, positive: Positive) -> str:
    return f"核酸检测 {round_.code} 单管阳性（管码 {positive.tube_barcode}，{positive.lab}）"


def link_recall(session: Session, round_: TestingRound, person_id: int, case_id: int) -> None:
    """The person's recall of the round (if any) points at the case it ended in."""
    recall = session.scalar(
        select(Recall).where(Recall.round_id == round_.id, Recall.person_id == person_id)
    )
    if recall is not None and recall.case_id is None:
        recall.case_id = case_id


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def recall_status(session: Session, recall: Recall, *, status: str, now: datetime) -> Recall:
    """A community marks a recall re-sampled; cleared and positive come from results."""
    if status not in ("pending", "resampled"):
        raise ValueError("only pending or resampled can be set by hand")
    if recall.status in SETTLED:
        return recall
    recall.status, recall.updated_at = status, now
    return recall
