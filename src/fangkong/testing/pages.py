"""HTML pages of mass nucleic-acid testing (全员核酸检测) and routine testing (常态化检测):
the rounds, a round's figures, coverage and sampling points, the lists a community worker
acts on, and the compliance of the key populations.

Each page names its permission and passes the caller's jurisdiction to the service; a round
outside it is answered like one that does not exist. People are always shown masked: the
full lists are the audited Excel exports of the API.

Page handlers own the transaction (``SessionDep`` commits when they return), so a handler
that shows an error rolls back first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from fangkong.auth.deps import Require
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction, Principal
from fangkong.clock import LOCAL_TZ, chinese_day
from fangkong.config import Settings
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import Conflict, FangkongError, InvalidInput, NotFound
from fangkong.flows import rounds
from fangkong.lake.layout import lake_root
from fangkong.people.joins import Community, Person
from fangkong.people.masking import mask_name, mask_phone
from fangkong.people.vocab import INDUSTRIES
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.testing import apply as applying
from fangkong.testing import lists, outcome, routine, service
from fangkong.testing.models import RoundExemption, TestingRound
from fangkong.testing.outcome import Level
from fangkong.testing.pooling import PoolingScheme
from fangkong.tracing import service as tracing_service
from fangkong.web.templating import templates

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(Require("testing.read", page=True))]
Planner = Annotated[Principal, Depends(Require("testing.plan", page=True))]
Exempter = Annotated[Principal, Depends(Require("testing.exempt", page=True))]
Sampler = Annotated[Principal, Depends(Require("testing.sample", page=True))]

KIND_LABELS = {"mass": "全员", "routine": "常态化", "quarantine": "隔离点"}
KIND_TITLES = {"mass": "全员核酸检测", "routine": "常态化核酸检测", "quarantine": "隔离点核酸检测"}
STATUS_LABELS = {"open": "采样中", "closed": "已结束采样"}
POOL_MODE_LABELS = {"fixed": "固定混采规模", "by_area": "按区域阳性率选择"}
LEVEL_LABELS = {"district": "区县", "street": "街道（镇）", "community": "社区"}
LEVEL_ORDER = ("district", "street", "community")
FREQUENCY_LABELS = {
    "daily": "每日",
    "every_2_days": "每2日",
    "twice_weekly": "每周两次",
    "weekly": "每周",
}
LIST_STATES = {"missing": ("missing",), "recall": ("pool_positive",), "retest": ("retest",)}
LIST_HINTS = {
    "missing": "应检未检、也未登记免检的人员：请电话或入户通知其到采样点采样。",
    "recall": "所在混管检测阳性的人员：立即就地管控，单管单采复核；复采后点击“已复采”。",
    "retest": "样本无法检测（无效管）且之后未再采样的人员：请通知其重新采样。",
}
SHOWN_ROWS = 500  # a page lists this many; the rest is the Excel export
SHOWN_POINTS = 200
FORM_ERROR = "_form"
FIELD_LABELS = {
    "code": "轮次编号",
    "name": "名称",
    "kind": "检测类型",
    "areas": "检测区域",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "pool_mode": "混采方式",
    "pool_size": "混采规模",
    "three_stage": "三阶段复核",
}
FORM_FIELDS = ("code", "name", "kind", "starts_at", "ends_at", "pool_mode", "pool_size")
DONE_MESSAGES = {
    "created": "轮次已创建：应检人员名单已生成，采样点已按人口规划。",
    "closed": "已结束采样：此后上传的采样记录将被拒绝；检测结果仍可上传和应用。",
}

Errors = dict[str, list[str]]


# ---------------------------------------------------------------- shared


def _lake(settings: SettingsDep) -> Path:
    return lake_root(settings.home)


LakeDep = Annotated[Path, Depends(_lake)]


async def _form(request: Request) -> FormData:
    """The submitted form (read here so that the handlers can stay synchronous)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def local_time(moment: datetime | None) -> str:
    """``2022-03-21 06:00`` in Beijing time; the lake gives UTC without a zone."""
    if moment is None:
        return ""
    return _aware(moment).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def window_text(start: datetime, end: datetime) -> str:
    a, b = _aware(start).astimezone(LOCAL_TZ), _aware(end).astimezone(LOCAL_TZ)
    tail = f"{b:%H:%M}" if a.date() == b.date() else f"{chinese_day(b.date())} {b:%H:%M}"
    return f"{chinese_day(a.date())} {a:%H:%M}—{tail}"


def percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole > 0 else "—"


def pool_text(size: int, second: int | None = None) -> str:
    if size == 1:
        return "单管单采"
    text = f"{size}合1"
    return f"{text}，阳性混管人员再按{second}合1复采后单管复核" if second else text


def _error(
    request: Request,
    message: str,
    back: tuple[str, str] = ("/testing", "返回核酸检测轮次"),
    status: int = 404,
) -> HTMLResponse:
    context = {"nav": "testing", "message": message, "back": back}
    return templates.TemplateResponse(request, "testing/error.html", context, status_code=status)


def _failed(request: Request, exc: FangkongError, back: tuple[str, str]) -> HTMLResponse:
    """A domain error met while reading a page, said as a page rather than as JSON."""
    if isinstance(exc, NotFound) and "outcome" in exc.message:
        message = "本轮次检测结果的文件不存在或不完整，请重新“应用检测结果”。"
    else:
        message = f"无法显示此页：{exc.message}"
    return _error(request, message, back, status=exc.status)


def _no_round(request: Request, code: str) -> HTMLResponse:
    return _error(request, f"未找到核酸检测轮次 {code}。")


def _round(session: Session, code: str, principal: Principal) -> TestingRound | None:
    try:
        return service.get_round(session, code=code, scope=principal.jurisdiction)
    except NotFound:
        return None


def _counts(round_: TestingRound) -> dict[str, int] | None:
    found = service.outcome_of(round_)
    return found["counts"] if found else None


# ---------------------------------------------------------------- rounds and the form


def _area_choices(settings: Settings, scope: Jurisdiction) -> list[dict[str, Any]]:
    """Districts (whole, where the caller may take one) and their streets, in the caller's
    area: what a round may cover."""
    city = regions.city(settings.city).code
    whole = scope.whole_city or scope.kind == "district"
    choices = []
    for district in regions.districts(city):
        streets = [
            s
            for s in regions.streets(district.code)
            if scope.covers(city_code=city, district_code=district.code, street_code=s.code)
            and scope.kind != "community"
        ]
        if streets:
            choices.append({"district": district, "whole": whole, "streets": streets})
    return choices


def _field_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def _render_rounds(
    request: Request,
    session: Session,
    settings: Settings,
    policy: Policy,
    principal: Principal,
    *,
    values: Mapping[str, str],
    chosen: Iterable[str],
    errors: Errors,
    status: int = 200,
) -> HTMLResponse:
    rows = []
    for r in service.list_rounds(session, scope=principal.jurisdiction):
        counts = _counts(r)
        rows.append(
            {
                "code": r.code,
                "name": r.name,
                "kind": KIND_LABELS.get(r.kind, r.kind),
                "window": window_text(r.starts_at, r.ends_at),
                "status": r.status,
                "status_label": STATUS_LABELS.get(r.status, r.status),
                "due": r.due_count,
                "rate": percent(counts["sampled"], counts["due"] - counts["exempt"])
                if counts
                else "—",
                "positive": counts["positive"] if counts else None,
                "applied": local_time(r.applied_at),
            }
        )
    context = {
        "nav": "testing",
        "rows": rows,
        "can_plan": principal.can("testing.plan"),
        "values": values,
        "chosen": set(chosen),
        "errors": errors,
        "labels": FIELD_LABELS,
        "areas": _area_choices(settings, principal.jurisdiction),
        "kinds": list(KIND_TITLES.items()),
        "pool_modes": list(POOL_MODE_LABELS.items()),
        "pool_sizes": [(str(n), pool_text(n)) for n in policy.testing.allowed_pool_sizes],
        "round_hours": policy.testing.round_hours,
        "policy": policy,
    }
    return templates.TemplateResponse(request, "testing/rounds.html", context, status_code=status)


@router.get("/testing", response_class=HTMLResponse)
def round_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reader,
) -> HTMLResponse:
    # The next full hour: a round is usually set up the evening before it starts.
    start = (clock.now() + timedelta(hours=1)).astimezone(LOCAL_TZ)
    values = {
        "kind": "mass",
        "pool_mode": "fixed",
        "pool_size": str(policy.testing.default_pool_size),
        "starts_at": _field_time(start.replace(minute=0, second=0, microsecond=0)),
    }
    return _render_rounds(
        request, session, settings, policy, principal, values=values, chosen=(), errors={}
    )


def _parse_local(value: str) -> datetime:
    """A datetime-local field (``2022-03-21T06:00``) as Beijing time."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _spec(
    values: Mapping[str, str], areas: Sequence[str], three_stage: bool, city: str
) -> tuple[service.RoundSpec | None, Errors]:
    """The round the form describes, or what is wrong with it in the form's words."""
    errors: Errors = {}
    if not values["code"]:
        errors["code"] = ["必填"]
    elif not service.ROUND_CODE.match(values["code"]):
        errors["code"] = ["只能包含字母、数字、下划线、点和连字符，最多 64 个字符"]
    if not values["name"]:
        errors["name"] = ["必填"]
    elif len(values["name"]) > 128:
        errors["name"] = ["最多 128 个字符"]
    if values["kind"] not in KIND_TITLES:
        errors["kind"] = ["请选择检测类型"]
    if values["pool_mode"] not in POOL_MODE_LABELS:
        errors["pool_mode"] = ["请选择混采方式"]
    if not areas:
        errors["areas"] = ["请至少选择一个区域"]
    starts = ends = None
    try:
        starts = _parse_local(values["starts_at"])
    except ValueError:
        errors["starts_at"] = ["请填写开始时间（年-月-日 时:分）"]
    if values["ends_at"]:
        try:
            ends = _parse_local(values["ends_at"])
        except ValueError:
            errors["ends_at"] = ["时间格式应为 年-月-日 时:分"]
    size = int(values["pool_size"]) if values["pool_size"].isdigit() else None
    if size is None:
        errors["pool_size"] = ["请选择混采规模"]
    if errors or starts is None:
        return None, errors
    spec = service.RoundSpec(
        code=values["code"],
        name=values["name"],
        kind=values["kind"],
        city_code=city,
        areas=list(areas),
        starts_at=starts,
        ends_at=ends,
        pool_mode=values["pool_mode"],
        pool_size=size,
        three_stage=three_stage and values["pool_mode"] == "by_area",
    )
    return spec, {}


_INSIDE = re.compile(r"^area (.+) lies inside (.+): give one of them$")
_OUTSIDE = re.compile(r"^area (.+) is outside your jurisdiction$")


def create_errors(exc: FangkongError, policy: Policy) -> Errors:
    """Where a service error belongs on the form, said in Chinese."""
    details: Mapping[str, Any] = exc.details
    message = exc.message
    if isinstance(exc, OutsideJurisdiction):
        found = _OUTSIDE.match(message)
        place = found.group(1) if found else details.get("area", "")
        return {"areas": [f"{place}不在您的管辖范围内"]}
    if isinstance(exc, Conflict) and "code" in details:
        return {"code": [f"轮次编号 {details['code']} 已存在"]}
    if isinstance(exc, InvalidInput):
        if found := _INSIDE.match(message):
            return {"areas": [f"{found.group(1)}位于{found.group(2)}内，请只选其一"]}
        if "pool_size" in details:
            allowed = "、".join(map(str, policy.testing.allowed_pool_sizes))
            return {"pool_size": [f"检测机构仅支持 {allowed} 合1（1 为单管单采）"]}
        if "area" in details:
            return {"areas": [f"无法识别的区域：{details['area']}"]}
        if "routine" in message:
            return {"kind": ["常态化检测须按区县、街道组织，且防控方案须规定重点人群"]}
        if "ends after it starts" in message:
            return {"ends_at": ["结束时间应晚于开始时间"]}
        if "at least one area" in message:
            return {"areas": ["请至少选择一个区域"]}
    return {FORM_ERROR: [f"未能创建轮次：{message}"]}


@router.post("/testing/rounds", response_class=HTMLResponse)
def round_create(
    request: Request,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Planner,
) -> Response:
    values = {name: _text(form, name) for name in FORM_FIELDS}
    areas = [a.strip() for a in form.getlist("areas") if isinstance(a, str) and a.strip()]
    three_stage = bool(_text(form, "three_stage"))
    if three_stage:
        values["three_stage"] = "1"
    city = regions.city(settings.city).code
    spec, errors = _spec(values, areas, three_stage, city)
    if spec is not None:
        try:
            round_ = service.create_round(
                session,
                spec,
                lake=lake_root(settings.home),
                policy=policy,
                now=clock.now(),
                actor=principal.name,
                scope=principal.jurisdiction,
            )
        except FangkongError as exc:
            session.rollback()
            errors = create_errors(exc, policy)
        else:
            return RedirectResponse(f"/testing/rounds/{round_.code}?done=created", status_code=303)
    return _render_rounds(
        request,
        session,
        settings,
        policy,
        principal,
        values=values,
        chosen=areas,
        errors=errors,
        status=422,
    )


# ---------------------------------------------------------------- one round


def _start_level(scope: Jurisdiction) -> str:
    """The widest coverage level the caller sees rows of."""
    if scope.whole_city or scope.kind == "district":
        return "district"
    return "community" if scope.kind == "community" else "street"


def _drill(level: str, parent: str, scope: Jurisdiction) -> tuple[str, str | None]:
    """The coverage level and parent asked for, made sensible for the caller."""
    start = _start_level(scope)
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
    start = LEVEL_ORDER.index(_start_level(scope))
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


def _progress_chart(lake: Path, round_: TestingRound) -> dict[str, Any]:
    rows = lists.progress(lake, round_)
    hours = [_aware(r["hour_start"]).astimezone(LOCAL_TZ) for r in rows]
    return {
        "hours": [f"{h.month}/{h.day} {h:%H}:00" for h in hours],
        "samples": [int(r["samples"]) for r in rows],
        "cumulative": [int(r["persons_cumulative"]) for r in rows],
        "due": round_.due_count,
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
        "applied_at": local_time(round_.applied_at),
        "figures": _figures(found) if found else None,
        "chart": _progress_chart(lake, round_) if found else None,
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
    round_ = _round(session, code, principal)
    if round_ is None:
        return _no_round(request, code)
    try:
        return _render_round(
            request, session, lake, policy, principal, round_, level=level, parent=parent
        )
    except FangkongError as exc:
        return _failed(request, exc, ("/testing", "返回核酸检测轮次"))


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
    round_ = _round(session, code, principal)
    if round_ is None:
        return _no_round(request, code)
    lake = tracing_service.open_lake(
        home=settings.home, engine=settings.engine, spark_master=settings.spark_master
    )
    try:
        report = rounds.apply_round(
            session,
            round_,
            lake=lake.root,
            policy=policy,
            now=clock.now(),
            scope=principal.jurisdiction,
            con=lake.con,
        )
    except FangkongError as exc:
        session.rollback()
        round_ = _round(session, code, principal)
        assert round_ is not None
        return _render_round(
            request,
            session,
            lake.root,
            policy,
            principal,
            round_,
            error=f"未能应用检测结果：{exc.message}",
            status=exc.status,
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
    round_ = _round(session, code, principal)
    if round_ is None:
        return _no_round(request, code)
    service.close_round(round_, now=clock.now())
    return RedirectResponse(f"/testing/rounds/{code}?done=closed", status_code=303)


# ---------------------------------------------------------------- the lists


def _list_count(
    lake: Path,
    round_: TestingRound,
    states: Sequence[str],
    community_id: int | None,
    scope: Jurisdiction,
) -> int:
    """All the list's persons in the caller's area (the page shows the first ones)."""
    table = outcome.read_status(lake, round_.code, community_id=community_id, states=states)
    places = table.select(["district_code", "street_code", "community_id"]).to_pydict()
    return sum(
        scope.covers(city_code=round_.city_code, district_code=d, street_code=s, community_id=c)
        for d, s, c in zip(
            places["district_code"], places["street_code"], places["community_id"], strict=True
        )
    )


def _exempted(session: Session, round_: TestingRound, person_nos: Sequence[str]) -> dict[str, str]:
    """Exemptions recorded since the last apply still list the person as missing: say so."""
    if not person_nos:
        return {}
    rows = session.execute(
        select(Person.person_no, RoundExemption.reason)
        .join(Person, Person.id == RoundExemption.person_id)
        .where(RoundExemption.round_id == round_.id, Person.person_no.in_(person_nos))
    ).all()
    return {no: service.EXEMPT_REASONS.get(reason, reason) for no, reason in rows}


def _community_id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _render_list(
    request: Request,
    session: Session,
    lake: Path,
    principal: Principal,
    round_: TestingRound,
    which: str,
    community_id: int | None,
    *,
    done: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    scope = principal.jurisdiction
    community = None
    if community_id is not None:
        found = session.get(Community, community_id)
        if found is None or not scope.covers(
            city_code=round_.city_code,
            district_code=found.district_code,
            street_code=found.street_code,
            community_id=found.id,
        ):
            return _error(
                request,
                f"未找到社区 {community_id}。",
                (f"/testing/rounds/{round_.code}", "返回轮次"),
            )
        community = found
    applied = round_.applied_at is not None
    rows: list[lists.Listed] = []
    count = 0
    if applied:
        states = LIST_STATES[which]
        rows = lists.listed(
            session,
            lake,
            round_,
            states=states,
            scope=scope,
            community_id=community_id,
            limit=SHOWN_ROWS,
        )
        count = _list_count(lake, round_, states, community_id, scope)
    exempted = _exempted(session, round_, [r.person_no for r in rows]) if which == "missing" else {}
    context = {
        "nav": "testing",
        "round": round_,
        "which": which,
        "title": lists.LIST_TITLES[which],
        "hint": LIST_HINTS[which],
        "community": community,
        "community_id": community_id,
        "applied": applied,
        "rows": [
            {
                "person_no": r.person_no,
                "name": r.name,
                "phone": r.phone,
                "community": r.community or "",
                "state": lists.STATE_LABELS.get(r.state, r.state),
                "tube": r.tube_barcode or "",
                "sampled_at": local_time(r.sampled_at),
                "recall": r.recall_status,
                "recall_label": lists.RECALL_LABELS.get(r.recall_status or "", ""),
                "exempted": exempted.get(r.person_no),
            }
            for r in rows
        ],
        "count": count,
        "more": count > len(rows),
        "others": [(k, v) for k, v in lists.LIST_TITLES.items() if k != which],
        "reasons": list(service.EXEMPT_REASONS.items()),
        "can_export": principal.can("testing.export"),
        "can_exempt": principal.can("testing.exempt"),
        "can_sample": principal.can("testing.sample"),
        "done": done,
        "error": error,
    }
    return templates.TemplateResponse(request, "testing/list.html", context, status_code=status)


@router.get("/testing/rounds/{code}/lists/{which}", response_class=HTMLResponse)
def person_list(
    request: Request,
    code: str,
    which: str,
    session: SessionDep,
    lake: LakeDep,
    principal: Reader,
    community_id: str = "",
    done: str = "",
    person: str = "",
) -> HTMLResponse:
    round_ = _round(session, code, principal)
    if round_ is None:
        return _no_round(request, code)
    if which not in LIST_STATES:
        return _error(request, "没有这种名单。", (f"/testing/rounds/{code}", "返回轮次"))
    text = ""
    if done == "resampled":
        text = f"已记录 {person} 已复采；单管结果回来并再次应用检测结果后，复核状态自动更新。"
    elif done == "exempted":
        text = (
            f"已登记 {person} 免检。免检在下次“应用检测结果”后计入统计，"
            "届时该人员不再列入未检名单。"
        )
    try:
        return _render_list(
            request, session, lake, principal, round_, which, _community_id(community_id), done=text
        )
    except FangkongError as exc:
        return _failed(request, exc, (f"/testing/rounds/{code}", "返回轮次"))


def _back_to_list(code: str, which: str, community_id: int | None, **extra: str) -> str:
    query = {**({"community_id": str(community_id)} if community_id else {}), **extra}
    anchor = f"#person-{extra['person']}" if "person" in extra else ""
    return f"/testing/rounds/{code}/lists/{which}?{urlencode(query)}{anchor}"


@router.post("/testing/rounds/{code}/recalls/{person_no}/resampled", response_class=HTMLResponse)
def recall_resampled(
    request: Request,
    code: str,
    person_no: str,
    form: FormDep,
    session: SessionDep,
    lake: LakeDep,
    clock: ClockDep,
    principal: Sampler,
) -> Response:
    round_ = _round(session, code, principal)
    if round_ is None:
        return _no_round(request, code)
    community_id = _community_id(_text(form, "community_id"))
    found = service.recalls_of(session, round_, scope=principal.jurisdiction)
    match = next((r for r, p in found if p.person_no == person_no), None)
    if match is None:
        return _render_list(
            request,
            session,
            lake,
            principal,
            round_,
            "recall",
            community_id,
            error=f"本轮次没有 {person_no} 的复核任务。",
            status=404,
        )
    if match.status in applying.SETTLED:
        label = lists.RECALL_LABELS[match.status]
        return _render_list(
            request,
            session,
            lake,
            principal,
            round_,
            "recall",
            community_id,
            error=f"{person_no} 的复核已有结果（{label}），无需再记录复采。",
            status=409,
        )
    applying.recall_status(session, match, status="resampled", now=clock.now())
    url = _back_to_list(code, "recall", community_id, done="resampled", person=person_no)
    return RedirectResponse(url, status_code=303)


@router.post("/testing/rounds/{code}/exemptions", response_class=HTMLResponse)
def exemption_create(
    request: Request,
    code: str,
    form: FormDep,
    session: SessionDep,
    lake: LakeDep,
    clock: ClockDep,
    principal: Exempter,
) -> Response:
    round_ = _round(session, code, principal)
    if round_ is None:
        return _no_round(request, code)
    community_id = _community_id(_text(form, "community_id"))
    person_no, reason, note = (_text(form, n) for n in ("person_no", "reason", "note"))
    error = ""
    if reason not in service.EXEMPT_REASONS:
        error = "请选择免检原因：隔离管控中、住院、外出或其他。"
    elif len(note) > 200:
        error = "备注最多 200 个字符。"
    else:
        try:
            service.exempt(
                session,
                round_,
                person_no=person_no,
                reason=reason,
                note=note or None,
                actor=principal.name,
                now=clock.now(),
                scope=principal.jurisdiction,
            )
        except NotFound:
            session.rollback()
            error = f"未找到人员 {person_no}。"
        except FangkongError as exc:
            session.rollback()
            error = f"未能登记免检：{exc.message}"
    if error:
        round_ = _round(session, code, principal)
        assert round_ is not None
        return _render_list(
            request,
            session,
            lake,
            principal,
            round_,
            "missing",
            community_id,
            error=error,
            status=422,
        )
    url = _back_to_list(code, "missing", community_id, done="exempted", person=person_no)
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- routine testing


def _tally_view(t: routine.Tally, industry: str | None = None) -> dict[str, Any]:
    query = {**({"industry": industry} if industry else {}), "enterprise": t.key}
    return {
        "key": t.key,
        "link": f"/testing/routine?{urlencode(query)}#workers",
        "label": t.label,
        "industry": INDUSTRIES.get(t.industry, t.industry),
        "frequency": FREQUENCY_LABELS.get(t.frequency, t.frequency),
        "workers": t.workers,
        "compliant": t.compliant,
        "overdue": t.overdue,
        "never": t.never,
        "rate": f"{t.rate:.1%}",
        "low": t.rate < 1,
    }


def _policy_groups(policy: Policy) -> list[dict[str, Any]]:
    by_frequency: dict[str, list[str]] = {}
    for industry, frequency in policy.testing.routine_groups.items():
        by_frequency.setdefault(frequency, []).append(INDUSTRIES.get(industry, industry))
    order = list(policy.testing.frequencies)
    return [
        {
            "frequency": FREQUENCY_LABELS.get(f, f),
            "days": f"{policy.testing.interval_days(f):g}",
            "industries": "、".join(names),
        }
        for f, names in sorted(
            by_frequency.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99
        )
    ]


@router.get("/testing/routine", response_class=HTMLResponse)
def routine_page(
    request: Request,
    session: SessionDep,
    lake: LakeDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reader,
    industry: str = "",
    enterprise: str = "",
) -> HTMLResponse:
    groups = policy.testing.routine_groups
    chosen = industry if industry in groups else None
    report = routine.compliance(
        session,
        lake=lake,
        policy=policy,
        at=clock.now(),
        scope=principal.jurisdiction,
        industry=chosen,
    )
    firm = next((t for t in report.enterprises if t.key == enterprise), None)
    if enterprise and firm is None:
        return _error(request, f"未找到单位 {enterprise}。", ("/testing/routine", "返回常态化检测"))
    workers = [
        {
            "person_no": w.person_no,
            "name": mask_name(w.name),
            "phone": mask_phone(w.phone),
            "last": local_time(w.last_sampled_at) or "—",
            "due_by": local_time(w.due_by) or "尽快",
            "status": w.status,
            "status_label": routine.STATUSES.get(w.status, w.status),
        }
        for w in report.workers
        if firm is not None and w.workplace_no == firm.key
    ]
    total = routine.Tally(
        key="",
        label="合计",
        industry="",
        frequency="",
        workers=sum(t.workers for t in report.groups),
        compliant=sum(t.compliant for t in report.groups),
        overdue=sum(t.overdue for t in report.groups),
        never=sum(t.never for t in report.groups),
    )
    context = {
        "nav": "testing",
        "at": local_time(report.at),
        "rule": report.rule,
        "policy_groups": _policy_groups(policy),
        "policy": policy,
        "industries": [(k, INDUSTRIES.get(k, k)) for k in sorted(groups)],
        "industry": chosen or "",
        "groups": [_tally_view(t) for t in report.groups],
        "total": _tally_view(total),
        "enterprises": [_tally_view(t, chosen) for t in report.enterprises],
        "firm": _tally_view(firm) if firm else None,
        "workers": workers,
    }
    return templates.TemplateResponse(request, "testing/routine.html", context)


# ---------------------------------------------------------------- the dashboard's card


def open_round_card(session: Session, lake: Path, principal: Principal) -> dict[str, Any] | None:
    """The latest open round in the caller's area and its progress there, for the
    dashboard; None when there is none or the caller may not read rounds."""
    if not principal.can("testing.read"):
        return None
    scope = principal.jurisdiction
    round_ = next(
        # A site's daily round is the site's business, not the city's round.
        (
            r
            for r in service.list_rounds(session, scope=scope)
            if r.status == "open" and r.kind != "quarantine"
        ),
        None,
    )
    if round_ is None:
        return None
    card: dict[str, Any] = {
        "code": round_.code,
        "name": round_.name,
        "window": window_text(round_.starts_at, round_.ends_at),
        "applied": round_.applied_at is not None,
        "due": round_.due_count,
        "sampled": 0,
    }
    if round_.applied_at is not None:
        level = "city" if scope.whole_city else _start_level(scope)
        try:
            rows = lists.coverage(lake, round_, level=cast(Level, level), parent=None, scope=scope)
        except NotFound:  # the outcome files are gone: show the round without figures
            card["applied"] = False
            return card
        card["due"] = sum(int(r["due"]) for r in rows)
        card["sampled"] = sum(int(r["sampled"]) for r in rows)
        exempt = sum(int(r["exempt"]) for r in rows)
        card["rate"] = percent(card["sampled"], card["due"] - exempt)
        card["target"] = card["due"] - exempt  # the rate's denominator, for the bar
        card["applied_at"] = local_time(round_.applied_at)
        card["chart"] = _progress_chart(lake, round_)  # the whole round's hours
    return card
