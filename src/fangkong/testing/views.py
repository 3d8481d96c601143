"""Read models of the testing pages and the dashboard: what a page shows, computed here so
that the interfaces run no queries of their own.

Each function takes the caller's jurisdiction and answers only inside it, as the service's
reads do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.clock import LOCAL_TZ, as_utc, beijing_minute
from fangkong.errors import NotFound
from fangkong.people import service as people
from fangkong.people.joins import Community
from fangkong.testing import lists, outcome, service
from fangkong.testing.models import Recall, TestingRound
from fangkong.testing.outcome import Level
from fangkong.testing.texts import KIND_LABELS, PHASE_LABELS, percent, phase, window_text


def start_level(scope: Jurisdiction) -> str:
    """The widest coverage level the caller sees rows of."""
    if scope.whole_city or scope.kind == "district":
        return "district"
    return "community" if scope.kind == "community" else "street"


def progress_chart(lake: Path, round_: TestingRound) -> dict[str, Any]:
    """The hourly samples and the cumulative persons sampled, as the chart draws them."""
    rows = lists.progress(lake, round_)
    hours = [as_utc(r["hour_start"]).astimezone(LOCAL_TZ) for r in rows]
    return {
        "hours": [f"{h.month}/{h.day} {h:%H}:00" for h in hours],
        "samples": [int(r["samples"]) for r in rows],
        "cumulative": [int(r["persons_cumulative"]) for r in rows],
        "due": round_.due_count,
    }


def list_count(
    lake: Path,
    round_: TestingRound,
    states: Sequence[str],
    community_id: int | None,
    scope: Jurisdiction,
) -> int:
    """All the list's persons in the caller's area (the page shows the first ones)."""
    table = outcome.read_status(lake, round_.code, community_id=community_id, states=states)
    places = table.select(["district_code", "street_code", "community_id"]).to_pydict()
    return sum(
        scope.covers(city_code=round_.city_code, district_code=d, street_code=s, community_id=c)
        for d, s, c in zip(
            places["district_code"], places["street_code"], places["community_id"], strict=True
        )
    )


def exemption_reasons(
    session: Session, round_: TestingRound, person_nos: Sequence[str]
) -> dict[str, str]:
    """The exemption reason (in Chinese) of each listed person who has one: exemptions
    recorded since the last apply still list the person as missing, and the page says so."""
    if not person_nos:
        return {}
    rows = service.exemption_rows(session, round_, person_nos)
    return {no: service.EXEMPT_REASONS.get(reason, reason) for no, reason in rows}


def community_of_list(session: Session, community_id: int, scope: Jurisdiction) -> Community | None:
    """The community a list is narrowed to, or None when it is not in the caller's area."""
    try:
        return people.get_community(session, community_id=community_id, scope=scope)
    except NotFound:
        return None


@dataclass
class RoundCard:
    """The dashboard's card of the open round: its progress in the caller's area."""

    code: str
    name: str
    window: str
    applied: bool
    due: int
    sampled: int = 0
    rate: str = ""
    target: int = 0  # the rate's denominator, for the bar
    applied_at: str = ""
    chart: dict[str, Any] | None = field(default=None)
    phase: str = "sampling"  # by its window (texts.phase): only "sampling" is 进行中

    @property
    def title(self) -> str:
        return (
            "核酸检测进行中"
            if self.phase == "sampling"
            else f"核酸检测（{PHASE_LABELS[self.phase]}）"
        )


def open_round_card(
    session: Session, lake: Path, scope: Jurisdiction, now: datetime
) -> RoundCard | None:
    """The latest open round in the caller's area and its progress there, said as in
    progress only inside its sampling window; None when there is none."""
    round_ = next(
        # A site's daily round is the site's business, not the city's round.
        (
            r
            for r in service.list_rounds(session, scope=scope)
            if r.status == "open" and r.kind != "quarantine"
        ),
        None,
    )
    if round_ is None:
        return None
    card = RoundCard(
        code=round_.code,
        name=round_.name,
        window=window_text(round_.starts_at, round_.ends_at),
        applied=round_.applied_at is not None,
        due=round_.due_count,
        phase=phase(round_.status, round_.starts_at, round_.ends_at, now),
    )
    if round_.applied_at is None:
        return card
    level = "city" if scope.whole_city else start_level(scope)
    try:
        rows = lists.coverage(lake, round_, level=cast(Level, level), parent=None, scope=scope)
    except NotFound:  # the outcome files are gone: show the round without figures
        card.applied = False
        return card
    card.due = sum(int(r["due"]) for r in rows)
    card.sampled = sum(int(r["sampled"]) for r in rows)
    exempt = sum(int(r["exempt"]) for r in rows)
    card.rate = percent(card.sampled, card.due - exempt)
    card.target = card.due - exempt
    card.applied_at = beijing_minute(round_.applied_at)
    card.chart = progress_chart(lake, round_)  # the whole round's hours
    return card


@dataclass(frozen=True)
class LabRound:
    """A round as a lab sees it: where results go, and how fast they came back."""

    code: str
    name: str
    kind: str
    window: str
    phase: str
    applied_at: str
    turnaround: list[dict[str, Any]]


def lab_rounds(
    session: Session, lake: Path, scope: Jurisdiction, *, now: datetime, limit: int = 50
) -> list[LabRound]:
    """The rounds a lab may post results to that have begun, the latest first, each with
    its labs' turnaround once applied (a lab tests tubes from anywhere, so a lab binding
    reaches every round; ``service.round_for_lab``)."""
    if scope.is_area or scope.kind == "site":
        found = service.list_rounds(session, scope=scope)
    else:
        found = service.all_rounds(session)
    shown: list[LabRound] = []
    for r in found:
        state = phase(r.status, r.starts_at, r.ends_at, now)
        if state == "planned":
            continue
        rows: list[dict[str, Any]] = []
        if r.applied_at is not None:
            try:
                rows = lists.turnaround(lake, r)
            except NotFound:  # outcome files gone: the round without figures
                rows = []
        shown.append(
            LabRound(
                code=r.code,
                name=r.name,
                kind=KIND_LABELS.get(r.kind, r.kind),
                window=window_text(r.starts_at, r.ends_at),
                phase=PHASE_LABELS[state],
                applied_at=beijing_minute(r.applied_at),
                turnaround=rows,
            )
        )
        if len(shown) >= limit:
            break
    return shown


# ---------------------------------------------------------------- one person's record


@dataclass(frozen=True)
class PersonTest:
    """One person's state in one round (from the round's outcome) or a recall of theirs."""

    round_code: str
    round_name: str
    kind: str  # the round's kind label
    window: str
    state: str  # in Chinese
    recall: str = ""  # the recall's status, in Chinese, when there is one


def person_tests(
    session: Session, lake: Path, *, person_id: int, person_no: str, scope: Jurisdiction
) -> list[PersonTest]:
    """The person's state in each applied round of ``scope`` that counted them (a site's
    daily round is shown as quarantine swabs instead) and their recalls, newest first."""
    recalls = {
        r.round_id: r for r in session.scalars(select(Recall).where(Recall.person_id == person_id))
    }
    found: list[PersonTest] = []
    for round_ in service.list_rounds(session, scope=scope):
        if round_.kind == "quarantine" or round_.applied_at is None:
            continue
        try:
            table = outcome.read_status(lake, round_.code, person_no=person_no)
        except NotFound:
            continue
        states = table["state"].to_pylist()
        recall = recalls.get(round_.id)
        if not states and recall is None:
            continue
        found.append(
            PersonTest(
                round_code=round_.code,
                round_name=round_.name,
                kind=KIND_LABELS.get(round_.kind, round_.kind),
                window=window_text(round_.starts_at, round_.ends_at),
                state=lists.STATE_LABELS.get(states[0], states[0]) if states else "—",
                recall=lists.RECALL_LABELS.get(recall.status, recall.status) if recall else "",
            )
        )
    return found
