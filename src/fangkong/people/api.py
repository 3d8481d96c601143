"""HTTP API of the people and places registry.

Every route declares its permission and passes the caller's jurisdiction to the service,
which cuts every query to it. Lists and exports mask names, ID numbers and phones and leave
out building and room; the detail of a person is in full only with ``person.pii.read``, and
each such read, every export and every import is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from fangkong.apiutil import Limit, Offset, audited_import
from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import ClockDep, SessionDep
from fangkong.errors import InvalidInput
from fangkong.people import importer, lookups, service, venues, vocab, workplaces
from fangkong.people.schemas import (
    HouseholdRead,
    ImportReport,
    PersonCreate,
    PersonPage,
    PersonRead,
    PersonUpdate,
    VenueCreate,
    VenuePage,
    VenueRead,
    VenueUpdate,
    WorkplaceCreate,
    WorkplacePage,
    WorkplaceRead,
)

router = APIRouter(tags=["people"])

Reader = Annotated[Principal, Depends(Require("person.read"))]
Writer = Annotated[Principal, Depends(Require("person.write"))]
Importer = Annotated[Principal, Depends(Require("person.import"))]
Exporter = Annotated[Principal, Depends(Require("export"))]
Upload = Annotated[UploadFile, File()]


def _code(value: str | None, vocabulary: dict[str, str], field: str) -> str | None:
    if not value:
        return None
    code = vocab.normalise(value, vocabulary)
    if code is None:
        raise InvalidInput(f"unknown {field} {value!r}", field=field)
    return code


# ---------------------------------------------------------------- persons


def person_filter(
    q: str | None = Query(
        None, max_length=100, description="Part of a name, person number, phone or ID."
    ),
    name: str | None = None,
    person_no: str | None = None,
    phone: str | None = None,
    id_number: str | None = None,
    district: str | None = Query(None, description="District code or name."),
    street: str | None = Query(None, description="Street code or name."),
    community: str | None = None,
    compound: str | None = None,
    building: str | None = None,
    household: str | None = Query(None, description="Household number."),
    workplace: str | None = Query(None, description="Workplace number."),
) -> service.PersonFilter:
    """The search of the person list and export, from query parameters."""
    district_code, street_code = lookups.resolve_region(district, street)
    return service.PersonFilter(
        text=q,
        name=name,
        person_no=person_no,
        phone=phone,
        id_number=id_number,
        district_code=district_code,
        street_code=street_code,
        community=community,
        compound=compound,
        building=building,
        household_no=household,
        workplace_no=workplace,
    )


PersonQuery = Annotated[service.PersonFilter, Depends(person_filter)]


@router.get("/people", response_model=PersonPage, summary="Search persons (masked)")
def list_people(
    session: SessionDep,
    principal: Reader,
    flt: PersonQuery,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PersonPage:
    items, total = service.list_persons(
        session, flt=flt, scope=principal.jurisdiction, limit=limit, offset=offset
    )
    return PersonPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[service.person_read(p).masked_copy() for p in items],
    )


@router.get(
    "/people.csv",
    response_class=Response,
    summary="Export persons as CSV (masked, audited; needs a reason)",
    dependencies=[Depends(Require("person.read"))],
    responses={200: {"content": {"text/csv": {}}}},
)
def export_people(
    session: SessionDep,
    clock: ClockDep,
    principal: Exporter,
    flt: PersonQuery,
    reason: Annotated[
        str, Query(min_length=2, max_length=500, description="Why the list is exported.")
    ],
) -> Response:
    reason = reason.strip()
    if len(reason) < 2:
        raise InvalidInput("give the reason for the export", field="reason")
    text, rows = service.export_csv(session, flt=flt, scope=principal.jurisdiction)
    filters: dict[str, Any] = {k: v for k, v in vars(flt).items() if v}
    audit.record(
        session,
        principal=principal,
        action="export",
        now=clock.now(),
        entity_type="person",
        reason=reason,
        detail={"filters": filters, "rows": rows},
    )
    return Response(
        "\ufeff" + text,  # the BOM makes Excel read the file as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="people.csv"'},
    )


@router.post("/people", response_model=PersonRead, status_code=201, summary="Register a person")
def create_person(
    data: PersonCreate, session: SessionDep, clock: ClockDep, principal: Writer
) -> PersonRead:
    now = clock.now()
    person = service.create_person(session, data=data, now=now, scope=principal.jurisdiction)
    return service.person_shown(session, person=person, principal=principal, now=now)


@router.post(
    "/people/import",
    response_model=ImportReport,
    summary="Import persons from .csv or .xlsx (all or nothing, idempotent)",
)
def import_people(
    file: Upload, session: SessionDep, clock: ClockDep, principal: Importer
) -> ImportReport:
    return audited_import(importer.import_people, "person", file, session, clock, principal)


@router.get(
    "/people/{person_no}",
    response_model=PersonRead,
    summary="One person (unmasked with person.pii.read; audited)",
)
def get_person(
    person_no: str, session: SessionDep, clock: ClockDep, principal: Reader
) -> PersonRead:
    person = service.get_person(session, person_no=person_no, scope=principal.jurisdiction)
    return service.person_shown(session, person=person, principal=principal, now=clock.now())


@router.patch("/people/{person_no}", response_model=PersonRead, summary="Edit a person")
def update_person(
    person_no: str, data: PersonUpdate, session: SessionDep, clock: ClockDep, principal: Writer
) -> PersonRead:
    now = clock.now()
    person = service.update_person(
        session, person_no=person_no, data=data, now=now, scope=principal.jurisdiction
    )
    return service.person_shown(session, person=person, principal=principal, now=now)


@router.get(
    "/households/{household_no}",
    response_model=HouseholdRead,
    summary="A household's members in your jurisdiction (unmasked with person.pii.read)",
)
def get_household(
    household_no: str, session: SessionDep, clock: ClockDep, principal: Reader
) -> HouseholdRead:
    household, members = service.get_household(
        session, household_no=household_no, scope=principal.jurisdiction
    )
    now = clock.now()
    return HouseholdRead(
        household_no=household.household_no,
        members=[
            service.person_shown(session, person=p, principal=principal, now=now) for p in members
        ],
    )


# ---------------------------------------------------------------- venues


@router.get("/venues", response_model=VenuePage, summary="Search venues")
def list_venues(
    session: SessionDep,
    principal: Reader,
    q: str | None = Query(None, max_length=100, description="Part of a name or venue code."),
    category: str | None = Query(None, description="Category code or label."),
    district: str | None = Query(None, description="District code or name."),
    street: str | None = Query(None, description="Street code or name."),
    limit: Limit = 50,
    offset: Offset = 0,
) -> VenuePage:
    district_code, street_code = lookups.resolve_region(district, street)
    flt = venues.VenueFilter(
        text=q,
        category=_code(category, vocab.VENUE_CATEGORIES, "category"),
        district_code=district_code,
        street_code=street_code,
    )
    items, total = venues.list_venues(
        session, flt=flt, scope=principal.jurisdiction, limit=limit, offset=offset
    )
    return VenuePage(
        total=total, limit=limit, offset=offset, items=[venues.venue_read(v) for v in items]
    )


@router.post("/venues", response_model=VenueRead, status_code=201, summary="Register a venue")
def create_venue(data: VenueCreate, session: SessionDep, principal: Writer) -> VenueRead:
    return venues.venue_read(venues.create_venue(session, data=data, scope=principal.jurisdiction))


@router.post(
    "/venues/import",
    response_model=ImportReport,
    summary="Import venues from .csv or .xlsx (all or nothing, idempotent)",
)
def import_venues(
    file: Upload, session: SessionDep, clock: ClockDep, principal: Importer
) -> ImportReport:
    return audited_import(importer.import_venues, "venue", file, session, clock, principal)


@router.get("/venues/{venue_code}", response_model=VenueRead, summary="One venue")
def get_venue(venue_code: str, session: SessionDep, principal: Reader) -> VenueRead:
    venue = venues.get_venue(session, venue_code=venue_code, scope=principal.jurisdiction)
    return venues.venue_read(venue)


@router.patch("/venues/{venue_code}", response_model=VenueRead, summary="Edit a venue")
def update_venue(
    venue_code: str, data: VenueUpdate, session: SessionDep, principal: Writer
) -> VenueRead:
    venue = venues.update_venue(
        session, venue_code=venue_code, data=data, scope=principal.jurisdiction
    )
    return venues.venue_read(venue)


# ---------------------------------------------------------------- workplaces


@router.get("/workplaces", response_model=WorkplacePage, summary="Search workplaces")
def list_workplaces(
    session: SessionDep,
    principal: Reader,
    q: str | None = Query(None, max_length=100, description="Part of a name or workplace number."),
    industry: str | None = Query(None, description="Industry code or label."),
    district: str | None = Query(None, description="District code or name."),
    limit: Limit = 50,
    offset: Offset = 0,
) -> WorkplacePage:
    flt = workplaces.WorkplaceFilter(
        text=q,
        industry=_code(industry, vocab.INDUSTRIES, "industry"),
        district_code=lookups.resolve_region(district, None)[0],
    )
    items, total = workplaces.list_workplaces(
        session, flt=flt, scope=principal.jurisdiction, limit=limit, offset=offset
    )
    return WorkplacePage(
        total=total, limit=limit, offset=offset, items=workplaces.workplace_reads(session, items)
    )


@router.post(
    "/workplaces",
    response_model=WorkplaceRead,
    status_code=201,
    summary="Register a workplace and its units",
)
def create_workplace(
    data: WorkplaceCreate, session: SessionDep, principal: Writer
) -> WorkplaceRead:
    workplace = workplaces.create_workplace(session, data=data, scope=principal.jurisdiction)
    return workplaces.workplace_reads(session, [workplace])[0]


@router.post(
    "/workplaces/import",
    response_model=ImportReport,
    summary="Import workplaces and units from .csv or .xlsx (all or nothing, idempotent)",
)
def import_workplaces(
    file: Upload, session: SessionDep, clock: ClockDep, principal: Importer
) -> ImportReport:
    return audited_import(importer.import_workplaces, "workplace", file, session, clock, principal)


@router.get("/workplaces/{workplace_no}", response_model=WorkplaceRead, summary="One workplace")
def get_workplace(workplace_no: str, session: SessionDep, principal: Reader) -> WorkplaceRead:
    workplace = workplaces.get_workplace(
        session, workplace_no=workplace_no, scope=principal.jurisdiction
    )
    return workplaces.workplace_reads(session, [workplace])[0]
