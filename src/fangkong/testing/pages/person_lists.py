"""The lists a community worker acts on (missing, recall, retest), with the forms that
record a re-sample or an exemption."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.principal import Principal
from fangkong.clock import beijing_minute
from fangkong.deps import ClockDep, SessionDep
from fangkong.errors import FangkongError, NotFound
from fangkong.testing import apply as applying
from fangkong.testing import lists, service, views
from fangkong.testing.models import TestingRound
from fangkong.testing.pages.common import (
    Exempter,
    LakeDep,
    Reader,
    Sampler,
    error_page,
    failed_page,
    no_round_page,
    round_in_scope,
)
from fangkong.web import forms
from fangkong.web.forms import FormDep, text
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)

LIST_HINTS = {
    "missing": "应检未检、也未登记免检的人员：请电话或入户通知其到采样点采样。",
    "recall": "所在混管检测阳性的人员：立即就地管控，单管单采复核；复采后点击“已复采”。",
    "retest": "样本无法检测（无效管）且之后未再采样的人员：请通知其重新采样。",
}
SHOWN_ROWS = 500  # a page lists this many; the rest is the Excel export


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
        community = views.community_of_list(session, community_id, scope)
        if community is None:
            return error_page(
                request,
                f"未找到社区 {community_id}。",
                (f"/testing/rounds/{round_.code}", "返回轮次"),
            )
    applied = round_.applied_at is not None
    rows: list[lists.Listed] = []
    count = 0
    if applied:
        states = lists.LIST_STATES[which]
        rows = lists.listed(
            session,
            lake,
            round_,
            states=states,
            scope=scope,
            community_id=community_id,
            limit=SHOWN_ROWS,
        )
        count = views.list_count(lake, round_, states, community_id, scope)
    exempted = (
        views.exemption_reasons(session, round_, [r.person_no for r in rows])
        if which == "missing"
        else {}
    )
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
                "sampled_at": beijing_minute(r.sampled_at),
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
    round_ = round_in_scope(session, code, principal)
    if round_ is None:
        return no_round_page(request, code)
    if which not in lists.LIST_STATES:
        return error_page(request, "没有这种名单。", (f"/testing/rounds/{code}", "返回轮次"))
    message = ""
    if done == "resampled":
        message = f"已记录 {person} 已复采；单管结果回来并再次应用检测结果后，复核状态自动更新。"
    elif done == "exempted":
        message = (
            f"已登记 {person} 免检。免检在下次“应用检测结果”后计入统计，"
            "届时该人员不再列入未检名单。"
        )
    try:
        return _render_list(
            request,
            session,
            lake,
            principal,
            round_,
            which,
            _community_id(community_id),
            done=message,
        )
    except FangkongError as exc:
        return failed_page(request, exc, (f"/testing/rounds/{code}", "返回轮次"))


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
    round_ = round_in_scope(session, code, principal)
    if round_ is None:
        return no_round_page(request, code)
    community_id = _community_id(text(form, "community_id"))
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
    round_ = round_in_scope(session, code, principal)
    if round_ is None:
        return no_round_page(request, code)
    community_id = _community_id(text(form, "community_id"))
    person_no, reason, note = (text(form, n) for n in ("person_no", "reason", "note"))
    error = ""
    if reason not in service.EXEMPT_REASONS:
        error = "请选择免检原因：隔离管控中、住院、外出或其他。"
    elif len(note) > 200:
        error = "备注最多 200 个字符。"
    else:
        with forms.undone_on_error(session) as undone:
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
        if isinstance(undone.error, NotFound):
            error = f"未找到人员 {person_no}。"
        elif undone.error is not None:
            error = f"未能登记免检：{undone.error.message}"
    if error:
        round_ = round_in_scope(session, code, principal)
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
