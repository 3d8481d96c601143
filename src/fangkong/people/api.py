"""HTTP API of the people and places registry.

Lists mask names, ID numbers and phones; the detail of one person shows them in full.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from fangkong.deps import ClockDep, SessionDep
from fangkong.errors import InvalidInput
from fangkong.people import importer, service, vocab
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

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def _code(value: str | None, vocabulary: dict[str, str], field: str) -> str | None:
    if not value:
        return None
    code = vocab.normalise(value, vocabulary)
    if code is None:
        raise InvalidInput(f"unknown {field} {value!r}", field=field)
    return code


# ---------------------------------------------------------------- persons


@router.get("/people", response_model=PersonPage, summary="Search persons (masked)")
def list_people(
    session: SessionDep,
    q: str | None = Query(None, description="Part of a name, person number, phone or ID."),
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
    limit: Limit = 50,
    offset: Offset = 0,
) -> PersonPage:
    district_code, street_code = service.resolve_region(district, street)
    flt = service.PersonFilter(
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
    items, total = service.list_persons(session, flt=flt, limit=limit, offset=offset)
    return PersonPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[service.person_read(p).masked_copy() for p in items],
    )


@router.post("/people", response_model=PersonRead, status_code=201, summary="Register a person")
def create_person(data: PersonCreate, session: SessionDep, clock: ClockDep) -> PersonRead:
    return service.person_read(service.create_person(session, data=data, now=clock.now()))


@router.post(
    "/people/import",
    response_model=ImportReport,
    summary="Import persons from .csv or .xlsx (all or nothing, idempotent)",
)
def import_people(
    file: Annotated[UploadFile, File()], session: SessionDep, clock: ClockDep
) -> ImportReport:
    return importer.import_people(
        session, data=file.file.read(), filename=file.filename or "upload.csv", now=clock.now()
    )


@router.get("/people/{person_no}", response_model=PersonRead, summary="One person (unmasked)")
def get_person(person_no: str, session: SessionDep) -> PersonRead:
    return service.person_read(service.get_person(session, person_no=person_no))


@router.patch("/people/{person_no}", response_model=PersonRead, summary="Edit a person")
def update_person(
    person_no: str, data: PersonUpdate, session: SessionDep, clock: ClockDep
) -> PersonRead:
    person = service.update_person(session, person_no=person_no, data=data, now=clock.now())
    return service.person_read(person)


@router.get(
    "/households/{household_no}", response_model=HouseholdRead, summary="A household's members"
)
def get_household(household_no: str, session: SessionDep) -> HouseholdRead:
    household, members = service.get_household(session, household_no=household_no)
    return HouseholdRead(
        household_no=household.household_no, members=[service.person_read(p) for p in members]
    )


# ---------------------------------------------------------------- venues


@router.get("/venues", response_model=VenuePage, summary="Search venues")
def list_venues(
    session: SessionDep,
    q: str | None = Query(None, description="Part of a name or venue code."),
    category: str | None = Query(None, description="Category code or label."),
    district: str | None = Query(None, description="District code or name."),
    street: str | None = Query(None, description="Street code or name."),
    limit: Limit = 50,
    offset: Offset = 0,
) -> VenuePage:
    district_code, street_code = service.resolve_region(district, street)
    flt = service.VenueFilter(
        text=q,
        category=_code(category, vocab.VENUE_CATEGORIES, "category"),
        district_code=district_code,
        street_code=street_code,
    )
    items, total = service.list_venues(session, flt=flt, limit=limit, offset=offset)
    return VenuePage(
        total=total, limit=limit, offset=offset, items=[service.venue_read(v) for v in items]
    )


@router.post("/venues", response_model=VenueRead, status_code=201, summary="Register a venue")
def create_venue(data: VenueCreate, session: SessionDep) -> VenueRead:
    return service.venue_read(service.create_venue(session, data=data))


@router.post(
    "/venues/import",
    response_model=ImportReport,
    summary="Import venues from .csv or .xlsx (all or nothing, idempotent)",
)
def import_venues(
    file: Annotated[UploadFile, File()], session: SessionDep, clock: ClockDep
) -> ImportReport:
    return importer.import_venues(
        session, data=file.file.read(), filename=file.filename or "upload.csv", now=clock.now()
    )


@router.get("/venues/{venue_code}", response_model=VenueRead, summary="One venue")
def get_venue(venue_code: str, session: SessionDep) -> VenueRead:
    return service.venue_read(service.get_venue(session, venue_code=venue_code))


@router.patch("/venues/{venue_code}", response_model=VenueRead, summary="Edit a venue")
def update_venue(venue_code: str, data: VenueUpdate, session: SessionDep) -> VenueRead:
    return service.venue_read(service.update_venue(session, venue_code=venue_code, data=data))


# ---------------------------------------------------------------- workplaces


@router.get("/workplaces", response_model=WorkplacePage, summary="Search workplaces")
def list_workplaces(
    session: SessionDep,
    q: str | None = Query(None, description="Part of a name or workplace number."),
    industry: str | None = Query(None, description="Industry code or label."),
    district: str | None = Query(None, description="District code or name."),
    limit: Limit = 50,
    offset: Offset = 0,
) -> WorkplacePage:
    flt = service.WorkplaceFilter(
        text=q,
        industry=_code(industry, vocab.INDUSTRIES, "industry"),
        district_code=service.resolve_region(district, None)[0],
    )
    items, total = service.list_workplaces(session, flt=flt, limit=limit, offset=offset)
    return WorkplacePage(
        total=total, limit=limit, offset=offset, items=service.workplace_reads(session, items)
    )


@router.post(
    "/workplaces",
    response_model=WorkplaceRead,
    status_code=201,
    summary="Register a workplace and its units",
)
def create_workplace(data: WorkplaceCreate, session: SessionDep) -> WorkplaceRead:
    workplace = service.create_workplace(session, data=data)
    return service.workplace_reads(session, [workplace])[0]


@router.post(
    "/workplaces/import",
    response_model=ImportReport,
    summary="Import workplaces and units from .csv or .xlsx (all or nothing, idempotent)",
)
def import_workplaces(
    file: Annotated[UploadFile, File()], session: SessionDep, clock: ClockDep
) -> ImportReport:
    return importer.import_workplaces(
        session, data=file.file.read(), filename=file.filename or "upload.csv", now=clock.now()
    )


@router.get("/workplaces/{workplace_no}", response_model=WorkplaceRead, summary="One workplace")
def get_workplace(workplace_no: str, session: SessionDep) -> WorkplaceRead:
    workplace = service.get_workplace(session, workplace_no=workplace_no)
    return service.workplace_reads(session, [workplace])[0]
