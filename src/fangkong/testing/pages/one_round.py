"""One round's page: its figures, pool sizes, hourly progress, coverage drilled from
district to community, sampling points; applying results and closing sampling."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import Principal
from fangkong.clock import beijing_minute
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import FangkongError
from fangkong.flows import rounds
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.testing import lists, service, views
from fangkong.testing.models import TestingRound
from fangkong.testing.outcome import Level
from fangkong.testing.pages.common import (
    LakeDep,
    Planner,
    Reader,
    failed_page,
    no_round_page,
    round_in_scope,
)
from fangkong.testing.pooling import PoolingScheme
from fangkong.testing.texts import (
    KIND_TITLES,
    LEVEL_LABELS,
    LEVEL_ORDER,
    POOL_MODE_LABELS,
    STATUS_LABELS,
    percent,
    pool_text,
    window_text,
)
from fangkong.tracing import service as tracing_service
from fangkong.web import forms
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)

SHOWN_POINTS = 200
DONE_MESSAGES = {
    "created": "轮次已创建：应检人员名单已生成，采样点已按人口规划。",
    "closed": "已结束采样：此后上传的采样记录将被拒绝；检测结果仍可上传和应用。",
}


def _drill(level: str, parent: str, scope: Jurisdiction) -> tuple[str, str | None]:
    """The coverage level and parent asked for, made sensible for the caller."""
    start = views.start_level(scope)
    reg = regions.registry()
    if level not in LEVEL_ORDER or LEVEL_ORDER.index(level) < LEVEL_ORDER.index(start):
        return start, None
    if level == "street" and parent in reg.districts:
        return level, parent
    if level == "community" and parent in reg.streets:
        return level, parent
    # Below the caller's widest level, rows without a parent would be a whole city's.
    return (level, None) if level == start else (start, None)


def _crumbs(code: str, level: str, parent: str | None, scope: Jurisdiction) -> list[Any]:
    """The path from the caller's widest level down to the rows shown (label, link)."""
    start = LEVEL_ORDER.index(views.start_level(scope))
    reg = regions.registry()
    base = f"/testing/rounds/{code}"

    def url(lv: str, of: str | None = None) -> str:
        query = {"level": lv, **({"parent": of} if of else {})}
        return f"{base}?{urlencode(query)}"

    crumbs: list[tuple[str, str | None]] = []
    top = LEVEL_ORDER[start]
    crumbs.append((f"全部{LEVEL_LABELS[top]}", url(top)))
    if level == "street" and parent and start == 0:
        crumbs.append((reg.districts[parent].name, None))
    elif level == "community" and parent:
        district = reg.streets[parent].district_code
        if start == 0:
            crumbs.append((reg.districts[district].name, url("street", district)))
        if start <= 1:
            crumbs.append((reg.streets[parent].name, None))
    if len(crumbs) == 1:
        crumbs[0] = (crumbs[0][0], None)
    return crumbs


def _coverage_view(
    lake: Path, round_: TestingRound, level: str, parent: str | None, scope: Jurisdiction
) -> dict[str, Any]:
    rows = lists.coverage(lake, round_, level=cast(Level, level), parent=parent, scope=scope)
    base = f"/testing/rounds/{round_.code}"
    shown = []
    for r in rows:
        link = None
        if r["level"] == "district":
            link = f"{base}?{urlencode({'level': 'street', 'parent': r['area_code']})}"
        elif r["level"] == "street":
            link = f"{base}?{urlencode({'level': 'community', 'parent': r['area_code']})}"
        shown.append(
            {
                **r,
                "link": link,
                "rate_text": f"{r['rate']:.1%}" if r["rate"] is not None else "—",
            }
        )
    sums = {k: sum(int(r[k]) for r in rows) for k in ("due", "sampled", "exempt", "missing")}
    total = {**sums, "rate_text": percent(sums["sampled"], sums["due"] - sums["exempt"])}
    return {
        "level": level,
        "level_label": LEVEL_LABELS[level],
        "rows": shown,
        "total": total,
        "crumbs": _crumbs(round_.code, level, parent, scope),
    }


def _figures(found: Mapping[str, Any]) -> dict[str, Any]:
    counts = found["counts"]
    tubes = found["tubes_first_stage"] + found["tubes_retest"]
    return {
        **counts,
        "rate": percent(counts["sampled"], counts["due"] - counts["exempt"]),
        "persons_sampled": found["persons_sampled"],
        "tubes_first_stage": found["tubes_first_stage"],
        "tubes_retest": found["tubes_retest"],
        "tubes": tubes,
        "tests_per_person": f"{found['tests_per_person']:.3f}",
        "positivity": f"{found['positivity']:.4%}",
        "fixed_size": found["fixed_size"],
        "fixed_tests_per_person": f"{found['fixed_tests_per_person']:.3f}",
        "entropy_floor": f"{found['entropy_floor']:.3f}",
        "saved": found["tests_per_person"] <= found["fixed_tests_per_person"],
    }


def _area_view(a: Mapping[str, Any]) -> dict[str, Any]:
    p = a["positivity"]
    sizes = (a["pool_size"], a["three_stage_size"]) if a["three_stage_size"] else (a["pool_size"],)
    expected = PoolingScheme(sizes).expected_tests(p) if p is not None else None
    return {
        "name": a["name"],
        "level": LEVEL_LABELS.get(a["level"], a["level"]),
        "population": a["population"],
        "pool": pool_text(a["pool_size"], a["three_stage_size"]),
        "positivity": "—" if p is None else f"{p:.4%}",
        "expected": "—" if expected is None else f"{expected:.3f}",
        "rule": a["rule"],
    }


def _points_view(
    session: Session, round_: TestingRound, scope: Jurisdiction
) -> tuple[list[dict[str, Any]], int]:
    points = service.points_of(session, round_, scope)
    streets = regions.registry().streets
    return [
        {
            "code": p.code,
            "name": p.name,
            "street": streets[p.street_code].name if p.street_code in streets else "",
            "population": p.population,
            "staff": p.staff,
            "tables": p.tables,
            "window": window_text(p.opens_at, p.closes_at),
        }
        for p in points[:SHOWN_POINTS]
    ], len(points)


def _done_text(done: str, query: Mapping[str, str]) -> str:
    if done == "applied":
        text = (
            f"检测结果已应用：新增待复核人员 {query.get('recalls', '0')} 人，"
            f"复核结果更新 {query.get('settled', '0')} 人，新增病例 {query.get('cases', '0')} 例"
        )
        if query.get("cases", "0") != "0":
            text += "（已登记为无症状感染者并开展流调）"
        return text + "。"
    return DONE_MESSAGES.get(done, "")


def _render_round(
    request: Request,
    session: Session,
    lake: Path,
    policy: Policy,
    principal: Principal,
    round_: TestingRound,
    *,
    level: str = "",
    parent: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    scope = principal.jurisdiction
    summary = service.round_summary(round_)
    found = summary["outcome"]
    lv, of = _drill(level, parent, scope)
    coverage = _coverage_view(lake, round_, lv, of, scope) if found else None
    headers = request.headers
    if (
        coverage is not None
        and "HX-Request" in headers
        and "HX-History-Restore-Request" not in headers
    ):
        context = {"round": round_, "coverage": coverage}
        response = templates.TemplateResponse(request, "testing/_coverage.html", context)
        response.headers["Vary"] = "HX-Request"
        return response
    points, point_count = _points_view(session, round_, scope)
    context = {
        "nav": "testing",
        "round": round_,
        "kind_title": KIND_TITLES.get(round_.kind, round_.kind),
        "status_label": STATUS_LABELS.get(round_.status, round_.status),
        "window": window_text(round_.starts_at, round_.ends_at),
        "pool_mode": POOL_MODE_LABELS.get(round_.pool_mode, round_.pool_mode),
        "areas": [_area_view(a) for a in summary["areas"]],
        "applied_at": beijing_minute(round_.applied_at),
        "figures": _figures(found) if found else None,
        "chart": views.progress_chart(lake, round_) if found else None,
        "turnaround": lists.turnaround(lake, round_) if found else [],
        "coverage": coverage,
        "points": points,
        "point_count": point_count,
        "shown_points": SHOWN_POINTS,
        "can_plan": principal.can("testing.plan"),
        "done": _done_text(request.query_params.get("done", ""), request.query_params),
        "error": error,
        "policy": policy,
    }
    response = templates.TemplateResponse(
        request, "testing/round.html", context, status_code=status
    )
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/testing/rounds/{code}", response_class=HTMLResponse)
def round_detail(
    request: Request,
    code: str,
    session: SessionDep,
    lake: LakeDep,
    policy: PolicyDep,
    principal: Reader,
    level: str = "",
    parent: str = "",
) -> HTMLResponse:
    round_ = round_in_scope(session, code, principal)
    if round_ is None:
        return no_round_page(request, code)
    try:
        return _render_round(
            request, session, lake, policy, principal, round_, level=level, parent=parent
        )
    except FangkongError as exc:
        return failed_page(request, exc, ("/testing", "返回核酸检测轮次"))


@router.post("/testing/rounds/{code}/apply", response_class=HTMLResponse)
def round_apply(
    request: Request,
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Planner,
) -> Response:
    round_ = round_in_scope(session, code, principal)
    if round_ is None:
        return no_round_page(request, code)
    lake = tracing_service.open_lake(
        home=settings.home, engine=settings.engine, spark_master=settings.spark_master
    )
    with forms.undone_on_error(session) as undone:
        report = rounds.apply_round(
            session,
            round_,
            lake=lake.root,
            policy=policy,
            now=clock.now(),
            scope=principal.jurisdiction,
            con=lake.con,
        )
    if undone.error is not None:
        round_ = round_in_scope(session, code, principal)  # as it was before the attempt
        assert round_ is not None
        return _render_round(
            request,
            session,
            lake.root,
            policy,
            principal,
            round_,
            error=f"未能应用检测结果：{undone.error.message}",
            status=undone.error.status,
        )
    query = {
        "done": "applied",
        "recalls": report.recalls_added,
        "settled": report.recalls_settled,
        "cases": len(report.cases),
    }
    return RedirectResponse(f"/testing/rounds/{code}?{urlencode(query)}", status_code=303)


@router.post("/testing/rounds/{code}/close", response_class=HTMLResponse)
def round_close(
    request: Request, code: str, session: SessionDep, clock: ClockDep, principal: Planner
) -> Response:
    round_ = round_in_scope(session, code, principal)
    if round_ is None:
        return no_round_page(request, code)
    service.close_round(round_, now=clock.now())
    return RedirectResponse(f"/testing/rounds/{code}?done=closed", status_code=303)
