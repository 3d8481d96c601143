"""HTML pages of transfer and quarantine (转运隔离): the day's board (counts, site
occupancy, releases, pending transfers, tests due per site, the planner's two buttons), a
site (rooms, occupancy over time, the day's test worklist), an order's timeline, and the
list of orders.

Each page names its permission and passes the caller's jurisdiction to the service; an
order, site or transfer outside it is answered like one that does not exist (404). People
are always shown masked: the full name is the audited ``?full=true`` of the API.

Page handlers own the transaction (``SessionDep`` commits when they return), so a handler
that shows an error rolls back first. What a page shows is built in ``page_views``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.auth.deps import Require
from fangkong.auth.principal import OutsideJurisdiction, Principal
from fangkong.clock import LOCAL_TZ, today
from fangkong.deps import ClockDep, PolicyDep, SessionDep
from fangkong.errors import Conflict, FangkongError, NotFound
from fangkong.flows import quarantine_day
from fangkong.monitoring import service as monitoring
from fangkong.monitoring import views as monitoring_views
from fangkong.quarantine import board as board_mod
from fangkong.quarantine import page_views as views
from fangkong.quarantine import placement, releases, service, site_swabs, sites
from fangkong.quarantine.models import QuarantineOrder, TransferTask
from fangkong.quarantine.status import STATUS_LABELS, OrderStatus
from fangkong.web import forms
from fangkong.web.forms import FormDep, text
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(Require("quarantine.read", page=True))]
Planner = Annotated[Principal, Depends(Require("quarantine.plan", page=True))]
SiteWorker = Annotated[Principal, Depends(Require("quarantine.site", page=True))]

PAGE = 50  # orders per page of the list
CHART_DAYS = 28  # the site's occupancy line: four weeks up to the chosen day
EARLIEST = date(2020, 1, 1)  # days before are typos, not epidemics (as on the dashboard)
AHEAD = timedelta(days=366)  # a day may be planned ahead, within a year
LAST_OFFSET = 10**9  # a page further than this is a typo (and would overflow SQLite)
# Orders a person can be lost from, and the one they are found from (orders.MOVES).
LOSABLE = (
    OrderStatus.pending_transfer.value,
    OrderStatus.in_quarantine.value,
    OrderStatus.in_home_monitoring.value,
)
DONE_MESSAGES = {
    "dispatched": "已更新转运任务 {task} 的车辆、人员和时间。",
    "arrived": "转运任务 {task} 已送达：人员转为隔离中，当天起在隔离点采样。",
    "lost": "已登记失访：请社区继续查找，找到后点击“已找到”。",
    "found": "已登记找到：隔离令恢复到失访前的状态。",
}


# ---------------------------------------------------------------- shared


def parse_day(value: str | None, today: date) -> date | None:
    """``2022-03-23``; None when empty; ValueError when it is not a day or out of range."""
    if value is None or not value.strip():
        return None
    day = date.fromisoformat(value.strip())
    if not EARLIEST <= day <= today + AHEAD:
        raise ValueError(f"{day} is out of range")
    return day


def _day_error(value: str, today: date) -> str:
    latest = today + AHEAD
    return f"日期“{value}”无法识别或超出范围：请使用 YYYY-MM-DD 格式，{EARLIEST} 至 {latest} 之间。"


def _the_day(value: str | None, default: date) -> tuple[date, str]:
    """The day asked for, or the default with the reason it was not taken."""
    try:
        return parse_day(value, default) or default, ""
    except ValueError:
        return default, _day_error(value or "", default) + "已显示今天。"


def _error(request: Request, message: str, back: tuple[str, str], status: int = 404) -> Response:
    context = {"nav": "quarantine", "message": message, "back": back}
    return templates.TemplateResponse(request, "quarantine/error.html", context, status_code=status)


def _hidden(exc: FangkongError) -> bool:
    """Outside the caller's jurisdiction is said as "not found": existence is not revealed."""
    return isinstance(exc, NotFound | OutsideJurisdiction)


# ---------------------------------------------------------------- the board


def _releases_shown(rows: list[dict[str, Any]], day: date, offset: str | None) -> dict[str, Any]:
    """A page of the day's releases, those held by a reason to act on first (a city's day
    can release thousands)."""
    rows = sorted(rows, key=lambda r: not r["blocked"])
    at = forms.offset(offset)
    return {
        "releases": rows[at : at + forms.PAGE],
        "releases_total": len(rows),
        "releases_blocked": sum(1 for r in rows if r["blocked"]),
        "release_pager": forms.pager("/quarantine", {"date": day.isoformat()}, at, len(rows)),
    }


def _render_board(
    request: Request,
    session: Session,
    principal: Principal,
    day: date,
    now_day: date,
    *,
    plan: dict[str, Any] | None = None,
    released: dict[str, Any] | None = None,
    done: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    scope = principal.jurisdiction
    occupancy = sites.occupancy(session, scope=scope)
    tasks = placement.transfers(session, scope=scope, status="pending")
    context = {
        "nav": "quarantine",
        "area": scope.label(),
        "day": day,
        "today": now_day,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "board": board_mod.board(session, day=day, scope=scope),
        "alerts_open": monitoring.open_task_count(session, scope=scope),
        "sites": [views.occupancy_row(o) for o in occupancy],
        **_releases_shown(
            views.release_rows(session, releases.releases_due(session, day=day, scope=scope), day),
            day,
            request.query_params.get("offset"),
        ),
        "transfers": views.transfer_rows(session, tasks),
        "tests": views.site_test_rows(session, occupancy, day, scope),
        "can_plan": principal.can("quarantine.plan"),
        "can_arrive": principal.can("quarantine.site"),
        "plan": plan,
        "released": released,
        "done": done,
        "error": error,
    }
    return templates.TemplateResponse(request, "quarantine/board.html", context, status_code=status)


@router.get("/quarantine", response_class=HTMLResponse)
def board_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    done: str = "",
    task: str = "",
) -> Response:
    now_day = today(clock)
    day, error = _the_day(request.query_params.get("date"), now_day)
    message = DONE_MESSAGES.get(done, "").format(task=task)
    return _render_board(
        request,
        session,
        principal,
        day,
        now_day,
        done=message,
        error=error,
        status=400 if error else 200,
    )


def _form_day(form: FormData, now_day: date) -> date | None:
    try:
        return parse_day(text(form, "date"), now_day) or now_day
    except ValueError:
        return None


def _action_day(form: FormData, now_day: date) -> tuple[date, str]:
    """The day a plan or a release is for, or why not: never a day still to come (people
    would be released before their time)."""
    day = _form_day(form, now_day)
    if day is None:
        return now_day, _day_error(text(form, "date"), now_day)
    if day > now_day:
        return day, f"{day} 尚未到来：只能为今天或之前的日期生成计划、解除隔离。"
    return day, ""


@router.post("/quarantine/plan", response_class=HTMLResponse)
def plan_page(
    request: Request,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Planner,
) -> Response:
    now_day = today(clock)
    day, error = _action_day(form, now_day)
    if error:
        return _render_board(request, session, principal, day, now_day, error=error, status=422)
    with forms.undone_on_error(session) as undone:
        result = quarantine_day.plan_day(
            session,
            day=day,
            policy=policy,
            now=clock.now(),
            actor=principal.name,
            scope=principal.jurisdiction,
            split_households=bool(text(form, "split_households")),
        )
    if undone.error:
        error = f"未能生成隔离计划：{undone.error.message}"
        return _render_board(
            request, session, principal, day, now_day, error=error, status=undone.error.status
        )
    plan = views.plan_result(session, result)
    return _render_board(request, session, principal, day, now_day, plan=plan)


@router.post("/quarantine/release", response_class=HTMLResponse)
def release_page(
    request: Request, form: FormDep, session: SessionDep, clock: ClockDep, principal: Planner
) -> Response:
    now_day = today(clock)
    day, error = _action_day(form, now_day)
    if error:
        return _render_board(request, session, principal, day, now_day, error=error, status=422)
    with forms.undone_on_error(session) as undone:
        result = releases.release_day(
            session, day=day, now=clock.now(), actor=principal.name, scope=principal.jurisdiction
        )
    if undone.error:
        error = f"未能解除隔离：{undone.error.message}"
        return _render_board(
            request, session, principal, day, now_day, error=error, status=undone.error.status
        )
    released = views.release_result(session, result)
    return _render_board(request, session, principal, day, now_day, released=released)


def _back_to_board(day: str, **query: str) -> str:
    anchor = f"#transfer-{query['task']}" if "task" in query else ""
    return f"/quarantine?{urlencode({'date': day, **query})}{anchor}"


def _task_or_error(
    request: Request, session: Session, principal: Principal, task_no: str
) -> TransferTask | Response:
    try:
        return placement.get_task(session, task_no, scope=principal.jurisdiction)
    except FangkongError as exc:
        if not _hidden(exc):
            raise
        return _error(request, f"未找到转运任务 {task_no}。", ("/quarantine", "返回转运隔离"))


def _dispatch_values(form: FormData) -> tuple[dict[str, Any], str]:
    """Vehicle, team and pickup time from the form (blank keeps what the task has)."""
    vehicle, team, when = (text(form, n) for n in ("vehicle", "team", "pickup_at"))
    if len(vehicle) > 32:
        return {}, "车牌号最多 32 个字符。"
    if len(team) > 64:
        return {}, "转运人员最多 64 个字符。"
    pickup_at = None
    if when:
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            return {}, "出发时间格式应为 年-月-日 时:分。"
        pickup_at = moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)
    values = {"vehicle": vehicle or None, "team": team or None, "pickup_at": pickup_at}
    return values, ""


@router.post("/quarantine/transfers/{task_no}/dispatch", response_class=HTMLResponse)
def dispatch_page(
    request: Request,
    task_no: str,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    principal: Planner,
) -> Response:
    found = _task_or_error(request, session, principal, task_no)
    if isinstance(found, Response):
        return found
    now_day = today(clock)
    day = _form_day(form, now_day) or now_day
    values, error = _dispatch_values(form)
    status = 422
    if not error:
        with forms.undone_on_error(session) as undone:
            placement.dispatch(found, **values)
        if undone.error:
            error, status = _task_error(task_no, undone.error), undone.error.status
    if error:
        return _render_board(request, session, principal, day, now_day, error=error, status=status)
    return RedirectResponse(
        _back_to_board(day.isoformat(), done="dispatched", task=task_no), status_code=303
    )


def _task_error(task_no: str, exc: FangkongError) -> str:
    if isinstance(exc, Conflict):
        return f"转运任务 {task_no} 已送达或已取消，不能再修改。"
    return f"未能更新转运任务 {task_no}：{exc.message}"


@router.post("/quarantine/transfers/{task_no}/done", response_class=HTMLResponse)
def transfer_done_page(
    request: Request,
    task_no: str,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    principal: SiteWorker,
) -> Response:
    found = _task_or_error(request, session, principal, task_no)
    if isinstance(found, Response):
        return found
    now_day = today(clock)
    day = _form_day(form, now_day) or now_day
    with forms.undone_on_error(session) as undone:
        placement.transfer_done(session, found, now=clock.now(), actor=principal.name)
    if undone.error:
        error = _task_error(task_no, undone.error)
        return _render_board(
            request, session, principal, day, now_day, error=error, status=undone.error.status
        )
    return RedirectResponse(
        _back_to_board(day.isoformat(), done="arrived", task=task_no), status_code=303
    )


# ---------------------------------------------------------------- a site


ROOM_FILTERS = {"occupied": "有人入住", "free": "空房"}


def _rooms_shown(site: Any, rooms: list[dict[str, Any]], query: Any) -> dict[str, Any]:
    """A page of the site's rooms, all or only occupied or free ones (a site has
    thousands)."""
    which = query.get("rooms", "")
    if which == "occupied":
        rooms = [r for r in rooms if r["held"]]
    elif which == "free":
        rooms = [r for r in rooms if not r["held"] and r["in_service"]]
    at = forms.offset(query.get("offset"))
    kept = {"rooms": which if which in ROOM_FILTERS else "", "date": query.get("date", "")}
    pager = forms.pager(f"/quarantine/sites/{site.code}", kept, at, len(rooms))
    return {
        "rooms": rooms[at : at + forms.PAGE],
        "room_pager": pager,
        "room_filter": kept["rooms"],
        "room_filters": ROOM_FILTERS,
    }


@router.get("/quarantine/sites/{code}", response_class=HTMLResponse)
def site_page(
    request: Request, code: str, session: SessionDep, clock: ClockDep, principal: Reader
) -> Response:
    scope = principal.jurisdiction
    try:
        site = site_swabs.site_by_code(session, code, scope=scope)
    except NotFound:
        return _error(request, f"未找到隔离点 {code}。", ("/quarantine", "返回转运隔离"))
    now_day = today(clock)
    day, error = _the_day(request.query_params.get("date"), now_day)
    now = next(o for o in sites.occupancy(session, scope=scope) if o.site.id == site.id)
    series = sites.occupancy_by_day(session, site, day - timedelta(days=CHART_DAYS - 1), day)
    tests = site_swabs.worklist(session, site, day, scope=scope, today=now_day)
    context = {
        "nav": "quarantine",
        "site": site,
        "kind_label": sites.SITE_KINDS.get(site.kind, site.kind),
        "district": views.district_name(site.district_code),
        "occupancy": views.occupancy_row(now),
        **_rooms_shown(site, views.room_rows(session, site, scope), request.query_params),
        "chart": {
            "days": [f"{d.month}/{d.day}" for d, _ in series],
            "persons": [n for _, n in series],
            "beds": now.beds,
        },
        "worklist": views.worklist_rows(tests),
        "round_code": site_swabs.round_code(site, day),
        # the day's round exists once any test of the day was put in it
        "round_opened": any(t.round_code == site_swabs.round_code(site, day) for t in tests),
        "can_testing": principal.can("testing.read"),
        "day": day,
        "today": now_day,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "error": error,
    }
    return templates.TemplateResponse(
        request, "quarantine/site.html", context, status_code=400 if error else 200
    )


# ---------------------------------------------------------------- one order


def _render_order(
    request: Request,
    session: Session,
    principal: Principal,
    order: QuarantineOrder,
    now_day: date,
    *,
    done: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    reports, tasks = monitoring_views.order_lines(session, order.id)
    context = {
        "nav": "quarantine",
        **views.order_timeline(session, order, now_day),
        "reports": reports,
        "tasks": tasks,
        "can_plan": principal.can("quarantine.plan"),
        "can_cases": principal.can("cases.read"),
        "can_people": principal.can("person.read"),
        "losable": order.status in LOSABLE,
        "done": done,
        "error": error,
    }
    return templates.TemplateResponse(request, "quarantine/order.html", context, status_code=status)


def _order_or_error(
    request: Request, session: Session, principal: Principal, order_no: str
) -> QuarantineOrder | Response:
    try:
        return service.get_order(session, order_no, scope=principal.jurisdiction)
    except NotFound:
        return _error(request, f"未找到隔离令 {order_no}。", ("/quarantine/orders", "返回隔离人员"))


@router.get("/quarantine/orders/{order_no}", response_class=HTMLResponse)
def order_page(
    request: Request,
    order_no: str,
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    done: str = "",
) -> Response:
    found = _order_or_error(request, session, principal, order_no)
    if isinstance(found, Response):
        return found
    message = DONE_MESSAGES.get(done, "") if done in ("lost", "found") else ""
    return _render_order(request, session, principal, found, today(clock), done=message)


def _change(
    request: Request,
    order_no: str,
    form: FormData,
    session: Session,
    clock: ClockDep,
    principal: Principal,
    which: str,
) -> Response:
    found = _order_or_error(request, session, principal, order_no)
    if isinstance(found, Response):
        return found
    why = text(form, "why")
    error, status = "", 422
    if not why:
        error = "请填写原因。"
    elif len(why) > 200:
        error = "原因最多 200 个字符。"
    else:
        change = service.mark_lost if which == "lost" else service.mark_found
        label = STATUS_LABELS.get(OrderStatus(found.status), found.status)
        with forms.undone_on_error(session) as undone:
            change(found, now=clock.now(), actor=principal.name, why=why)
        if undone.error:  # the status machine refused the move
            refused = "不能登记失访" if which == "lost" else "不是失访状态"
            error = f"隔离令当前为“{label}”，{refused}。"
            status = 409
    if error:
        return _render_order(
            request, session, principal, found, today(clock), error=error, status=status
        )
    return RedirectResponse(f"/quarantine/orders/{order_no}?done={which}", status_code=303)


@router.post("/quarantine/orders/{order_no}/lost", response_class=HTMLResponse)
def lost_page(
    request: Request,
    order_no: str,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    principal: Planner,
) -> Response:
    return _change(request, order_no, form, session, clock, principal, "lost")


@router.post("/quarantine/orders/{order_no}/found", response_class=HTMLResponse)
def found_page(
    request: Request,
    order_no: str,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    principal: Planner,
) -> Response:
    return _change(request, order_no, form, session, clock, principal, "found")


# ---------------------------------------------------------------- the list


def _pager(params: Mapping[str, str], offset: int, total: int) -> dict[str, Any]:
    kept = {k: v for k, v in params.items() if v}

    def url(at: int) -> str:
        return f"/quarantine/orders?{urlencode({**kept, 'offset': at})}"

    return {
        "total": total,
        "first": offset + 1 if total else 0,
        "last": min(offset + PAGE, total),
        "prev_url": url(max(offset - PAGE, 0)) if offset > 0 else None,
        "next_url": url(offset + PAGE) if offset + PAGE < total else None,
    }


@router.get("/quarantine/orders", response_class=HTMLResponse)
def orders_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    status: str = "",
    site: str = "",
    offset: str = "",
) -> Response:
    scope = principal.jurisdiction
    params = {"status": status, "site": site, "date": request.query_params.get("date", "")}
    error = ""
    try:
        day = parse_day(params["date"], today(clock))
    except ValueError:
        day, error = None, _day_error(params["date"], today(clock))
    if status and status not in {s.value for s in OrderStatus}:
        status, error = "", "没有这种状态。"
    start = min(int(offset), LAST_OFFSET) if offset.isascii() and offset.isdigit() else 0
    rows, total = service.list_orders(
        session,
        scope=scope,
        status=status or None,
        site_code=site or None,
        day=day,
        limit=PAGE,
        offset=start,
    )
    context = {
        "nav": "quarantine",
        "rows": [views.brief(o, p) for o, p in rows],
        "pager": _pager(params, start, total),
        "params": params,
        "statuses": [(s.value, label) for s, label in STATUS_LABELS.items()],
        "sites": [(s.code, s.name) for s in sites.list_sites(session, scope=scope)],
        "error": error,
    }
    return templates.TemplateResponse(
        request, "quarantine/orders.html", context, status_code=400 if error else 200
    )


# ---------------------------------------------------------------- the dashboard's card


def board_card(
    session: Session, principal: Principal, day: date
) -> tuple[board_mod.Board, int] | None:
    """The day's counts in the caller's area for the dashboard, with the open monitoring
    alerts; None without ``quarantine.read``."""
    if not principal.can("quarantine.read"):
        return None
    scope = principal.jurisdiction
    return board_mod.board(session, day=day, scope=scope), monitoring.open_task_count(
        session, scope=scope
    )
