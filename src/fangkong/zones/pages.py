"""Pages of risk zones: the zone map with levels and countdowns, one zone's page (extent,
counts, residents and places — masked unless the caller reads personal data, and then
audited —, history, conditions with their rules, rounds, notice), and the reopening
decision as a matrix. Reads need ``zones.read``; everything is cut to the jurisdiction."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import NotFound
from fangkong.web.templating import templates
from fangkong.zones import board, inside, reopening

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(Require("zones.read", page=True))]


@router.get("/zones", response_class=HTMLResponse)
def zone_map(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reader,
    day: date | None = None,
) -> HTMLResponse:
    shown = day or today(clock)
    found = board.zone_map(session, day=shown, policy=policy, scope=principal.jurisdiction)
    return templates.TemplateResponse(
        request,
        "zones/map.html",
        {"nav": "zones", "map": found, "chart": found.chart(), "day": shown},
    )


@router.get("/zones/reopening", response_class=HTMLResponse)
def reopening_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    code: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    decisions = reopening.list_decisions(session, city_code=settings.city)
    chosen = code or (decisions[0].code if decisions else None)
    matrix = reopening.matrix(reopening.get_decision(session, code=chosen)) if chosen else None
    return templates.TemplateResponse(
        request,
        "zones/reopening.html",
        {
            "nav": "zones",
            "matrix": matrix,
            "decisions": [(d.code, d.title, board.local(d.effective_at)) for d in decisions],
            "local": board.local,
        },
    )


@router.get("/zones/{code}", response_class=HTMLResponse)
def zone_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reader,
    code: str,
    day: date | None = None,
    full: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    shown = day or today(clock)
    scope = principal.jurisdiction
    try:
        page = board.zone_page(session, code=code, day=shown, policy=policy, scope=scope)
    except NotFound:
        return templates.TemplateResponse(
            request, "zones/not_found.html", {"nav": "zones", "code": code}, status_code=404
        )
    full = full and principal.can("person.pii.read")
    residents = inside.residents(
        session, code=code, scope=scope, full=full, limit=50, offset=offset
    )
    if full:
        inside.record_full_view(session, principal=principal, found=residents, now=clock.now())
    return templates.TemplateResponse(
        request,
        "zones/zone.html",
        {
            "nav": "zones",
            "zone": page,
            "day": shown,
            "residents": residents,
            "places": inside.places_inside(session, code=code, scope=scope),
            "can_pii": principal.can("person.pii.read"),
        },
    )
