"""The command HQ dashboard (指挥大屏): the day's figures, curve, map, units and bulletin.

It shows the caller's area: the whole city with the city bulletin for a city-wide
jurisdiction; a district's or unit's own figures, curve, map highlight and units otherwise
(the city bulletin is the HQ's to publish)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.deps import SignedIn
from fangkong.auth.homes import home
from fangkong.auth.jurisdiction import bind
from fangkong.auth.principal import Principal
from fangkong.cases import pages as case_pages
from fangkong.cases import service
from fangkong.cases.stats import DayFigures
from fangkong.clock import today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import NotFound
from fangkong.lake.layout import lake_root
from fangkong.policy import Policy, RuleRef
from fangkong.quarantine import pages as quarantine_pages
from fangkong.regions import service as regions
from fangkong.testing import views as testing_views
from fangkong.web.templating import templates
from fangkong.zones import board as zones_board

router = APIRouter(include_in_schema=False)
# The shell's pages come with the dashboard, so the app needs one include for all of them.
router.include_router(case_pages.router)

# Days before this are typos, not epidemics; the series would run from there to the day.
EARLIEST = date(2020, 1, 1)


class BadDay(ValueError):
    """A query day the dashboard cannot show; the message is for people."""


def parse_day(value: str | None, *, label: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadDay(f"{label}“{value}”无法识别，请使用 YYYY-MM-DD 格式。") from None


@dataclass(frozen=True)
class Tile:
    label: str
    value: int
    previous: int | None = None
    hint: str = ""
    tone: str = ""

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.value - self.previous


@dataclass(frozen=True)
class Status:
    """A flag on the dashboard and the rule that decided it."""

    title: str
    ok: bool
    headline: str
    detail: str
    rule: str


def _rule(figures: DayFigures, prefix: str) -> str:
    found: list[RuleRef] = [r for r in figures.rules if r.rule.startswith(prefix)]
    return str(found[0]) if found else ""


def tiles(fig: DayFigures, prev: DayFigures | None) -> list[Tile]:
    def before(name: str) -> int | None:
        return None if prev is None else int(getattr(prev, name))

    imported = fig.imported_abroad + fig.imported_other_province
    return [
        Tile("新增本土确诊", fig.new_confirmed, before("new_confirmed"), tone="red"),
        Tile("新增本土无症状", fig.new_asymptomatic, before("new_asymptomatic"), tone="amber"),
        Tile("转为确诊", fig.conversions, before("conversions")),
        Tile("出院", fig.discharges, before("discharges"), tone="green"),
        Tile("累计确诊", fig.total_confirmed, before("total_confirmed")),
        Tile("累计无症状", fig.total_asymptomatic, before("total_asymptomatic")),
        Tile(
            "隔离管控中发现",
            fig.under_control,
            before("under_control"),
            hint="集中隔离、居家隔离/监测、封控区/管控区筛查",
        ),
        Tile(
            "社会面发现",
            fig.community,
            before("community"),
            hint=f"另有输入病例 {imported} 例" if imported else "社会面筛查、发热门诊、主动就诊等",
            tone="red" if fig.community else "green",
        ),
    ]


def statuses(fig: DayFigures, policy: Policy) -> list[Status]:
    rules = policy.community
    zero_rule = _rule(fig, "community.zero_streak")
    return [
        Status(
            "社会面动态清零",
            fig.community_zero,
            "当日社会面零新增" if fig.community_zero else f"当日社会面新增 {fig.community} 例",
            f"社会面连续{fig.zero_streak}天零新增",
            zero_rule,
        ),
        Status(
            "社会面清零",
            fig.community_cleared,
            "已实现社会面清零" if fig.community_cleared else "尚未实现社会面清零",
            f"标准：连续{rules.zero_streak_days}天社会面零新增（当前{fig.zero_streak}天）",
            zero_rule,
        ),
        Status(
            "稳定控制期",
            fig.stable_control,
            "已进入稳定控制期" if fig.stable_control else "尚未进入稳定控制期",
            f"标准：连续{rules.stable_control_days}天新增低于{rules.stable_control_below}例"
            f"且均在管控中发现（当前{fig.below_threshold_streak}天；"
            f"新增连续{fig.single_digit_streak}天低于{rules.stable_control_below}例）",
            _rule(fig, "community.stable_control"),
        ),
    ]


def _map_rows(
    city_code: str, rows: list[tuple[regions.ReportingUnit, DayFigures]]
) -> list[dict[str, Any]]:
    """Per district, with function zones folded into their host district (the map has no
    shapes for them). Only the districts of the given unit rows (the caller's area) are
    listed; the map leaves the others blank."""
    shown = {unit.district_code for unit, _ in rows}
    by_district: dict[str, dict[str, Any]] = {
        d.code: {"name": d.name, "code": d.code, "new": 0, "total": 0, "zones": []}
        for d in regions.districts(city_code)
        if d.code in shown
    }
    for unit, fig in rows:
        entry = by_district.get(unit.district_code)
        if entry is None:
            continue
        entry["new"] += fig.new_total
        entry["total"] += fig.total_confirmed + fig.total_asymptomatic
        if unit.kind == "function_zone":
            entry["zones"].append(unit.name)
    return list(by_district.values())


def _has_boundaries(city_code: str) -> bool:
    try:
        regions.boundaries(city_code)
    except NotFound:
        return False
    return True


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: Annotated[Principal, Depends(SignedIn(page=True))],
    day: str | None = None,
    since: str | None = None,
) -> Response:
    if not principal.can("stats.read"):
        # "/" is every link to "home" (the brand, a sign-in without a target): a role that
        # does not read statistics works from its own page.
        return RedirectResponse(home(principal), status_code=303)
    city = regions.city(settings.city)
    scope = principal.jurisdiction
    whole_city = scope.whole_city and scope.city_code == city.code
    now_day = today(clock)
    first = service.first_day(session, city_code=city.code, scope=scope)
    last = service.last_day(session, city_code=city.code, scope=scope)
    # Every area opens on the city's latest day, the day its other cards (quarantine,
    # testing) speak of; an area's own last case may be days older.
    city_last = (
        last
        if whole_city
        else service.last_day(session, city_code=city.code, scope=bind("city", city.code))
    )
    default_day = min(now_day, city_last) if city_last is not None else now_day
    error = None
    try:
        chosen = parse_day(day, label="日期")
        if chosen is not None and not EARLIEST <= chosen <= now_day:
            raise BadDay(f"日期 {chosen} 超出范围：应在 {EARLIEST} 至今天（{now_day}）之间。")
        the_day = chosen or default_day
        start = parse_day(since, label="累计起始日")
        if start is not None and not EARLIEST <= start <= the_day:
            raise BadDay(f"累计起始日 {start} 应不早于 {EARLIEST} 且不晚于所选日期。")
    except BadDay as exc:
        error = str(exc)
        the_day, start = default_day, None
    if start is None:
        start = parse_day(settings.outbreak_start, label="FANGKONG_OUTBREAK_START") or first
        if start is not None and start > the_day:
            start = None

    pair = service.day_series(
        session,
        city_code=city.code,
        start=the_day - timedelta(days=1),
        end=the_day,
        policy=policy,
        since=start,
        scope=scope,
    )
    prev, fig = pair[-2], pair[-1]
    unit_rows = service.unit_figures(
        session, city_code=city.code, day=the_day, policy=policy, since=start, scope=scope
    )
    bulletin = None
    if whole_city:
        bulletin = service.bulletin_text(
            session, city_code=city.code, day=the_day, since=start, policy=policy, scope=scope
        )
    curve_end = max(last, the_day) if last is not None else the_day
    chart = {
        "city": city.code,
        "day": the_day.isoformat(),
        "start": (first or the_day).isoformat(),
        "end": curve_end.isoformat(),
        "since": start.isoformat() if start else None,
        "hasMap": _has_boundaries(city.code),
        "districts": _map_rows(city.code, unit_rows),
        "area": None if whole_city else scope.label(),
    }
    context = {
        "nav": "dashboard",
        "city": city,
        "area": city.name if whole_city else scope.label(),
        "whole_city": whole_city,
        "can_write": principal.can("cases.write"),
        "day": the_day,
        "since": start,
        "first": first,
        "last": last,
        "today": now_day,
        "prev_day": the_day - timedelta(days=1) if the_day > EARLIEST else None,
        "next_day": the_day + timedelta(days=1) if the_day < now_day else None,
        "error": error,
        "empty": first is None,
        "figures": fig,
        "tiles": tiles(fig, prev),
        "statuses": statuses(fig, policy),
        "policy": policy,
        "units": unit_rows,
        "bulletin": bulletin,
        "chart": chart,
        "testing_round": testing_views.open_round_card(
            session, lake_root(settings.home), principal.jurisdiction, clock.now()
        )
        if principal.can("testing.read")
        else None,
    }
    if principal.can("zones.read"):
        context["zones"] = zones_board.card(
            session, day=the_day, policy=policy, scope=principal.jurisdiction
        )
    card = quarantine_pages.board_card(session, principal, now_day)
    context["quarantine"], context["alerts_open"] = card if card else (None, 0)
    return templates.TemplateResponse(
        request, "dashboard.html", context, status_code=400 if error else 200
    )
