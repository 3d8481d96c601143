"""Review and correction of cases (审核、订正、核减), and the bulletins as published.

A case held for review (``pending``) counts for nothing until it is confirmed; a counted case
can be voided (核减: it stops counting) or corrected (订正: its facts change). Each is done by
a role with ``cases.review``, with a reason, recorded in ``case_correction`` (what the case
counted for before and after, the local day) and in the audit log; the daily counts take
the difference in the same transaction, so statistics follow at once. The bulletin of the
day a correction is made states it (``bulletin.corrections_sentence``).

A published bulletin is stored word for word (``publish``): later corrections change the
figures, never what was said on a day.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Principal
from fangkong.cases import stats
from fangkong.cases.models import Case, CaseCorrection, PublishedBulletin
from fangkong.cases.schemas import CaseUpdate
from fangkong.cases.service import (
    COUNTED,
    apply_counts,
    bulletin_text,
    counted_facts,
    get_case,
    require_city_bulletin,
    update_case,
)
from fangkong.clock import local_day
from fangkong.errors import Conflict, InvalidInput
from fangkong.policy import Policy

PENDING, VOIDED = "pending", "voided"


def _json(facts: stats.CaseFacts | None) -> str | None:
    return None if facts is None else json.dumps(asdict(facts), default=str)


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput("a review or correction needs its reason", field="reason")
    return text


def _record(
    session: Session,
    case: Case,
    *,
    kind: str,
    before: stats.CaseFacts | None,
    reason: str,
    principal: Principal,
    now: datetime,
) -> CaseCorrection:
    after = counted_facts(case)
    row = CaseCorrection(
        case_id=case.id,
        kind=kind,
        day=local_day(now),
        city_code=case.city_code,
        before=_json(before),
        after=_json(after),
        reason=reason,
        by=principal.name,
        at=now,
    )
    session.add(row)
    audit.record(
        session,
        principal=principal,
        action=f"case.{kind}",
        now=now,
        entity_type="case",
        entity_id=case.case_no,
        reason=reason,
    )
    session.flush()
    return row


def confirm(
    session: Session, *, case_no: str, reason: str, principal: Principal, now: datetime
) -> Case:
    """审核通过: a case held for review starts counting (on its own report day)."""
    case = get_case(session, case_no=case_no, scope=principal.jurisdiction)
    if case.status != PENDING:
        raise Conflict(f"case {case_no!r} is not held for review", case_no=case_no)
    case.status, case.updated_at = COUNTED, now
    apply_counts(session, stats.delta(None, counted_facts(case)))
    _record(
        session,
        case,
        kind="review",
        before=None,
        reason=_reason(reason),
        principal=principal,
        now=now,
    )
    return case


def void(
    session: Session, *, case_no: str, reason: str, principal: Principal, now: datetime
) -> Case:
    """核减: the case stops counting (a duplicate, a false positive, …); kept, with why."""
    case = get_case(session, case_no=case_no, scope=principal.jurisdiction)
    if case.status == VOIDED:
        raise Conflict(f"case {case_no!r} was already voided", case_no=case_no)
    text = _reason(reason)
    before = counted_facts(case)
    case.status, case.updated_at = VOIDED, now
    apply_counts(session, stats.delta(before, None))
    _record(session, case, kind="void", before=before, reason=text, principal=principal, now=now)
    return case


def correct(
    session: Session,
    *,
    case_no: str,
    data: CaseUpdate,
    reason: str,
    principal: Principal,
    now: datetime,
) -> Case:
    """订正: a counted case's facts change (classification, place, days …), with why."""
    scope: Jurisdiction = principal.jurisdiction
    case = get_case(session, case_no=case_no, scope=scope)
    if case.status != COUNTED:
        raise Conflict(f"only a counted case is corrected; {case_no!r} is {case.status}")
    text = _reason(reason)
    before = counted_facts(case)
    update_case(session, case_no=case_no, data=data, now=now, scope=scope)
    if counted_facts(case) == before:
        raise InvalidInput("the correction changes nothing the figures count", field="reason")
    _record(
        session, case, kind="correction", before=before, reason=text, principal=principal, now=now
    )
    return case


def corrections_of(session: Session, *, case_id: int) -> list[CaseCorrection]:
    return list(
        session.scalars(
            select(CaseCorrection)
            .where(CaseCorrection.case_id == case_id)
            .order_by(CaseCorrection.id)
        )
    )


# ---------------------------------------------------------------- bulletins as published


def publish(
    session: Session,
    *,
    city_code: str,
    day: date,
    since: date | None,
    policy: Policy,
    principal: Principal,
    now: datetime,
) -> PublishedBulletin:
    """Store the day's bulletin as it reads now; a day is published once."""
    scope = principal.jurisdiction
    require_city_bulletin(scope, city_code=city_code)
    if published(session, city_code=city_code, day=day) is not None:
        raise Conflict(f"the bulletin of {day} was already published", day=str(day))
    text = bulletin_text(
        session, city_code=city_code, day=day, since=since, policy=policy, scope=scope
    )
    row = PublishedBulletin(
        city_code=city_code,
        day=day,
        since=since,
        text=text,
        published_by=principal.name,
        published_at=now,
    )
    session.add(row)
    session.flush()
    return row


def published(session: Session, *, city_code: str, day: date) -> PublishedBulletin | None:
    return session.scalar(
        select(PublishedBulletin).where(
            PublishedBulletin.city_code == city_code, PublishedBulletin.day == day
        )
    )
