"""One person, one record (一人一档): what every domain holds about a person, for their page.

Composed from each domain's read functions (no query of its own): the registry's person and
household, their case, their contacts as a case and the cases they are a contact of, their
quarantine orders with the scheduled swabs, their monitoring reports and their testing
rounds and recalls. Every part is cut to the caller's jurisdiction by the domain that owns
it, and a part the caller's role may not read is left out (``None``), never shown empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fangkong.auth.principal import Principal
from fangkong.cases import service as cases_service
from fangkong.cases.schemas import CaseRead
from fangkong.cases.vocab import CLASSIFICATION_LABELS, FOUND_VIA_LABELS
from fangkong.monitoring import views as monitoring_views
from fangkong.people import service as people_service
from fangkong.people.schemas import PersonRead
from fangkong.policy import Policy
from fangkong.quarantine import reads as quarantine_reads
from fangkong.quarantine.schedule import PERSON_LABELS, STAGE_LABELS
from fangkong.quarantine.site_swabs import STATE_LABELS as SWAB_LABELS
from fangkong.quarantine.status import STATUS_LABELS as ORDER_LABELS
from fangkong.quarantine.status import OrderStatus
from fangkong.testing import views as testing_views
from fangkong.tracing import views as tracing_views

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CLASS_LABELS = {c.value: label for c, label in CLASSIFICATION_LABELS.items()}
FOUND_VIA = {f.value: label for f, label in FOUND_VIA_LABELS.items()}
DEGREE_LABELS = {"close": "密切接触者", "secondary": "次密切接触者", "general": "一般接触者"}
CONTACT_STATUS_LABELS = {"new": "新发现", "notified": "已通知", "controlled": "已管控"}


@dataclass
class PersonRecord:
    person: PersonRead
    members: list[PersonRead]
    cases: list[CaseRead] | None = None
    contacts: list[tracing_views.PersonContact] | None = None  # theirs, as a case
    exposures: list[tracing_views.PersonContact] | None = None  # they are a contact of
    orders: list[dict[str, Any]] | None = None
    reports: list[tuple[str, monitoring_views.ReportLine]] | None = None
    tests: list[testing_views.PersonTest] | None = None
    # The persons of the page the caller may open (contacts outside the area are not linked).
    openable: set[str] = field(default_factory=set)


def _order_row(order: Any) -> dict[str, Any]:
    return {
        "order_no": order.order_no,
        "kind": PERSON_LABELS.get(order.person_kind, order.person_kind),
        "stage": STAGE_LABELS.get(order.kind, order.kind),
        "status": ORDER_LABELS.get(OrderStatus(order.status), order.status),
        "start_on": order.start_on,
        "planned_end": order.planned_end,
        "where": " ".join(x for x in (order.site, order.room) if x),
        "converted_case_no": order.converted_case_no,
        "swabs": [
            {
                "due_on": t.due_on,
                "stage": STAGE_LABELS.get(t.stage, t.stage),
                "state": SWAB_LABELS.get(t.state, t.state),
                "round_code": t.round_code or "",
            }
            for t in order.tests
        ],
    }


def person_record(
    session: Session,
    *,
    person_no: str,
    principal: Principal,
    policy: Policy,
    lake: Path,
    now: datetime,
) -> PersonRecord:
    """The person's record as ``principal`` may see it: ``NotFound`` outside their
    jurisdiction; in full (and audited) only with ``person.pii.read``, masked otherwise."""
    scope = principal.jurisdiction
    found = people_service.get_person(session, person_no=person_no, scope=scope)
    person = people_service.person_shown(session, person=found, principal=principal, now=now)
    members: list[PersonRead] = []
    if person.household_no:
        _, others = people_service.get_household(
            session, household_no=person.household_no, scope=scope
        )
        members = [
            people_service.person_read(p).masked_copy() for p in others if p.person_no != person_no
        ]
    record = PersonRecord(person=person, members=members)
    own_cases = cases_service.cases_in_scope(session, scope=scope, person_ids=[found.id])
    if principal.can("cases.read"):
        record.cases = [cases_service.to_read(session, c, policy) for c in own_cases]
    if principal.can("tracing.read"):
        record.contacts, record.exposures = tracing_views.person_contacts(
            session, person_id=found.id, case_ids=[c.id for c in own_cases], scope=scope
        )
        record.openable = people_service.visible_person_nos(
            session, (c.person_no for c in record.contacts), scope=scope
        )
    if principal.can("quarantine.read"):
        orders = quarantine_reads.person_timeline(session, person_no, scope=scope)
        record.orders = [_order_row(o) for o in orders]
        record.reports = monitoring_views.person_reports(
            session, order_nos=[o.order_no for o in orders], scope=scope
        )
    if principal.can("testing.read"):
        record.tests = testing_views.person_tests(
            session, lake, person_id=found.id, person_no=person_no, scope=scope
        )
    record.openable |= {m.person_no for m in members}
    return record
