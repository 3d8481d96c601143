"""The one search box: persons by ID number, phone or the start of their name, a case by
its number, a venue by its code; the page ``/search`` and ``GET /api/v1/search``.

Exact fields are normalised and looked up through their indexes (``people.service
.search_persons``, ``cases.service.get_case``, ``people.venues.get_venue``); a name matches
by its beginning, which the name's index serves. Each domain cuts its answer to the
caller's jurisdiction, and a kind the caller's role may not read is not searched. Results
are masked; a result links only to a page the caller may open, and the person's page is
where the full record is read (and audited). A look-up by ID number or phone is itself
recorded in the audit log (the kind of look-up, never the value).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from fangkong.auth import audit
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.cases import service as cases_service
from fangkong.cases.vocab import CLASSIFICATION_LABELS, Classification
from fangkong.deps import ClockDep, SessionDep
from fangkong.errors import NotFound
from fangkong.people import service as people_service
from fangkong.people import venues as people_venues
from fangkong.people.vocab import VENUE_CATEGORIES
from fangkong.regions import service as regions
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["search"])
RULE = (
    "身份证号、手机号、病例编号、场所码须完整输入（精确匹配）；"
    "姓名按开头匹配（如输入“张”或“张三”）。"
)
KIND_LABELS = {"person": "人员", "case": "病例", "venue": "场所"}


@dataclass(frozen=True)
class Hit:
    kind: str  # person, case, venue
    key: str  # person number, case number, venue code
    label: str  # masked name, classification, venue name
    detail: str
    url: str | None  # only when the caller may open it


# Every role that reads cases reads the registry too: person.read opens the search.
Searcher = Annotated[Principal, Depends(Require("person.read", page=True))]
ApiSearcher = Annotated[Principal, Depends(Require("person.read"))]


def search(session: Session, *, text: str, principal: Principal, now: datetime) -> list[Hit]:
    """Every hit for ``text`` the caller may see: cases, venues, then persons."""
    query = text.strip()
    if not query:
        return []
    scope = principal.jurisdiction
    hits: list[Hit] = []
    if principal.can("cases.read"):
        for case_no in dict.fromkeys((query, query.upper())):
            try:
                case = cases_service.get_case(session, case_no=case_no, scope=scope)
            except NotFound:
                continue
            label = CLASSIFICATION_LABELS[Classification(case.classification)]
            district = regions.registry().districts[case.district_code].name
            detail = f"{district} · 报告于 {case.reported_on}"
            hits.append(Hit("case", case.case_no, label, detail, f"/cases/{case.case_no}"))
            break
    # persons and venues: person.read, which the routes require
    try:
        venue = people_venues.get_venue(session, venue_code=query, scope=scope)
    except NotFound:
        pass
    else:
        url = (
            f"/venues/{venue.venue_code}/exposures"
            if principal.can("tracing.read")
            else f"/venues?q={venue.venue_code}"
        )
        category = VENUE_CATEGORIES.get(venue.category, venue.category)
        hits.append(Hit("venue", venue.venue_code, venue.name, category, url))
    for person in people_service.search_persons(session, text=query, scope=scope):
        read = people_service.person_read(person).masked_copy()
        where = " ".join(x for x in (read.district_name, read.community) if x)
        detail = " · ".join(x for x in (read.id_number, read.phone, where) if x)
        url = f"/people/{person.person_no}"
        hits.append(Hit("person", person.person_no, read.name or "", detail, url))
    identifiers = [
        kind
        for kind, found in (
            ("id_number", people_service.normal_id_number(query)),
            ("phone", people_service.normal_phone(query)),
        )
        if found
    ]
    if identifiers:
        audit.record(
            session,
            principal=principal,
            action="search",
            now=now,
            entity_type="person",
            fields=identifiers,
            detail={"hits": sum(h.kind == "person" for h in hits)},
        )
    return hits


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, session: SessionDep, clock: ClockDep, principal: Searcher, q: str = ""
) -> HTMLResponse:
    hits = search(session, text=q, principal=principal, now=clock.now())
    context: dict[str, Any] = {
        "nav": "search",
        "q": q.strip(),
        "hits": hits,
        "rule": RULE,
        "kind_labels": KIND_LABELS,
    }
    return templates.TemplateResponse(request, "search.html", context)


@api_router.get("/search")
def search_api(
    session: SessionDep,
    clock: ClockDep,
    principal: ApiSearcher,
    q: str = Query(..., min_length=1, max_length=64),
) -> dict[str, Any]:
    """Persons (exact ID number or phone, or the start of the name), a case (its number)
    and a venue (its code) inside the caller's jurisdiction; masked; ``url`` only where
    the caller may open the page."""
    hits = search(session, text=q, principal=principal, now=clock.now())
    return {"query": q.strip(), "rule": RULE, "hits": [asdict(h) for h in hits]}
