"""HTML pages of home health monitoring: the person's self-report page (``/m/{token}``,
no account: the link is the credential, so its forms need no CSRF token) and the community
worker's daily worklist (``/monitoring``) with phone reports, tasks to close and links to
hand out.

The worklist shows people masked; the full view (names, phones, addresses for calling and
door-knocking) is for callers with ``person.pii.read`` and each page of it is audited.
Page handlers own the transaction (``SessionDep`` commits when they return), so a handler
that shows an error rolls back first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fangkong.auth import audit
from fangkong.auth.deps import Public, Require
from fangkong.auth.principal import Principal
from fangkong.auth.service import Keys
from fangkong.clock import LOCAL_TZ, today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import FangkongError, InvalidInput
from fangkong.monitoring import links, rules, service, worklist
from fangkong.monitoring import tasks as monitoring_tasks
from fangkong.monitoring.rules import SYMPTOMS, symptom_labels
from fangkong.policy import Policy
from fangkong.quarantine.status import STATUS_LABELS, OrderStatus
from fangkong.web import forms
from fangkong.web.forms import FormDep
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(Require("quarantine.read", page=True))]
Reporter = Annotated[Principal, Depends(Require("monitoring.report", page=True))]
SelfLink = Depends(Public("self-report page: the secret in the path is the credential"))
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PAGE_SIZE = 50
DONE = {
    "reported": "已录入体温。",
    "alert": "已录入体温：发热或有症状，已生成转诊任务。",
    "closed": "任务已办结。",
}


def _temperature(form: FormData) -> float:
    return forms.number(form, "temperature", label="体温", example="36.5")


def local_time(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M") if moment else ""


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


# ---------------------------------------------------------------- the person's page


def _self_page(
    request: Request,
    session: Session,
    *,
    token: str,
    now: datetime,
    policy: Policy,
    keys: Keys,
    done: str = "",
    alert: bool = False,
    error: str = "",
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "token": token,
        "symptoms": list(SYMPTOMS.items()),
        "alerting": symptom_labels(policy.quarantine.symptoms),
        "fever": policy.quarantine.fever_celsius,
        "done": done,
        "alert": alert,
        "error": error,
    }
    try:
        link, order = links.resolve(session, raw=token, keys=keys, now=now)
    except FangkongError as exc:
        context["dead"] = exc.message
        context["code"] = exc.code
        response = templates.TemplateResponse(
            request, "monitoring/self_report.html", context, status_code=exc.status
        )
        return _private(response)
    view = service.self_view(session, order=order, now=now, policy=policy)
    context.update(view=view, expires_at=link.expires_at.astimezone(LOCAL_TZ), local=local_time)
    response = templates.TemplateResponse(
        request, "monitoring/self_report.html", context, status_code=status
    )
    return _private(response)


@router.get("/m/{token}", response_class=HTMLResponse, dependencies=[SelfLink])
def self_page(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    done: str = "",
) -> Response:
    messages = {
        "ok": "已收到您的体温，谢谢配合。",
        "alert": rules.self_message(alert=True, window=None),
        "outside": rules.self_message(alert=False, window=None),
    }
    return _self_page(
        request,
        session,
        token=token,
        now=clock.now(),
        policy=policy,
        keys=Keys.from_settings(settings),
        done=messages.get(done, ""),
        alert=done == "alert",
    )


@router.post("/m/{token}", response_class=HTMLResponse, dependencies=[SelfLink])
def self_submit(
    request: Request,
    token: str,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
) -> Response:
    now, keys = clock.now(), Keys.from_settings(settings)

    def report() -> Response:
        link, order = links.resolve(session, raw=token, keys=keys, now=now)
        done = service.record_report(
            session,
            order=order,
            at=now,
            temperature=_temperature(form),
            symptoms=forms.texts(form, "symptoms"),
            channel="self",
            entered_by=f"link:{link.prefix}",
            note=forms.text(form, "note") or None,
            policy=policy,
            now=now,
        )
        outcome = "alert" if done.alert else ("outside" if done.report.window is None else "ok")
        return _private(RedirectResponse(f"/m/{token}?done={outcome}", status_code=303))

    return forms.attempt(
        session,
        report,
        shown=lambda error, status: _self_page(
            request,
            session,
            token=token,
            now=now,
            policy=policy,
            keys=keys,
            error=error,
            status=status,
        ),
    )


# ---------------------------------------------------------------- the worker's worklist


def _day(value: str, clock: ClockDep) -> date:
    now_day = today(clock)
    return forms.day(value, today=now_day) or now_day


def _back(community_id: int | None, day: date, **extra: str) -> str:
    query = {"day": day.isoformat(), **extra}
    if community_id is not None:
        query["community_id"] = str(community_id)
    return f"/monitoring?{urlencode(query)}"


def _render_worklist(
    request: Request,
    session: Session,
    principal: Principal,
    clock: ClockDep,
    policy: Policy,
    *,
    day: date,
    community_id: int | None,
    full: bool = False,
    page: int = 1,
    done: str = "",
    error: str = "",
    issued: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    scope = principal.jurisdiction
    choices = worklist.communities_under_monitoring(session, day=day, scope=scope)
    if community_id is None:
        if scope.kind == "community" and scope.community_id is not None:
            community_id = scope.community_id
        elif choices:
            community_id = choices[0][0]
    full = full and principal.can("person.pii.read")
    now = clock.now()
    found = None
    if community_id is not None:
        try:
            found = worklist.worklist(
                session,
                day=day,
                community_id=community_id,
                scope=scope,
                now=now,
                policy=policy,
                pii=full,
                limit=PAGE_SIZE,
                offset=(max(page, 1) - 1) * PAGE_SIZE,
            )
        except FangkongError as exc:
            error, status = f"无法显示此社区：{exc.message}", exc.status
        else:
            if full:
                worklist.record_full_view(session, principal=principal, found=found, now=now)
    context = {
        "nav": "monitoring",
        "day": day,
        "today": today(clock),
        "choices": choices,
        "community_id": community_id,
        "found": found,
        "full": full,
        "can_pii": principal.can("person.pii.read"),
        "can_report": principal.can("monitoring.report"),
        "page": max(page, 1),
        "pages": -(-found.total_households // PAGE_SIZE) if found else 0,
        "symptoms": list(SYMPTOMS.items()),
        "channels": [(k, v) for k, v in rules.CHANNELS.items() if k != "self"],
        "kinds": rules.TASK_KINDS,
        "status_labels": {s.value: STATUS_LABELS[s] for s in OrderStatus},
        "fever": policy.quarantine.fever_celsius,
        "local": local_time,
        "back": _back(community_id, day, **({"full": "1"} if full else {})),
        "done": done,
        "error": error,
        "issued": issued,
    }
    response = templates.TemplateResponse(
        request, "monitoring/worklist.html", context, status_code=status
    )
    return _private(response) if full or issued else response


@router.get("/monitoring", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reader,
    day: str = "",
    community_id: str = "",
    full: str = "",
    page: int = 1,
    done: str = "",
) -> Response:
    try:
        shown = _day(day, clock)
    except InvalidInput as exc:
        return _render_worklist(
            request,
            session,
            principal,
            clock,
            policy,
            day=today(clock),
            community_id=None,
            error=exc.message,
            status=422,
        )
    return _render_worklist(
        request,
        session,
        principal,
        clock,
        policy,
        day=shown,
        community_id=int(community_id) if community_id.isdigit() else None,
        full=full == "1",
        page=page,
        done=DONE.get(done, ""),
    )


def _shown(
    request: Request,
    session: Session,
    principal: Principal,
    clock: ClockDep,
    policy: Policy,
    day: date,
    community_id: int | None,
) -> Callable[[str, int], Response]:
    """The worklist shown again with an error, for ``forms.attempt``."""

    def render(error: str, status: int) -> Response:
        return _render_worklist(
            request,
            session,
            principal,
            clock,
            policy,
            day=day,
            community_id=community_id,
            error=error,
            status=status,
        )

    return render


def _posted_place(form: FormData, clock: ClockDep) -> tuple[int | None, date]:
    community = forms.text(form, "community_id")
    try:
        day = _day(forms.text(form, "day"), clock)
    except InvalidInput:
        day = today(clock)
    return (int(community) if community.isdigit() else None), day


def _posted_at(form: FormData, day: date, now: datetime) -> datetime:
    """The time a phone report was taken: HH:MM on the list's day, or now."""
    text = forms.text(form, "time")
    if not text:
        return now
    try:
        clock_time = time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"时间“{text}”无法识别，请使用 HH:MM 格式。", field="time") from None
    return datetime.combine(day, clock_time, tzinfo=LOCAL_TZ)


@router.post("/monitoring/orders/{order_no}/reports", response_class=HTMLResponse)
def report_submit(
    request: Request,
    order_no: str,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reporter,
) -> Response:
    community_id, day = _posted_place(form, clock)
    now = clock.now()

    def report() -> Response:
        order = service.get_order(session, order_no=order_no, scope=principal.jurisdiction)
        channel = forms.text(form, "channel") or "phone"
        if channel == "self":
            raise InvalidInput("本人自报请使用自报链接", field="channel")
        done = service.record_report(
            session,
            order=order,
            at=_posted_at(form, day, now),
            temperature=_temperature(form),
            symptoms=forms.texts(form, "symptoms"),
            channel=channel,
            entered_by=principal.name,
            note=forms.text(form, "note") or None,
            policy=policy,
            now=now,
        )
        outcome = "alert" if done.alert else "reported"
        return RedirectResponse(_back(community_id, day, done=outcome), status_code=303)

    return forms.attempt(
        session,
        report,
        shown=_shown(request, session, principal, clock, policy, day, community_id),
        prefix=f"{order_no}：",
    )


@router.post("/monitoring/tasks/{task_id}/done", response_class=HTMLResponse)
def task_submit(
    request: Request,
    task_id: int,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    principal: Reporter,
) -> Response:
    community_id, day = _posted_place(form, clock)

    def close() -> Response:
        task = monitoring_tasks.get_task(session, task_id=task_id, scope=principal.jurisdiction)
        monitoring_tasks.close_task(
            session,
            task=task,
            by=principal.name,
            outcome=forms.text(form, "outcome"),
            now=clock.now(),
        )
        return RedirectResponse(_back(community_id, day, done="closed"), status_code=303)

    return forms.attempt(
        session,
        close,
        shown=_shown(request, session, principal, clock, policy, day, community_id),
        prefix=f"任务 {task_id}：",
    )


@router.post("/monitoring/orders/{order_no}/link", response_class=HTMLResponse)
def link_submit(
    request: Request,
    order_no: str,
    form: FormDep,
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Reporter,
) -> Response:
    """Issue a self-report link and show it once (the page is not cached)."""
    community_id, day = _posted_place(form, clock)
    now = clock.now()

    def issue() -> Response:
        order = service.get_order(session, order_no=order_no, scope=principal.jurisdiction)
        ttl_text = forms.text(form, "ttl_hours")
        ttl = None
        if ttl_text:
            hours = forms.number(form, "ttl_hours", label="有效期（小时）", example="24")
            ttl = timedelta(hours=hours)
        issued = links.issue(
            session,
            order=order,
            keys=Keys.from_settings(settings),
            now=now,
            created_by=principal.name,
            ttl=ttl,
        )
        audit.record(
            session,
            principal=principal,
            action="issue_link",
            now=now,
            entity_type="quarantine_order",
            entity_id=order.order_no,
            detail={"prefix": issued.link.prefix, "expires_at": issued.link.expires_at},
        )
        return _render_worklist(
            request,
            session,
            principal,
            clock,
            policy,
            day=day,
            community_id=community_id,
            issued={
                "order_no": order.order_no,
                "url": str(request.base_url).rstrip("/") + issued.path,
                "expires_at": issued.link.expires_at.astimezone(LOCAL_TZ),
            },
        )

    return forms.attempt(
        session,
        issue,
        shown=_shown(request, session, principal, clock, policy, day, community_id),
        prefix=f"{order_no}：",
    )
