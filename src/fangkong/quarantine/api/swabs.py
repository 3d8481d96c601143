"""HTTP API of the tests during quarantine: a site's round of the day, its worklist, and
the overdue tests. Samples and results go through the testing API (``/testing/rounds/…``),
where a site's staff reach their own site's rounds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from fangkong.apiutil import Days, RowIdPath
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.lake.layout import lake_root
from fangkong.quarantine import home_swabs, site_swabs

router = APIRouter(prefix="/quarantine", tags=["quarantine"])

# Both a site's staff and the planners read sites; what else they need is checked inside.
Reader = Annotated[Principal, Depends(Require("quarantine.read"))]
SITE = Path(max_length=32)
DAY = Query(alias="date", description="Local day, YYYY-MM-DD; default today.")


class SiteRoundRead(BaseModel):
    code: str
    name: str
    site_code: str
    day: date
    status: str
    due: int
    pool_size: int
    rule: str


class SiteTestRead(BaseModel):
    site_code: str
    site_name: str
    due_on: date
    stage: str
    number: int
    two_labs: bool
    state: str
    state_label: str
    overdue: bool
    round_code: str | None
    sampled_at: datetime | None
    resulted_at: datetime | None
    order_no: str
    order_status: str
    person_no: str
    name: str | None
    room_no: str | None


def _read(rows: list[site_swabs.SiteTest]) -> list[SiteTestRead]:
    return [SiteTestRead.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/sites/{code}/rounds",
    response_model=SiteRoundRead,
    summary="Open the site's testing round of a day (single tubes, the persons due); "
    "idempotent. Site staff (quarantine.site) for their site, planners (quarantine.plan)",
)
def open_round(
    code: Annotated[str, SITE],
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Reader,
    day: Annotated[date | None, DAY] = None,
    *,
    days: Days,
) -> SiteRoundRead:
    days.check(day, "date")
    scope = principal.jurisdiction
    principal.require("quarantine.site" if scope.kind == "site" else "quarantine.plan")
    site = site_swabs.site_by_code(session, code, scope=scope)
    when = day or today(clock)
    round_ = site_swabs.open_site_round(
        session,
        site,
        when,
        lake=lake_root(settings.home),
        policy=policy,
        now=clock.now(),
        actor=principal.name,
        scope=scope,
    )
    return SiteRoundRead(
        code=round_.code,
        name=round_.name,
        site_code=site.code,
        day=when,
        status=round_.status,
        due=round_.due_count,
        pool_size=round_.pool_size,
        rule=round_.rule,
    )


@router.get(
    "/sites/{code}/tests",
    response_model=list[SiteTestRead],
    summary="The site's tests of a day by room (names masked), with the overdue ones flagged",
)
def site_worklist(
    code: Annotated[str, SITE],
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    day: Annotated[date | None, DAY] = None,
    *,
    days: Days,
) -> list[SiteTestRead]:
    days.check(day, "date")
    scope = principal.jurisdiction
    site = site_swabs.site_by_code(session, code, scope=scope)
    now = today(clock)
    return _read(site_swabs.worklist(session, site, day or now, scope=scope, today=now))


@router.get(
    "/tests/overdue",
    response_model=list[SiteTestRead],
    summary="Tests at the sites whose day passed without a readable tube (as of the date)",
)
def overdue(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    day: Annotated[date | None, DAY] = None,
    *,
    days: Days,
) -> list[SiteTestRead]:
    days.check(day, "date")
    when = day or today(clock)
    return _read(site_swabs.overdue_tests(session, principal.jurisdiction, when))


class HomeRoundRead(BaseModel):
    code: str
    name: str
    community_id: int
    day: date
    status: str
    due: int
    rule: str


class HomeTestRead(BaseModel):
    due_on: date
    stage: str
    number: int
    state: str
    state_label: str
    overdue: bool
    round_code: str | None
    order_no: str
    person_no: str
    name: str | None
    address: str | None


@router.post(
    "/communities/{community_id}/rounds",
    response_model=HomeRoundRead,
    summary="Open a community's door-to-door round of a day for its people at home "
    "(home isolation, monitoring, rehabilitation); idempotent. Samplers or planners",
)
def open_home_round(
    community_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Reader,
    day: Annotated[date | None, DAY] = None,
    *,
    days: Days,
) -> HomeRoundRead:
    days.check(day, "date")
    if not principal.can("quarantine.plan"):
        principal.require("testing.sample")  # the community's own sampling team
    community = home_swabs.community_for(session, community_id, scope=principal.jurisdiction)
    when = day or today(clock)
    round_ = home_swabs.open_home_round(
        session,
        community,
        when,
        lake=lake_root(settings.home),
        policy=policy,
        now=clock.now(),
        actor=principal.name,
    )
    return HomeRoundRead(
        code=round_.code,
        name=round_.name,
        community_id=community.id,
        day=when,
        status=round_.status,
        due=round_.due_count,
        rule=round_.rule,
    )


@router.get(
    "/communities/{community_id}/tests",
    response_model=list[HomeTestRead],
    summary="A community's home tests of a day (names masked), overdue ones flagged",
)
def home_worklist(
    community_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    day: Annotated[date | None, DAY] = None,
    *,
    days: Days,
) -> list[HomeTestRead]:
    days.check(day, "date")
    community = home_swabs.community_for(session, community_id, scope=principal.jurisdiction)
    now = today(clock)
    rows = home_swabs.worklist(session, community, day or now, today=now)
    return [HomeTestRead.model_validate(r, from_attributes=True) for r in rows]
