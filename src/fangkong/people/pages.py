"""HTML pages of the registry: persons (masked lists), one person, venues, workplaces.

A list answers an HTMX request (search, paging) with its table alone, a plain request
with the whole page, so the pages also work without JavaScript. Every page needs
``person.read`` and shows the caller's jurisdiction only; a person's page is in full
(and audited) only with ``person.pii.read``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from fangkong.apiutil import MAX_OFFSET
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import FangkongError
from fangkong.lake.layout import lake_root
from fangkong.people import lookups, service, venues, vocab, workplaces
from fangkong.regions import service as regions
from fangkong.web import person_record
from fangkong.web.templating import templates

router = APIRouter(include_in_schema=False)
PAGE = 50


Reader = Annotated[Principal, Depends(Require("person.read", page=True))]


def _pager(path: str, params: dict[str, str], offset: int, total: int) -> dict[str, Any]:
    """Links to the previous and next page, keeping the search."""
    kept = {k: v for k, v in params.items() if v}

    def url(at: int) -> str:
        return f"{path}?{urlencode({**kept, 'offset': at})}"

    return {
        "total": total,
        "first": offset + 1 if total else 0,
        "last": min(offset + PAGE, total),
        "prev_url": url(max(offset - PAGE, 0)) if offset > 0 else None,
        "next_url": url(offset + PAGE) if offset + PAGE < total else None,
    }


def _render(request: Request, page: str, table: str, context: dict[str, Any]) -> HTMLResponse:
    name = table if request.headers.get("HX-Request") == "true" else page
    return templates.TemplateResponse(request, name, context)


@router.get("/people", response_class=HTMLResponse)
def people_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    q: str = "",
    name: str = "",
    phone: str = "",
    id_number: str = "",
    district: str = "",
    community: str = "",
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> HTMLResponse:
    params = {
        "q": q,
        "name": name,
        "phone": phone,
        "id_number": id_number,
        "district": district,
        "community": community,
    }
    error = None
    people: list[Any] = []
    total = 0
    try:
        flt = service.PersonFilter(
            text=q or None,
            name=name or None,
            phone=phone or None,
            id_number=id_number or None,
            district_code=lookups.resolve_region(district or None, None)[0],
            community=community or None,
        )
        items, total = service.list_persons(
            session, flt=flt, scope=principal.jurisdiction, limit=PAGE, offset=offset
        )
        people = [service.person_read(p).masked_copy() for p in items]
    except FangkongError as exc:
        error = exc.message
    return _render(
        request,
        "people/people.html",
        "people/_people_table.html",
        {
            "nav": "people",
            "params": params,
            "districts": regions.districts(settings.city),
            "people": people,
            "error": error,
            "pager": _pager("/people", params, offset, total),
            "can_export": principal.can("export"),
        },
    )


@router.get("/people/{person_no}", response_class=HTMLResponse)
def person_page(
    request: Request,
    person_no: str,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reader,
) -> HTMLResponse:
    """一人一档: the person and everything each domain holds about them (web.person_record)."""
    record = person_record.person_record(
        session,
        person_no=person_no,
        principal=principal,
        policy=policy,
        lake=lake_root(settings.home),
        now=clock.now(),
    )
    return templates.TemplateResponse(
        request,
        "people/person.html",
        {
            "nav": "people",
            "person": record.person,
            "members": record.members,
            "record": record,
            "degree_labels": person_record.DEGREE_LABELS,
            "contact_status_labels": person_record.CONTACT_STATUS_LABELS,
            "class_labels": person_record.CLASS_LABELS,
            "found_via_labels": person_record.FOUND_VIA,
        },
    )


@router.get("/venues", response_class=HTMLResponse)
def venues_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    q: str = "",
    category: str = "",
    district: str = "",
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> HTMLResponse:
    params = {"q": q, "category": category, "district": district}
    error = None
    shown: list[Any] = []
    total = 0
    try:
        flt = venues.VenueFilter(
            text=q or None,
            category=vocab.normalise(category, vocab.VENUE_CATEGORIES) if category else None,
            district_code=lookups.resolve_region(district or None, None)[0],
        )
        items, total = venues.list_venues(
            session, flt=flt, scope=principal.jurisdiction, limit=PAGE, offset=offset
        )
        shown = [venues.venue_read(v) for v in items]
    except FangkongError as exc:
        error = exc.message
    return _render(
        request,
        "people/venues.html",
        "people/_venues_table.html",
        {
            "nav": "venues",
            "params": params,
            "districts": regions.districts(settings.city),
            "categories": vocab.VENUE_CATEGORIES,
            "venues": shown,
            "error": error,
            "pager": _pager("/venues", params, offset, total),
        },
    )


@router.get("/workplaces", response_class=HTMLResponse)
def workplaces_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    q: str = "",
    industry: str = "",
    district: str = "",
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> HTMLResponse:
    params = {"q": q, "industry": industry, "district": district}
    error = None
    found: list[Any] = []
    total = 0
    try:
        flt = workplaces.WorkplaceFilter(
            text=q or None,
            industry=vocab.normalise(industry, vocab.INDUSTRIES) if industry else None,
            district_code=lookups.resolve_region(district or None, None)[0],
        )
        items, total = workplaces.list_workplaces(
            session, flt=flt, scope=principal.jurisdiction, limit=PAGE, offset=offset
        )
        found = workplaces.workplace_reads(session, items)
    except FangkongError as exc:
        error = exc.message
    return _render(
        request,
        "people/workplaces.html",
        "people/_workplaces_table.html",
        {
            "nav": "workplaces",
            "params": params,
            "districts": regions.districts(settings.city),
            "industries": vocab.INDUSTRIES,
            "workplaces": found,
            "error": error,
            "pager": _pager("/workplaces", params, offset, total),
        },
    )
