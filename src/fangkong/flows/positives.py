"""A positive registered: the case, then what it sets off above the case registry.

Whoever registers a case — a form, the API, a file import, a testing round — goes through
here, so that a person under quarantine or home monitoring has their order converted exactly
once (RULES §3) and their self-report link stops working at the same moment, and so that the
HQ finds the zones the new cases call for proposed (``propose_after``): proposals only —
the HQ confirms, edits or rejects each; nothing here puts a zone in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.cases import importer as cases_importer
from fangkong.cases import service as cases
from fangkong.cases.schemas import CaseCreate
from fangkong.errors import Conflict, InvalidInput
from fangkong.monitoring import service as monitoring
from fangkong.people import service as people_service
from fangkong.people.schemas import PersonCreate
from fangkong.policy import Policy
from fangkong.quarantine import conversion
from fangkong.tabular import ImportReport
from fangkong.zones import drawing as zone_drawing

if TYPE_CHECKING:
    from fangkong.cases.models import Case


def after_new_cases(
    session: Session, new: Sequence[Case], *, now: datetime, by: str = "system"
) -> int:
    """Convert the orders of the persons who just became cases and end their links;
    how many orders were converted."""
    converted = 0
    for case in new:
        if case.person_id is None:
            continue
        order = conversion.convert_for_case(
            session,
            person_id=case.person_id,
            case_id=case.id,
            case_no=case.case_no,
            now=now,
            by=by,
        )
        if order is not None:
            monitoring.revoke_links(session, order_id=order.id, now=now)
            converted += 1
    return converted


def propose_after(
    session: Session, new: Sequence[Case], *, policy: Policy | None, now: datetime
) -> int:
    """Zones proposed for the new cases (per city and day reported), for the HQ to decide;
    how many proposals were made or extended. Without a policy (a bulk load that proposes
    in its own step) nothing is proposed."""
    if policy is None or not new:
        return 0
    touched = 0
    for city, day in sorted({(c.city_code, c.reported_on) for c in new}):
        touched += len(
            zone_drawing.propose_zones(
                session,
                day=day,
                policy=policy,
                scope=bind("city", city),
                now=now,
                by="system",
                case_nos=[c.case_no for c in new if c.city_code == city and c.reported_on == day],
            )
        )
    return touched


def register_case(
    session: Session,
    *,
    data: CaseCreate,
    now: datetime,
    scope: Jurisdiction,
    policy: Policy | None,
    held: bool = False,
) -> Case:
    """A new case (``cases.service.create_case``; ``held`` for review) and its consequences."""
    case = cases.create_case(session, data=data, now=now, scope=scope, held=held)
    after_new_cases(session, [case], now=now)
    if not held:  # a case held for review draws no zone until it is confirmed
        propose_after(session, [case], policy=policy, now=now)
    return case


def register_by_hand(
    session: Session,
    *,
    data: CaseCreate,
    new_person: PersonCreate | None,
    now: datetime,
    scope: Jurisdiction,
    policy: Policy | None,
    held: bool = False,
) -> Case:
    """A case entered by hand, always linked to a registry person so that it can be traced:
    the person picked (``data.person_no``), else the holder of its ID number inside
    ``scope``, else ``new_person``, created here. The case takes the person's name and ID
    number where the form left them blank."""
    person_no = data.person_no
    if person_no is None and data.id_number:
        owner = people_service.id_number_owners(session, [data.id_number]).get(data.id_number)
        if owner is not None and not people_service.visible_person_nos(
            session, [owner], scope=scope
        ):
            raise Conflict(people_service.HIDDEN_OWNER, field="id_number")
        person_no = owner
    if person_no is None:
        if new_person is None:
            raise InvalidInput(
                "a case entered by hand needs its person: pick one from the registry or create one",
                field="person_no",
            )
        person_no = people_service.create_person(
            session, data=new_person, now=now, scope=scope
        ).person_no
    person = people_service.get_person(session, person_no=person_no, scope=scope)
    data = data.model_copy(
        update={
            "person_no": person.person_no,
            "name": data.name or person.name,
            "id_number": data.id_number or person.id_number,
        }
    )
    return register_case(session, data=data, now=now, scope=scope, policy=policy, held=held)


def import_cases(
    session: Session,
    *,
    data: bytes,
    filename: str,
    now: datetime,
    scope: Jurisdiction,
    policy: Policy | None = None,
) -> ImportReport:
    """A case file (``cases.importer``, all or nothing), then the consequences of the cases
    it added."""
    report = cases_importer.import_cases(
        session, data=data, filename=filename, now=now, scope=scope
    )
    added = cases.cases_by_no(session, report.added_keys, scope=scope)
    after_new_cases(session, added, now=now)
    propose_after(session, added, policy=policy, now=now)
    return report
