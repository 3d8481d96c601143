"""HTML pages of the case registry: list, register, view and edit, convert, discharge.

Page handlers own the transaction (``SessionDep`` commits when they return), so a handler
that shows an error rolls back first: a failed edit must leave nothing behind.
Each page names its permission and passes the caller's jurisdiction to the service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fangkong.auth.deps import Require
from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction, Principal
from fangkong.cases import review, service
from fangkong.cases.schemas import CaseCreate, CaseRead, CaseUpdate
from fangkong.cases.vocab import (
    CLASSIFICATION_LABELS,
    FOUND_VIA_LABELS,
    ORIGIN_LABELS,
    Classification,
    FoundVia,
    Origin,
)
from fangkong.clock import today
from fangkong.config import Settings
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.errors import Conflict, FangkongError, InvalidInput, NotFound
from fangkong.flows import positives
from fangkong.people.schemas import PersonCreate
from fangkong.policy import Policy
from fangkong.regions import service as regions
from fangkong.web import forms
from fangkong.web.forms import FieldsDep
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(Require("cases.read", page=True))]
Writer = Annotated[Principal, Depends(Require("cases.write", page=True))]
Reviewer = Annotated[Principal, Depends(Require("cases.review", page=True))]

PAGE_SIZE = 20
FORM_ERROR = "_form"  # errors that belong to no single field

FIELD_LABELS = {
    "case_no": "病例编号",
    "person_no": "人员档案",
    "phone": "手机号",
    "community": "社区（村）",
    "name": "姓名",
    "id_number": "身份证号",
    "district": "区县",
    "street": "街道（镇）",
    "classification": "报告时分类",
    "origin": "来源",
    "found_via": "发现途径",
    "sampled_on": "采样日期",
    "onset_on": "发病日期",
    "reported_on": "报告日期",
    "converted_on": "转为确诊日期",
    "discharged_on": "出院日期",
    "infector_case_no": "传染源病例编号",
    "notes": "备注",
}
CREATE_FIELDS = (
    "case_no",
    "person_no",
    "name",
    "id_number",
    "district",
    "street",
    "classification",
    "origin",
    "found_via",
    "sampled_on",
    "onset_on",
    "reported_on",
    "infector_case_no",
    "notes",
)
EDIT_FIELDS = (*CREATE_FIELDS[2:], "converted_on", "discharged_on")
# What a new registry person takes from the register form beyond the case's own fields.
NEW_PERSON_FIELDS = ("phone", "community")

# The date rules of ``schemas.check_dates``, in the words of the form.
DATE_RULES = {
    "sampled_on is after reported_on": "采样日期晚于报告日期",
    "onset_on is after reported_on for a case confirmed at report": (
        "确诊病例的发病日期晚于报告日期"
    ),
    "only an asymptomatic infection can be converted": "只有无症状感染者可以转为确诊",
    "converted_on is before reported_on": "转为确诊日期早于报告日期",
    "discharged_on is before reported_on": "出院日期早于报告日期",
}
PYDANTIC_MESSAGES = {
    "missing": "必填",
    "string_pattern_mismatch": "只能包含字母、数字、下划线、连字符和点",
    "string_too_short": "必填",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "日期格式应为 YYYY-MM-DD",
    "enum": "请从列表中选择",
    "extra_forbidden": "不支持的字段",
}
DONE_MESSAGES = {
    "created": "病例已登记。",
    "saved": "修改已保存。",
    "unchanged": "没有需要保存的修改。",
    "converted": "已转为确诊病例。",
    "discharged": "已登记出院。",
    "confirmed": "审核通过，病例已计入统计。",
    "voided": "已核减，病例不再计入统计。",
    "corrected": "已订正，统计已随之更新。",
}
STATUS_LABELS = {"pending": "待审核（不计入统计）", "counted": "已计入统计", "voided": "已核减"}
CORRECTION_LABELS = {"review": "审核通过", "void": "核减", "correction": "订正"}
# What a correction (订正) may change: the facts the figures count.
CORRECT_FIELDS = ("classification", "origin", "found_via", "district", "street", "reported_on")

Errors = dict[str, list[str]]
E = TypeVar("E", Classification, Origin, FoundVia)


# ---------------------------------------------------------------- errors in the form's words


def _date_rule(message: str) -> tuple[str, str] | None:
    text = message.removeprefix("Value error, ")
    if text in DATE_RULES:
        return text.split()[0], DATE_RULES[text]
    return None


def validation_errors(exc: ValidationError) -> Errors:
    errors: Errors = {}
    for item in exc.errors():
        loc = item.get("loc") or ()
        field = str(loc[0]) if loc else FORM_ERROR
        kind = item.get("type", "")
        message = PYDANTIC_MESSAGES.get(kind)
        if kind == "string_too_long":
            message = f"最多 {item.get('ctx', {}).get('max_length', '')} 个字符"
        if message is None and (rule := _date_rule(item.get("msg", ""))):
            field, message = rule
        errors.setdefault(field, []).append(message or item.get("msg", "无效"))
    return errors


def domain_errors(exc: FangkongError) -> Errors:
    """Where a service error belongs on the form, said in Chinese when it is a known one."""
    details: Mapping[str, Any] = exc.details
    if isinstance(exc, OutsideJurisdiction):
        place, area = details.get("place_name", ""), details.get("jurisdiction", "")
        return {"district": [f"{place}不在您的管辖范围（{area}）内"]}
    if rule := _date_rule(exc.message):
        return {rule[0]: [rule[1]]}
    if isinstance(exc, Conflict) and "case_no" in details and "already exists" in exc.message:
        return {"case_no": [f"病例编号 {details['case_no']} 已存在"]}
    if isinstance(exc, NotFound) and "case_no" in details:
        return {"infector_case_no": [f"未找到病例 {details['case_no']}"]}
    if isinstance(exc, Conflict) and "person_no" in details and "already exists" in exc.message:
        return {"person_no": [f"人员编号 {details['person_no']} 已存在，请从人员档案中选择"]}
    if details.get("field") == "person_no":
        return {"person_no": ["请从人员档案中选择病例本人，或勾选“新建人员档案”"]}
    if details.get("field") == "id_number" and isinstance(exc, Conflict):
        if "person_no" in details:
            return {"id_number": [f"该身份证号已属于人员 {details['person_no']}"]}
        return {"id_number": ["该身份证号属于您管辖范围以外的人员，请联系其所在区县"]}
    if isinstance(exc, NotFound) and "person_no" in details:
        return {"person_no": [f"您的管辖范围内没有人员 {details['person_no']}"]}
    if isinstance(exc, InvalidInput):
        if details.get("field") == "district":
            return {"district": ["请选择区县"]}
        if details.get("field") == "infector_case_no":
            return {"infector_case_no": ["病例不能是自己的传染源"]}
        if "district" in details:
            return {"district": [f"未知区县：{details['district']}"]}
        if "street" in details:
            return {"street": [f"街道（镇）“{details['street']}”不在所选区县"]}
        if details.get("field") == "reported_on":
            return {"reported_on": ["必填"]}
    field = str(details.get("field", ""))
    return {field if field in FIELD_LABELS else FORM_ERROR: [exc.message]}


# ---------------------------------------------------------------- form vocabulary


def _choices(settings: Settings, policy: Policy, scope: Jurisdiction) -> dict[str, Any]:
    """The form vocabulary; districts and units only those of the caller's jurisdiction."""
    city_code = regions.city(settings.city).code
    districts = service.visible_districts(scope, city_code=city_code)
    control = set(policy.community.under_control_channels)
    return {
        "classifications": [(c.value, CLASSIFICATION_LABELS[c]) for c in Classification],
        "origins": [(o.value, ORIGIN_LABELS[o]) for o in Origin],
        "found_via_groups": [
            ("隔离管控中发现", [(f.value, FOUND_VIA_LABELS[f]) for f in FoundVia if f in control]),
            ("社会面发现", [(f.value, FOUND_VIA_LABELS[f]) for f in FoundVia if f not in control]),
        ],
        "districts": [(d.code, d.name) for d in districts],
        "streets": [(d.name, d.code, regions.streets(d.code)) for d in districts],
        "units": service.visible_units(scope, city_code=city_code),
        "labels": FIELD_LABELS,
        "classification_labels": {c.value: v for c, v in CLASSIFICATION_LABELS.items()},
        "origin_labels": {o.value: v for o, v in ORIGIN_LABELS.items()},
        "found_via_labels": {f.value: v for f, v in FOUND_VIA_LABELS.items()},
    }


def _pick(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: form.get(name, "") for name in names}


# ---------------------------------------------------------------- list


def _enum_or_none(kind: type[E], value: str) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def _date_or_none(value: str, label: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label}“{value}”无法识别，请使用 YYYY-MM-DD 格式")
        return None


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    principal: Reader,
    unit: str = "",
    classification: str = "",
    origin: str = "",
    found_via: str = "",
    reported_from: str = "",
    reported_to: str = "",
    q: str = "",
    page: str = "1",
) -> HTMLResponse:
    city_code = regions.city(settings.city).code
    scope = principal.jurisdiction
    errors: list[str] = []
    unit_codes = {u.code for u in service.visible_units(scope, city_code=city_code)}
    flt = service.CaseFilter(
        city_code=city_code,
        unit_code=unit if unit in unit_codes else None,
        classification=_enum_or_none(Classification, classification),
        origin=_enum_or_none(Origin, origin),
        found_via=_enum_or_none(FoundVia, found_via),
        reported_from=_date_or_none(reported_from, "报告日期起", errors),
        reported_to=_date_or_none(reported_to, "报告日期止", errors),
        text=q.strip() or None,
        text_in_names=principal.can("person.pii.read"),
    )
    number = int(page) if page.isdigit() and int(page) > 0 else 1
    items, total = service.list_cases(
        session, flt=flt, scope=scope, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    params = {
        "unit": flt.unit_code or "",
        "classification": flt.classification or "",
        "origin": flt.origin or "",
        "found_via": flt.found_via or "",
        "reported_from": reported_from if flt.reported_from else "",
        "reported_to": reported_to if flt.reported_to else "",
        "q": q.strip(),
    }
    query = {k: v for k, v in params.items() if v}
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def page_url(n: int) -> str:
        return "/cases?" + urlencode({**query, "page": n})

    context = {
        "nav": "cases",
        "rows": [service.to_read(session, c, policy) for c in items],  # masked
        "can_write": principal.can("cases.write"),
        "can_export": principal.can("export"),
        "query": query,
        "total": total,
        "page": number,
        "pages": pages,
        "prev_url": page_url(number - 1) if number > 1 else None,
        "next_url": page_url(number + 1) if number < pages else None,
        "filters": params,
        "errors": errors,
        **_choices(settings, policy, scope),
    }
    # htmx swaps only the results; a history restore wants the whole page.
    headers = request.headers
    partial = "HX-Request" in headers and "HX-History-Restore-Request" not in headers
    response = templates.TemplateResponse(
        request, "cases/_results.html" if partial else "cases/list.html", context
    )
    response.headers["Vary"] = "HX-Request"
    return response


# ---------------------------------------------------------------- register


def _render_new(
    request: Request,
    settings: Settings,
    policy: Policy,
    scope: Jurisdiction,
    values: Mapping[str, str],
    errors: Errors,
    status: int,
) -> HTMLResponse:
    context = {
        "nav": "cases",
        "values": values,
        "errors": errors,
        **_choices(settings, policy, scope),
    }
    return templates.TemplateResponse(request, "cases/new.html", context, status_code=status)


@router.get("/cases/new", response_class=HTMLResponse)
def case_new(
    request: Request, settings: SettingsDep, policy: PolicyDep, clock: ClockDep, principal: Writer
) -> HTMLResponse:
    values = {"origin": Origin.local.value, "reported_on": today(clock).isoformat()}
    if settings.case_review:
        values["held"] = "1"
    scope = principal.jurisdiction
    districts = service.visible_districts(scope, city_code=regions.city(settings.city).code)
    if len(districts) == 1:
        values["district"] = districts[0].code
    return _render_new(request, settings, policy, scope, values, {}, 200)


@router.get("/cases/new/persons", response_class=HTMLResponse)
def case_new_persons(
    request: Request, session: SessionDep, principal: Writer, q: str = ""
) -> HTMLResponse:
    """The registry persons of the caller's area matching ``q`` (ID number, phone, the
    start of the name), masked, to pick the case's person from (HTMX)."""
    found = service.person_choices(session, text=q, scope=principal.jurisdiction)
    context = {"q": q.strip(), "persons": found}
    return templates.TemplateResponse(request, "cases/_person_options.html", context)


def _new_person(values: Mapping[str, str], extra: Mapping[str, str]) -> PersonCreate:
    """The registry person a register form creates: the case's name, ID number and place,
    numbered after the case."""
    given = {
        "person_no": f"P-{values['case_no']}",
        "name": values["name"],
        "id_number": values["id_number"],
        "district": values["district"],
        "street": values["street"],
        **extra,
    }
    return PersonCreate.model_validate({k: v for k, v in given.items() if v})


@router.post("/cases/new", response_class=HTMLResponse)
def case_create(
    request: Request,
    form: FieldsDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Writer,
) -> Response:
    values = _pick(form, CREATE_FIELDS)
    extra = _pick(form, NEW_PERSON_FIELDS)
    creating = form.get("new_person") == "1" and not values["person_no"]
    held = form.get("held") == "1"
    shown = {**values, **extra, "new_person": "1" if creating else "", "held": "1" if held else ""}
    scope = principal.jurisdiction
    try:
        data = CaseCreate.model_validate({k: v for k, v in values.items() if v})
        new_person = _new_person(values, extra) if creating else None
    except ValidationError as exc:
        return _render_new(request, settings, policy, scope, shown, validation_errors(exc), 422)
    with forms.undone_on_error(session) as undone:
        case = positives.register_by_hand(
            session,
            data=data,
            new_person=new_person,
            now=clock.now(),
            scope=scope,
            policy=policy,
            held=held,
        )
    if undone.error:
        errors = domain_errors(undone.error)
        return _render_new(request, settings, policy, scope, shown, errors, 422)
    return RedirectResponse(f"/cases/{case.case_no}?done=created", status_code=303)


# ---------------------------------------------------------------- one case


def _current(read: CaseRead) -> dict[str, str]:
    """The edit form's values for a case as it is stored."""

    def text(value: object) -> str:
        if value is None:
            return ""
        return value.isoformat() if isinstance(value, date) else str(value)

    return {
        "name": text(read.name),
        "id_number": "",  # left blank: the stored number is shown masked, blank keeps it
        "district": read.district_code,
        "street": text(read.street_code),
        "classification": read.reported_classification.value,
        "origin": read.origin.value,
        "found_via": text(read.found_via and read.found_via.value),
        "sampled_on": text(read.sampled_on),
        "onset_on": text(read.onset_on),
        "reported_on": text(read.reported_on),
        "converted_on": text(read.converted_on),
        "discharged_on": text(read.discharged_on),
        "infector_case_no": text(read.infector_case_no),
        "notes": text(read.notes),
    }


def _changes(current: Mapping[str, str], submitted: Mapping[str, str]) -> dict[str, str | None]:
    """PATCH semantics: only what the person changed; a blank ID number keeps the stored one."""
    given: dict[str, str | None] = {
        name: (submitted[name] or None)
        for name in EDIT_FIELDS
        if submitted[name] != current[name] and not (name == "id_number" and not submitted[name])
    }
    if "district" in given or "street" in given:
        # The street decides the function zone only together with its district.
        given["district"] = submitted["district"] or None
        given["street"] = submitted["street"] or None
    return given


def _render_case(
    request: Request,
    session: Session,
    settings: Settings,
    policy: Policy,
    clock: ClockDep,
    *,
    principal: Principal,
    case_no: str,
    values: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    event_errors: Mapping[str, str] | None = None,
    done: str = "",
    status: int = 200,
) -> HTMLResponse:
    scope = principal.jurisdiction
    try:
        case = service.get_case(session, case_no=case_no, scope=scope)
    except NotFound:
        missing: dict[str, Any] = {"nav": "cases", "case_no": case_no}
        return templates.TemplateResponse(request, "cases/not_found.html", missing, status_code=404)
    read = service.read_detail(
        session, case=case, policy=policy, principal=principal, now=clock.now()
    )
    context: dict[str, Any] = {
        "nav": "cases",
        "case": read,
        "can_write": principal.can("cases.write"),
        "can_review": principal.can("cases.review"),
        "status_label": STATUS_LABELS.get(read.status, read.status),
        "corrections": [
            {
                "kind": CORRECTION_LABELS.get(c.kind, c.kind),
                "day": c.day,
                "reason": c.reason,
                "by": c.by,
            }
            for c in review.corrections_of(session, case_id=case.id)
        ],
        "values": values if values is not None else _current(read),
        "errors": errors or {},
        "event_errors": event_errors or {},
        "done": DONE_MESSAGES.get(done, ""),
        "today": today(clock),
        **_choices(settings, policy, scope),
    }
    return templates.TemplateResponse(request, "cases/detail.html", context, status_code=status)


@router.get("/cases/{case_no}", response_class=HTMLResponse)
def case_detail(
    request: Request,
    case_no: str,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reader,
    done: str = "",
) -> HTMLResponse:
    return _render_case(
        request, session, settings, policy, clock, principal=principal, case_no=case_no, done=done
    )


@router.post("/cases/{case_no}", response_class=HTMLResponse)
def case_edit(
    request: Request,
    case_no: str,
    form: FieldsDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Writer,
) -> Response:
    submitted = _pick(form, EDIT_FIELDS)
    scope = principal.jurisdiction
    try:
        case = service.get_case(session, case_no=case_no, scope=scope)
    except NotFound:
        return _render_case(
            request, session, settings, policy, clock, principal=principal, case_no=case_no
        )
    # Compared with what the form showed: masked values unchanged are not changes.
    read = service.to_read(session, case, policy, full=principal.can("person.pii.read"))
    given = _changes(_current(read), submitted)
    if not given:
        return RedirectResponse(f"/cases/{case_no}?done=unchanged", status_code=303)
    errors: dict[str, list[str]] = {}
    try:
        data = CaseUpdate.model_validate(given)
    except ValidationError as exc:
        errors = validation_errors(exc)
    else:
        with forms.undone_on_error(session) as undone:
            service.update_case(session, case_no=case_no, data=data, now=clock.now(), scope=scope)
        errors = domain_errors(undone.error) if undone.error else {}
    if errors:
        return _render_case(
            request,
            session,
            settings,
            policy,
            clock,
            principal=principal,
            case_no=case_no,
            values=submitted,
            errors=errors,
            status=422,
        )
    return RedirectResponse(f"/cases/{case_no}?done=saved", status_code=303)


def _day_event(
    request: Request,
    form: Mapping[str, str],
    session: Session,
    settings: Settings,
    policy: Policy,
    clock: ClockDep,
    *,
    principal: Principal,
    case_no: str,
    kind: str,
) -> Response:
    try:
        on = date.fromisoformat(form.get("on", ""))
    except ValueError:
        message = "请填写日期（YYYY-MM-DD）"
    else:
        action = service.convert_case if kind == "converted" else service.discharge_case
        with forms.undone_on_error(session) as undone:
            action(session, case_no=case_no, on=on, now=clock.now(), scope=principal.jurisdiction)
        if undone.error:
            message = _event_message(undone.error)
        else:
            return RedirectResponse(f"/cases/{case_no}?done={kind}", status_code=303)
    return _render_case(
        request,
        session,
        settings,
        policy,
        clock,
        principal=principal,
        case_no=case_no,
        event_errors={kind: message},
        status=422,
    )


def _event_message(exc: FangkongError) -> str:
    if rule := _date_rule(exc.message):
        return rule[1]
    if "already converted" in exc.message:
        return "该病例已转为确诊"
    if "only asymptomatic converts" in exc.message:
        return "该病例报告时即为确诊病例，无需转为确诊"
    if "already discharged" in exc.message:
        return "该病例已登记出院"
    return exc.message


@router.post("/cases/{case_no}/convert", response_class=HTMLResponse)
def case_convert(
    request: Request,
    case_no: str,
    form: FieldsDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Writer,
) -> Response:
    return _day_event(
        request,
        form,
        session,
        settings,
        policy,
        clock,
        principal=principal,
        case_no=case_no,
        kind="converted",
    )


@router.post("/cases/{case_no}/discharge", response_class=HTMLResponse)
def case_discharge(
    request: Request,
    case_no: str,
    form: FieldsDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Writer,
) -> Response:
    return _day_event(
        request,
        form,
        session,
        settings,
        policy,
        clock,
        principal=principal,
        case_no=case_no,
        kind="discharged",
    )


# ---------------------------------------------------------------- review and correction


@router.post("/cases/{case_no}/review", response_class=HTMLResponse)
def case_review(
    request: Request,
    case_no: str,
    form: FieldsDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reviewer,
) -> Response:
    """审核通过 (``action=confirm``) or 核减 (``action=void``), with a reason."""
    action = review.confirm if form.get("action") == "confirm" else review.void
    with forms.undone_on_error(session) as undone:
        action(
            session, case_no=case_no, reason=form.get("reason", ""), principal=principal,
            now=clock.now(),
        )  # fmt: skip
    if undone.error:
        return _render_case(
            request, session, settings, policy, clock, principal=principal, case_no=case_no,
            event_errors={"review": _review_message(undone.error)}, status=422,
        )  # fmt: skip
    done = "confirmed" if action is review.confirm else "voided"
    return RedirectResponse(f"/cases/{case_no}?done={done}", status_code=303)


@router.post("/cases/{case_no}/correct", response_class=HTMLResponse)
def case_correct(
    request: Request,
    case_no: str,
    form: FieldsDep,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    clock: ClockDep,
    principal: Reviewer,
) -> Response:
    """订正: the counted facts the form changes, with a reason."""
    given = {k: form.get(k) or None for k in CORRECT_FIELDS if k in form}
    message = ""
    try:
        data = CaseUpdate.model_validate(given)
    except ValidationError as exc:
        message = "；".join(f"{FIELD_LABELS.get(k, k)}：{'、'.join(v)}"
                           for k, v in validation_errors(exc).items())  # fmt: skip
    else:
        with forms.undone_on_error(session) as undone:
            review.correct(
                session, case_no=case_no, data=data, reason=form.get("reason", ""),
                principal=principal, now=clock.now(),
            )  # fmt: skip
        if undone.error:
            message = _review_message(undone.error)
    if message:
        return _render_case(
            request, session, settings, policy, clock, principal=principal, case_no=case_no,
            event_errors={"correct": message}, status=422,
        )  # fmt: skip
    return RedirectResponse(f"/cases/{case_no}?done=corrected", status_code=303)


def _review_message(exc: FangkongError) -> str:
    if exc.details.get("field") == "reason":
        if "changes nothing" in exc.message:
            return "订正内容没有改变统计口径（分类、来源、发现途径、区县、街道或报告日期）"
        return "请填写原因"
    if "not held for review" in exc.message:
        return "该病例不在待审核状态"
    if "already voided" in exc.message:
        return "该病例已核减"
    if "only a counted case" in exc.message:
        return "只有已计入统计的病例可以订正"
    return domain_errors(exc).popitem()[1][0]
