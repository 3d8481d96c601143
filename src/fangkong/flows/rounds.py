"""A testing round applied: its figures and recalls (testing), a case for every positive
single tube (the registry, through ``flows/positives``: a person under quarantine has the
order converted), the swabs of a quarantine site's round (quarantine), and the new cases
traced (tracing) — in the caller's transaction, idempotent as a whole.

Where a positive was found (发现途径, RULES §1) is decided here because it spans domains:
where the person's quarantine order keeps them; else under quarantine when the person was
exempt for it or is a contact already under control; else by the screening of a sealed or
controlled zone the round targets and the person lives in; otherwise by the community's
screening.

A round may name zones among its areas (``create_round``): the zones service turns each into
the registry areas a round samples, and the round applied records each targeted zone's
screening from the outcome — the all-negative round its lifting waits for.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.cases import service as cases
from fangkong.cases.schemas import CaseCreate
from fangkong.cases.vocab import Classification, FoundVia
from fangkong.clock import LOCAL_TZ
from fangkong.flows import positives as positive_flow
from fangkong.policy import Policy
from fangkong.quarantine import conversion, site_swabs
from fangkong.testing import apply as testing_apply
from fangkong.testing import outcome as testing_outcome
from fangkong.testing import service as testing
from fangkong.testing.apply import ApplyReport
from fangkong.tracing import service as tracing
from fangkong.zones import screening as zone_screening
from fangkong.zones.rules import SEVERITY

if TYPE_CHECKING:
    from fangkong.testing.models import TestingRound


def found_via(session: Session, round_: TestingRound, person_id: int) -> FoundVia:
    under_order = conversion.found_via_for(session, person_id)
    if under_order is not None:
        return under_order
    exempt = testing_apply.exemption_reason(session, round_, person_id)
    if exempt == "quarantine" or tracing.is_controlled(session, person_id=person_id):
        return FoundVia.quarantine_site
    level = zone_screening.found_by_zone(session, round_code=round_.code, person_id=person_id)
    if level is not None:
        severest = SEVERITY.get(level, 0) >= SEVERITY["sealed"]
        return FoundVia.sealed_zone_screening if severest else FoundVia.controlled_zone_screening
    return FoundVia.community_screening


def create_round(
    session: Session,
    spec: testing.RoundSpec,
    *,
    lake: Path,
    policy: Policy,
    now: datetime,
    actor: str,
    scope: Jurisdiction,
) -> TestingRound:
    """A round over areas, some of which may be zones (by code): the zones become the
    registry areas that hold them, and the round is recorded as targeting them."""
    expanded = zone_screening.expand_areas(session, spec.areas, scope=scope)
    round_ = testing.create_round(
        session,
        replace(spec, areas=expanded.areas),
        lake=lake,
        policy=policy,
        now=now,
        actor=actor,
        scope=scope,
    )
    if expanded.zones:
        zone_screening.target_round(
            session, round_code=round_.code, zone_codes=expanded.zones, now=now, by=actor
        )
    return round_


def _record_zone_screenings(
    session: Session, round_: TestingRound, *, lake: Path, now: datetime
) -> int:
    """Each targeted zone's screening, from the persons' states in the round's outcome."""
    if not zone_screening.round_zone_codes(session, round_.code):
        return 0
    status = testing_outcome.read_status(lake, round_.code)
    states = dict(zip(status["person_id"].to_pylist(), status["state"].to_pylist(), strict=True))
    recorded = zone_screening.record_round(
        session,
        round_code=round_.code,
        day=round_.starts_at.astimezone(LOCAL_TZ).date(),
        states=states,
        now=now,
        by="system",
    )
    return len(recorded)


def apply_round(
    session: Session,
    round_: TestingRound,
    *,
    lake: Path,
    policy: Policy,
    now: datetime,
    scope: Jurisdiction,
    con: BaseBackend | None = None,
) -> ApplyReport:
    """Apply the round's results (see the module's doc). With an engine connection ``con``
    the new cases are traced at once."""
    report, found = testing_apply.apply_outcome(session, round_, lake=lake, policy=policy, now=now)
    if round_.kind == "quarantine":
        # A site holds people from all over the city: a positive there is the city's case
        # wherever they live, whoever applies the site's round.
        scope = bind("city", round_.city_code)
    existing = cases.persons_with_case(session, [p.person.id for p in found])
    taken = cases.case_nos_with_prefix(session, testing_apply.case_prefix(round_))
    for positive in found:
        person = positive.person
        if person.id in existing:
            ref = existing[person.id]
            report.already_cases.append(ref.case_no)
            testing_apply.link_recall(session, round_, person.id, ref.id)
            continue
        number = testing_apply.case_number(session, round_, taken)
        taken.add(number)
        case = positive_flow.register_case(
            session,
            data=CaseCreate(
                case_no=number,
                person_no=person.person_no,
                classification=Classification.asymptomatic,
                found_via=found_via(session, round_, person.id),
                sampled_on=positive.sampled_on,
                reported_on=positive.reported_on,
                notes=testing_apply.case_notes(round_, positive),
            ),
            now=now,
            scope=scope,
            policy=None,  # proposals once for all the round's cases, below
        )
        existing[person.id] = cases.CaseRef(case.id, case.case_no)
        report.cases.append(case.case_no)
        testing_apply.link_recall(session, round_, person.id, case.id)
    if round_.kind == "quarantine":  # a site's day: its swabs take their people's states
        report.tests_synced = site_swabs.sync_round(session, round_, lake, now)
    _record_zone_screenings(session, round_, lake=lake, now=now)
    session.flush()
    if report.cases and con is not None:
        tracing.trace_cases(
            session,
            case_nos=report.cases,
            con=con,
            lake=lake,
            policy=policy,
            now=now,
            scope=scope,
        )
        report.traced = True
    if report.cases:  # after tracing, so that the places of its close contacts are drawn too
        new = cases.cases_by_no(session, report.cases, scope=scope)
        positive_flow.propose_after(session, new, policy=policy, now=now)
    return report
