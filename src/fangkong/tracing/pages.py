"""HTML pages of contact tracing: a case's contacts and visits, who was at a venue with a
positive, the risk-person notice, clusters and their chain graph.

Each page names its permission and passes the caller's jurisdiction to the service; a
case, venue or cluster outside it is answered like one that does not exist. People are
always shown masked: these are lists of people.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.cases import service as cases_service
from fangkong.cases.vocab import CLASSIFICATION_LABELS, Classification
from fangkong.clock import LOCAL_TZ, today
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import NotFound
from fangkong.people import service as people_service
from fangkong.people import venues as people_venues
from fangkong.people.masking import mask_name
from fangkong.regions import service as regions
from fangkong.tracing import notice, service, views
from fangkong.tracing.rules import ContactStatus, Degree
from fangkong.web import forms
from fangkong.web.forms import FieldsDep
from fangkong.web.templating import templates

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(Require("tracing.read", page=True))]
Writer = Annotated[Principal, Depends(Require("tracing.write", page=True))]

DEGREE_LABELS = {
    Degree.close: "密切接触者",
    Degree.secondary: "次密切接触者",
    Degree.general: "一般接触者",
}
STATUS_LABELS = {
    ContactStatus.new: "新发现",
    ContactStatus.notified: "已通知",
    ContactStatus.controlled: "已管控",
}
ANCHOR_LABELS = {"onset": "发病日期", "sampling": "采样日期", "report": "报告日期"}
EDGE_LABELS = {
    "infector": "传染源",
    "shared_contact": "共同密接",
    "co_presence": "场所共同暴露",
    "contact": "互为接触者",
}
CLASS_LABELS = {c.value: label for c, label in CLASSIFICATION_LABELS.items()}


def _lake(settings: SettingsDep) -> Iterator[service.Lake]:
    with service.shared_lake(
        home=settings.home, engine=settings.engine, spark_master=settings.spark_master
    ) as lake:
        yield lake


LakeDep = Annotated[service.Lake, Depends(_lake)]


def _not_found(
    request: Request, message: str, back: tuple[str, str], status: int = 404
) -> HTMLResponse:
    context = {"nav": "tracing", "message": message, "back": back}
    return templates.TemplateResponse(
        request, "tracing/not_found.html", context, status_code=status
    )


# ---------------------------------------------------------------- wording


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


def wall(moment: datetime) -> str:
    """Local wall-clock time without offset: the charts show it as it is, in any browser."""
    return local(moment).strftime("%Y-%m-%d %H:%M:%S")


def span(start: datetime, end: datetime) -> str:
    return notice.window_text(start, end, with_year=False)


def minutes_text(value: float) -> str:
    return f"{value:g}"


def reason_view(
    reason: Mapping[str, Any], venues: Mapping[str, str], vias: Mapping[str, str | None]
) -> dict[str, Any]:
    """One reason of a contact in plain Chinese, with the rule and, for a venue, its link."""
    kind = reason.get("kind")
    view: dict[str, Any] = {"kind": kind, "rule": reason.get("rule", ""), "venue_code": None}
    if kind == "household":
        view["text"] = f"同住：同一户（户号 {reason.get('household_no', '—')}）"
    elif kind == "workplace_unit":
        unit = reason.get("workplace_unit") or "—"
        view["text"] = f"同单位同部门：单位 {reason.get('workplace_no', '—')}，{unit}"
    elif kind == "venue":
        code = str(reason.get("venue_code", ""))
        start = datetime.fromisoformat(reason["overlap_start"])
        end = datetime.fromisoformat(reason["overlap_end"])
        minutes = float(reason.get("minutes", (end - start).total_seconds() / 60))
        view["venue_code"] = code
        view["text"] = (
            f"场所共同暴露：{venues.get(code, code)}（{code}），{span(start, end)}，"
            f"重叠 {minutes_text(minutes)} 分钟"
        )
    elif kind == "secondary":
        via = str(reason.get("via", ""))
        how = (
            f"同住（户号 {reason['household_no']}）"
            if reason.get("household_no")
            else f"同单位同部门（单位 {reason.get('workplace_no', '—')}，"
            f"{reason.get('workplace_unit') or '—'}）"
        )
        view["text"] = f"次密接：与密切接触者 {vias.get(via) or '—'}（{via}）{how}"
        view["via"] = via
    else:
        view["text"] = str(kind)
    return view


# ---------------------------------------------------------------- a case's contacts


def _window_view(case: Any, policy: Any) -> dict[str, Any]:
    w = service.window_of(case, policy)
    return {
        "anchor": ANCHOR_LABELS.get(w.anchor, w.anchor),
        "anchor_day": w.anchor_day,
        "days": policy.tracing.lookback_days,
        "text": span(w.start, w.end),
        "start": wall(w.start),
        "end": wall(w.end),
        "rule": str(policy.rule("tracing.lookback_days")),
        "window": w,
    }


@router.get("/cases/{case_no}/contacts", response_class=HTMLResponse)
def case_contacts(
    request: Request,
    case_no: str,
    session: SessionDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Reader,
    done: str = "",
    added: int = 0,
    changed: int = 0,
    removed: int = 0,
) -> HTMLResponse:
    scope = principal.jurisdiction
    try:
        case = cases_service.get_case(session, case_no=case_no, scope=scope)
        found = service.contacts_of(session, case_no=case_no, scope=scope)
    except NotFound:
        return _not_found(request, f"未找到病例 {case_no}。", ("/cases", "返回病例列表"))
    reads = [service.contact_read(c, p) for c, p in found]
    venue_codes = {
        str(r["venue_code"]) for c in reads for r in c.reasons if r.get("kind") == "venue"
    }
    via_nos = {str(r["via"]) for c in reads for r in c.reasons if r.get("via")}
    venue_names = {
        code: v.name for code, v in people_venues.venues_by_code(session, venue_codes).items()
    }
    vias = {
        no: mask_name(p.name) for no, p in people_service.persons_by_no(session, via_nos).items()
    }
    groups = []
    for degree in Degree:
        rows = [
            {
                "person_no": c.person_no,
                "name": c.name,
                "phone": c.phone,
                "id_number": c.id_number,
                "status": c.status.value,
                "status_label": STATUS_LABELS[c.status],
                "rule": c.rule,
                "reasons": [reason_view(r, venue_names, vias) for r in c.reasons],
                "first_found": local(c.first_found_at).strftime("%Y-%m-%d %H:%M"),
            }
            for c in reads
            if c.degree is degree
        ]
        groups.append({"degree": degree.value, "label": DEGREE_LABELS[degree], "rows": rows})

    window = _window_view(case, policy)
    visits = service.visits_of(
        session, case_no=case_no, con=lake.con, lake=lake.root, policy=policy, scope=scope
    )
    visit_rows = [
        {
            "venue_code": v.venue_code,
            "venue": v.venue_name or v.venue_code,
            "category": v.category or "",
            "span": span(v.entered_at, v.left_at),
            "minutes": minutes_text(round((v.left_at - v.entered_at).total_seconds() / 60, 1)),
            "inferred": v.left_at_inferred,
            "start": wall(v.entered_at),
            "end": wall(v.left_at),
        }
        for v in visits
    ]
    chart = {
        "window": {"start": window["start"], "end": window["end"]},
        "visits": [
            {
                "label": f"{r['venue']}（{r['venue_code']}）",
                "start": r["start"],
                "end": r["end"],
                "inferred": r["inferred"],
                "span": r["span"],
            }
            for r in visit_rows
        ],
    }
    done_text = ""
    if done == "traced":
        done_text = f"流调完成：新增 {added} 人，更新 {changed} 人，移除 {removed} 人（未处置的）。"
    elif done == "status":
        done_text = "状态已更新。"
    context = {
        "nav": "tracing",
        "case": case,
        "classification_label": CLASS_LABELS.get(case.classification, case.classification),
        "traceable": case.person_id is not None,
        "groups": groups,
        "total": len(reads),
        "window": window,
        "visits": visit_rows,
        "chart": chart,
        "can_write": principal.can("tracing.write"),
        "statuses": [(s.value, STATUS_LABELS[s]) for s in ContactStatus],
        "done": done_text,
        "policy": policy,
    }
    return templates.TemplateResponse(request, "tracing/contacts.html", context)


@router.post("/cases/{case_no}/contacts/trace", response_class=HTMLResponse)
def case_trace(
    request: Request,
    case_no: str,
    session: SessionDep,
    policy: PolicyDep,
    clock: ClockDep,
    lake: LakeDep,
    principal: Writer,
) -> Response:
    with forms.undone_on_error(session, NotFound) as undone:
        report = service.trace_cases(
            session,
            case_nos=[case_no],
            con=lake.con,
            lake=lake.root,
            policy=policy,
            now=clock.now(),
            scope=principal.jurisdiction,
        )
    if undone.error:
        return _not_found(request, f"未找到病例 {case_no}。", ("/cases", "返回病例列表"))
    read = report.cases[0]
    query = urlencode(
        {"done": "traced", "added": read.added, "changed": read.changed, "removed": read.removed}
    )
    return RedirectResponse(f"/cases/{case_no}/contacts?{query}", status_code=303)


@router.post("/cases/{case_no}/contacts/{person_no}/status", response_class=HTMLResponse)
def contact_status(
    request: Request,
    case_no: str,
    person_no: str,
    form: FieldsDep,
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
) -> Response:
    try:
        status = ContactStatus(form.get("status", ""))
    except ValueError:
        back = (f"/cases/{case_no}/contacts", "返回密接列表")
        return _not_found(request, "请选择状态：新发现、已通知或已管控。", back, 422)
    with forms.undone_on_error(session, NotFound) as undone:
        service.set_status(
            session,
            case_no=case_no,
            person_no=person_no,
            status=status,
            now=clock.now(),
            scope=principal.jurisdiction,
        )
    if undone.error:
        return _not_found(
            request, f"病例 {case_no} 没有接触者 {person_no}。", ("/cases", "返回病例列表")
        )
    return RedirectResponse(
        f"/cases/{case_no}/contacts?done=status#contact-{person_no}", status_code=303
    )


# ---------------------------------------------------------------- a venue


def _venue_view(session: SessionDep, venue_code: str, principal: Principal) -> dict[str, Any]:
    venue = people_venues.get_venue(session, venue_code=venue_code, scope=principal.jurisdiction)
    return {
        "code": venue.venue_code,
        "name": venue.name,
        "category": venue.category,
        "address": venue.address,
        "district": regions.registry().districts[venue.district_code].name,
    }


@router.get("/venues/{venue_code}/exposures", response_class=HTMLResponse)
def venue_exposures(
    request: Request,
    venue_code: str,
    session: SessionDep,
    policy: PolicyDep,
    lake: LakeDep,
    principal: Reader,
) -> HTMLResponse:
    try:
        venue = _venue_view(session, venue_code, principal)
        found = views.venue_exposures(
            session,
            venue_code=venue_code,
            con=lake.con,
            lake=lake.root,
            policy=policy,
            scope=principal.jurisdiction,
        )
    except NotFound:
        return _not_found(request, f"未找到场所 {venue_code}。", ("/clusters", "返回流调"))
    positives = [
        {
            "case_no": p.case_no,
            "classification": p.classification,
            "classification_label": CLASS_LABELS.get(p.classification, p.classification),
            "visits": [span(v.entered_at, v.left_at) for v in p.visits],
            "persons": [
                {
                    "person_no": c.person_no,
                    "name": c.name,
                    "phone": c.phone,
                    "degree": c.degree.value,
                    "degree_label": DEGREE_LABELS[c.degree],
                    "status_label": STATUS_LABELS[c.status],
                    "span": span(c.overlap_start, c.overlap_end),
                    "minutes": minutes_text(c.minutes),
                }
                for c in p.persons
            ],
        }
        for p in found
    ]
    context = {
        "nav": "tracing",
        "venue": venue,
        "positives": positives,
        "persons": sum(len(p["persons"]) for p in positives),
        "policy": policy,
    }
    return templates.TemplateResponse(request, "tracing/exposures.html", context)


def _parse_local(value: str) -> datetime:
    """``2022-03-08T10:00`` (a datetime-local field) as Asia/Shanghai time, or ISO with offset."""
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def _field(moment: datetime) -> str:
    return local(moment).strftime("%Y-%m-%dT%H:%M")


def _windows(starts: Iterable[str], ends: Iterable[str]) -> list[tuple[datetime, datetime]]:
    found = []
    for a, b in zip(starts, ends, strict=False):
        if not a.strip() and not b.strip():
            continue
        try:
            start, end = _parse_local(a), _parse_local(b)
        except ValueError:
            raise ValueError(f"时间“{a}”—“{b}”无法识别，请使用 YYYY-MM-DDTHH:MM 格式。") from None
        if end <= start:
            raise ValueError(f"结束时间应晚于开始时间（{a}—{b}）。")
        found.append((start, end))
    return found


@router.get("/venues/{venue_code}/notice", response_class=HTMLResponse)
def venue_notice(
    request: Request,
    venue_code: str,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    lake: LakeDep,
    principal: Reader,
    starts: Annotated[list[str], Query(alias="from", max_length=20)] = [],  # noqa: B006
    ends: Annotated[list[str], Query(alias="to", max_length=20)] = [],  # noqa: B006
    issuer: Annotated[str, Query(max_length=60)] = "",
    hotline: Annotated[str, Query(max_length=30)] = "",
) -> HTMLResponse:
    try:
        venue = _venue_view(session, venue_code, principal)
    except NotFound:
        return _not_found(request, f"未找到场所 {venue_code}。", ("/clusters", "返回流调"))
    city = regions.city(settings.city).name
    error = ""
    prefilled = False
    try:
        windows = _windows(starts, ends)
    except ValueError as exc:
        error, windows = str(exc), []
    if not windows and not error:
        # Prefilled from the stays of the positives at the venue.
        found = views.venue_exposures(
            session,
            venue_code=venue_code,
            con=lake.con,
            lake=lake.root,
            policy=policy,
            scope=principal.jurisdiction,
        )
        windows = notice.merge_windows([(v.entered_at, v.left_at) for p in found for v in p.visits])
        prefilled = bool(windows)
    issuer = issuer.strip() or f"{city}{venue['district']}新冠肺炎疫情防控指挥部"
    text = ""
    if windows:
        text = notice.risk_notice(
            city=city,
            venue=notice.NoticeVenue(venue["name"], venue["district"], venue["address"]),
            windows=windows,
            issuer=issuer,
            issued_on=today(clock),
            hotline=hotline.strip() or None,
        )
    context = {
        "nav": "tracing",
        "venue": venue,
        "text": text,
        "error": error,
        "prefilled": prefilled,
        "fields": [(_field(a), _field(b)) for a, b in windows] or [("", "")],
        "issuer": issuer,
        "hotline": hotline.strip(),
    }
    return templates.TemplateResponse(
        request, "tracing/notice.html", context, status_code=400 if error else 200
    )


# ---------------------------------------------------------------- clusters


def _since(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/clusters", response_class=HTMLResponse)
def cluster_list(
    request: Request, session: SessionDep, principal: Reader, since: str = ""
) -> HTMLResponse:
    scope = principal.jurisdiction
    start = _since(since)
    found = service.clusters(session, scope=scope, since=start)
    briefs = views.case_briefs(
        session, case_nos=[no for c in found for no in c.case_nos], scope=scope
    )
    rows = []
    for c in found:
        members = [briefs[no] for no in c.case_nos if no in briefs]
        rows.append(
            {
                "name": c.name,
                "id": c.first_case_no,
                "cases": len(c.case_nos),
                "confirmed": sum(b.classification == Classification.confirmed for b in members),
                "first_day": c.first_day,
                "last_day": max((b.reported_on for b in members), default=c.first_day),
                "districts": "、".join(dict.fromkeys(b.district_name for b in members)),
                "close": sum(b.contacts[Degree.close.value] for b in members),
            }
        )
    context = {"nav": "tracing", "rows": rows, "since": start}
    return templates.TemplateResponse(request, "tracing/clusters.html", context)


def _edge_detail(detail: str | None) -> str:
    """Contact edges carry the degree: said in words."""
    if detail is None:
        return ""
    return DEGREE_LABELS[Degree(detail)] if detail in Degree.__members__ else detail


def node_size(contacts: int) -> float:
    """Grows with the square root of the contacts, so one super-spreader does not fill it."""
    return round(min(60.0, 14.0 + 4.0 * math.sqrt(contacts)), 1)


@router.get("/clusters/{first_case_no}", response_class=HTMLResponse)
def cluster_detail(
    request: Request, first_case_no: str, session: SessionDep, principal: Reader
) -> HTMLResponse:
    scope = principal.jurisdiction
    cluster = next(
        (c for c in service.clusters(session, scope=scope) if c.first_case_no == first_case_no),
        None,
    )
    if cluster is None:
        return _not_found(request, f"未找到聚集性疫情 {first_case_no}。", ("/clusters", "返回列表"))
    briefs = views.case_briefs(session, case_nos=cluster.case_nos, scope=scope)
    classes = [c.value for c in Classification]
    cases = [briefs[no] for no in cluster.case_nos if no in briefs]
    graph = {
        "categories": [{"name": CLASS_LABELS[c]} for c in classes],
        "edgeKinds": [{"kind": k, "name": v} for k, v in EDGE_LABELS.items()],
        "nodes": [
            {
                "id": b.case_no,
                "name": b.case_no,
                "category": classes.index(b.classification) if b.classification in classes else 0,
                "symbolSize": node_size(sum(b.contacts.values())),
                "contacts": b.contacts,
                "district": b.district_name,
                "reported": b.reported_on.isoformat(),
            }
            for b in cases
        ],
        "links": [
            {
                "source": e.source,
                "target": e.target,
                "kind": e.kind,
                "label": EDGE_LABELS.get(e.kind, e.kind),
                "detail": _edge_detail(e.detail),
            }
            for e in cluster.edges
        ],
    }
    context = {
        "nav": "tracing",
        "cluster": cluster,
        "cases": cases,
        "class_labels": CLASS_LABELS,
        "edge_labels": EDGE_LABELS,
        "graph": graph,
    }
    return templates.TemplateResponse(request, "tracing/cluster.html", context)
