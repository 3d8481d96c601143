"""The rounds page: the rounds in the caller's area and the form that creates one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction, Principal
from fangkong.clock import LOCAL_TZ, beijing_minute
from fangkong.config import Settings
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import Conflict, FangkongError, InvalidInput
from fangkong.flows import rounds as rounds_flow
from fangkong.lake.layout import lake_root
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.testing import service
from fangkong.testing.pages.common import Planner, Reader, outcome_counts
from fangkong.testing.texts import (
    KIND_LABELS,
    KIND_TITLES,
    PHASE_LABELS,
    POOL_MODE_LABELS,
    percent,
    phase,
    pool_text,
    window_text,
)
from fangkong.web import forms
from fangkong.web.forms import FormDep, text
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)

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

Errors = dict[str, list[str]]


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
    now: datetime,
    status: int = 200,
    shown: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The rounds (the city's own before the sites' daily ones, each by its phase), then
    the form of a new round. ``shown`` filters by kind and phase and pages the list."""
    wanted = dict(shown or {})
    rows = []
    found = service.list_rounds(session, scope=principal.jurisdiction)
    # A mass round must not hide among a hundred site rounds: the city's rounds first.
    found.sort(key=lambda r: r.kind == "quarantine")
    for r in found:
        state = phase(r.status, r.starts_at, r.ends_at, now)
        if wanted.get("kind") and r.kind != wanted["kind"]:
            continue
        if wanted.get("phase") and state != wanted["phase"]:
            continue
        rows.append((r, state))
    at = forms.offset(wanted.get("offset"))
    pager = forms.pager(
        "/testing", {k: v for k, v in wanted.items() if k != "offset"}, at, len(rows)
    )
    listed = []
    for r, state in rows[at : at + forms.PAGE]:
        counts = outcome_counts(r)
        listed.append(
            {
                "code": r.code,
                "name": r.name,
                "kind": KIND_LABELS.get(r.kind, r.kind),
                "window": window_text(r.starts_at, r.ends_at),
                "status": {"sampling": "open"}.get(state, "closed"),
                "status_label": PHASE_LABELS[state],
                "due": r.due_count,
                "rate": percent(counts["sampled"], counts["due"] - counts["exempt"])
                if counts
                else "—",
                "positive": counts["positive"] if counts else None,
                "applied": beijing_minute(r.applied_at),
            }
        )
    context = {
        "nav": "testing",
        "rows": listed,
        "pager": pager,
        "shown": wanted,
        "phases": list(PHASE_LABELS.items()),
        "kind_filters": list(KIND_LABELS.items()),
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
    kind: str = "",
    phase: str = "",
    offset: str = "",
) -> HTMLResponse:
    # The next full hour: a round is usually set up the evening before it starts.
    start = (clock.now() + timedelta(hours=1)).astimezone(LOCAL_TZ)
    values = {
        "kind": "mass",
        "pool_mode": "fixed",
        "pool_size": str(policy.testing.default_pool_size),
        "starts_at": _field_time(start.replace(minute=0, second=0, microsecond=0)),
    }
    shown = {
        "kind": kind if kind in KIND_LABELS else "",
        "phase": phase if phase in PHASE_LABELS else "",
        "offset": offset,
    }
    return _render_rounds(
        request,
        session,
        settings,
        policy,
        principal,
        values=values,
        chosen=(),
        errors={},
        now=clock.now(),
        shown=shown,
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
    values = {name: text(form, name) for name in FORM_FIELDS}
    areas = [a.strip() for a in form.getlist("areas") if isinstance(a, str) and a.strip()]
    three_stage = bool(text(form, "three_stage"))
    if three_stage:
        values["three_stage"] = "1"
    city = regions.city(settings.city).code
    spec, errors = _spec(values, areas, three_stage, city)
    if spec is not None:
        with forms.undone_on_error(session) as undone:
            round_ = rounds_flow.create_round(
                session,
                spec,
                lake=lake_root(settings.home),
                policy=policy,
                now=clock.now(),
                actor=principal.name,
                scope=principal.jurisdiction,
            )
        if undone.error is None:
            return RedirectResponse(f"/testing/rounds/{round_.code}?done=created", status_code=303)
        errors = create_errors(undone.error, policy)
    return _render_rounds(
        request,
        session,
        settings,
        policy,
        principal,
        values=values,
        chosen=areas,
        errors=errors,
        now=clock.now(),
        status=422,
    )
