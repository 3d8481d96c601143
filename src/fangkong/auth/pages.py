"""Pages: sign-in, sign-out, own password, the audit log and users (administrators)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.apiutil import MAX_OFFSET
from fangkong.auth import audit, homes, login_csrf, service
from fangkong.auth.deps import COOKIE, Public, Require, SignedIn, client_ip, set_session_cookie
from fangkong.auth.permissions import ROLES
from fangkong.auth.principal import Principal
from fangkong.clock import LOCAL_TZ
from fangkong.config import Settings
from fangkong.deps import ClockDep, SessionDep, SettingsDep
from fangkong.errors import FangkongError, InvalidInput
from fangkong.flows import accounts
from fangkong.web import forms
from fangkong.web.ratelimit import RateLimited, check_sign_in
from fangkong.web.templating import templates

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal, Depends(SignedIn(page=True))]
Auditor = Annotated[Principal, Depends(Require("audit.read", page=True))]
Admin = Annotated[Principal, Depends(Require("users.manage", page=True))]
PAGE = 50


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would make the sign-in page a phishing tool.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_page(
    request: Request,
    settings: Settings,
    *,
    next: str | None,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> Response:
    """The sign-in form with its pre-session CSRF token (``auth/login_csrf.py``)."""
    token = login_csrf.token_for(request, settings)
    response = templates.TemplateResponse(
        request,
        "auth/login.html",
        {"next": _safe_next(next), "error": error, "username": username, "login_csrf": token},
        status_code=status_code,
    )
    login_csrf.set_cookie(response, token, settings)
    return response


@router.get(
    "/login", response_class=HTMLResponse, dependencies=[Depends(Public("the sign-in form"))]
)
def login_form(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    return _login_page(request, settings, next=next)


@router.post("/login", dependencies=[Depends(Public("signing in needs no prior sign-in"))])
def login(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    try:
        check_sign_in(request, username)
    except RateLimited as exc:
        response = _login_page(
            request, settings, next=next, error=exc.message, username=username, status_code=429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if not login_csrf.check(request, csrf_token, settings):
        return _login_page(
            request,
            settings,
            next=next,
            error="登录页面已过期，请重新输入 (the sign-in form expired; please try again)",
            username=username,
            status_code=403,
        )
    now = clock.now()
    try:
        user = service.authenticate(
            session,
            username=username,
            password=password,
            now=now,
            settings=settings,
            ip=client_ip(request),
        )
    except FangkongError as exc:
        # The failed attempt (and a lock-out) must be kept although the page shows an error.
        session.commit()
        return _login_page(
            request,
            settings,
            next=next,
            error=exc.message,
            username=username,
            status_code=exc.status,
        )
    raw, _ = service.start_session(
        session,
        user=user,
        now=now,
        keys=service.Keys.from_settings(settings),
        hours=settings.session_hours,
        ip=client_ip(request),
    )
    target = _safe_next(next)
    if target == "/":  # no page asked for: the page this user works from
        target = homes.home_of(user.role, user.scope_kind, user.scope_code)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, raw, settings)
    login_csrf.clear_cookie(response)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep, principal: Me) -> Response:
    raw = request.cookies.get(COOKIE)
    if raw:
        service.end_session(session, raw=raw, keys=service.Keys.from_settings(settings))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, principal: Me) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "auth/password.html", {"error": None, "done": False, "nav": "account"}
    )


@router.post("/account/password", response_class=HTMLResponse)
def password_change(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    principal: Me,
    old_password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(max_length=200)],
    confirm_password: Annotated[str, Form(max_length=200)],
) -> HTMLResponse:
    error = None
    if new_password != confirm_password:
        error = "两次输入的新密码不一致"
    else:
        with forms.undone_on_error(session) as undone:
            user = service.get_user(session, username=principal.name)
            service.change_password(
                session,
                user=user,
                old=old_password,
                new=new_password,
                now=clock.now(),
                keep_session=getattr(request.state, "web_session_id", None),
            )
            audit.record(
                session,
                principal=principal,
                action="password_change",
                now=clock.now(),
                entity_type="user",
                entity_id=principal.name,
            )
        error = undone.error.message if undone.error else None
    return templates.TemplateResponse(
        request,
        "auth/password.html",
        {"error": error, "done": error is None, "nav": "account"},
        status_code=422 if error else 200,
    )


def _local(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        return None


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    principal: Auditor,
    actor: str = "",
    action: str = "",
    entity_id: str = "",
    since: str = "",
    until: str = "",
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> HTMLResponse:
    flt = audit.AuditFilter(
        actor=actor or None,
        action=action or None,
        entity_id=entity_id or None,
        since=_local(since),
        until=_local(until),
    )
    items, total = audit.list_events(session, flt=flt, limit=PAGE, offset=offset)
    params = {
        k: v
        for k, v in {
            "actor": actor,
            "action": action,
            "entity_id": entity_id,
            "since": since,
            "until": until,
        }.items()
        if v
    }
    return templates.TemplateResponse(
        request,
        "auth/audit.html",
        {
            "nav": "audit",
            "items": items,
            "total": total,
            "offset": offset,
            "page": PAGE,
            "filters": params,
            "query": urlencode(params),
            "tz": LOCAL_TZ,
        },
    )


USERNAME = re.compile(r"[A-Za-z0-9_.\-]{3,64}")
SCOPE_LABELS = {
    "city": "市",
    "district": "区县",
    "unit": "报告单位（功能区）",
    "street": "街道/镇",
    "community": "社区（编号）",
    "site": "隔离点（编码）",
    "lab": "检测机构（编码）",
    "venue": "场所（编码）",
}
NOTICES = {
    "created": "用户已创建。",
    "reset": "密码已重置，该用户的所有会话已退出。",
    "disabled": "用户已停用。",
    "revoked": "令牌已吊销。",
}


def _users_page(
    request: Request,
    session: SessionDep,
    *,
    notice: str = "",
    error: str | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "auth/users.html",
        {
            "nav": "users",
            "users": service.list_users(session),
            "tokens": service.list_tokens(session),
            "roles": ROLES,
            "scope_labels": SCOPE_LABELS,
            "tz": LOCAL_TZ,
            "notice": notice,
            "error": error,
            "new_token": new_token,
        },
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, session: SessionDep, principal: Admin, done: str = ""
) -> HTMLResponse:
    return _users_page(request, session, notice=NOTICES.get(done, ""))


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?done={what}", status_code=303)


@router.post("/admin/users", response_class=HTMLResponse)
def user_create_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    principal: Admin,
    fields: forms.FieldsDep,
) -> Response:
    role_code = fields.get("role", "")
    token_only = role_code in ROLES and ROLES[role_code].token_only
    with forms.undone_on_error(session) as undone:
        if role_code not in ROLES:
            raise InvalidInput("请选择角色")
        if not USERNAME.fullmatch(fields.get("username", "")):
            raise InvalidInput("用户名应为 3–64 个字母、数字或 _ . -")
        user = accounts.create_user(
            session,
            username=fields.get("username", ""),
            password=None if token_only else fields.get("password", ""),
            role_code=role_code,
            scope_kind=fields.get("scope_kind", ""),
            scope_code=fields.get("scope_code", ""),
            now=clock.now(),
            display_name=fields.get("display_name") or None,
        )
        audit.record(
            session,
            principal=principal,
            action="user_create",
            now=clock.now(),
            entity_type="user",
            entity_id=user.username,
            detail={"role": user.role, "scope": f"{user.scope_kind}:{user.scope_code}"},
        )
    if undone.error:
        return _users_page(
            request, session, error=undone.error.message, status_code=undone.error.status
        )
    return _done("created")


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
def user_reset_page(
    request: Request,
    username: str,
    session: SessionDep,
    clock: ClockDep,
    principal: Admin,
    fields: forms.FieldsDep,
) -> Response:
    with forms.undone_on_error(session) as undone:
        service.reset_password(
            session, username=username, new=fields.get("password", ""), now=clock.now()
        )
        audit.record(
            session,
            principal=principal,
            action="password_reset",
            now=clock.now(),
            entity_type="user",
            entity_id=username,
        )
    if undone.error:
        return _users_page(
            request, session, error=undone.error.message, status_code=undone.error.status
        )
    return _done("reset")


@router.post("/admin/users/{username}/disable", response_class=HTMLResponse)
def user_disable_page(
    request: Request, username: str, session: SessionDep, clock: ClockDep, principal: Admin
) -> Response:
    with forms.undone_on_error(session) as undone:
        service.disable_user(session, username=username)
        audit.record(
            session,
            principal=principal,
            action="user_disable",
            now=clock.now(),
            entity_type="user",
            entity_id=username,
        )
    if undone.error:
        return _users_page(
            request, session, error=undone.error.message, status_code=undone.error.status
        )
    return _done("disabled")


@router.post("/admin/tokens", response_class=HTMLResponse)
def token_create_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: Admin,
    fields: forms.FieldsDep,
) -> Response:
    days = fields.get("days", "") or "90"
    with forms.undone_on_error(session) as undone:
        if not fields.get("name"):
            raise InvalidInput("请填写令牌名称")
        if not days.isdigit():
            raise InvalidInput(f"有效天数“{days}”应为整数")
        raw, token = accounts.create_token(
            session,
            name=fields.get("name", ""),
            role_code=fields.get("role", ""),
            scope_kind=fields.get("scope_kind", ""),
            scope_code=fields.get("scope_code", ""),
            now=clock.now(),
            keys=service.Keys.from_settings(settings),
            created_by=principal.name,
            days=int(days),
        )
        audit.record(
            session,
            principal=principal,
            action="token_create",
            now=clock.now(),
            entity_type="token",
            entity_id=token.prefix,
            detail={"role": token.role},
        )
    if undone.error:
        return _users_page(
            request, session, error=undone.error.message, status_code=undone.error.status
        )
    # The secret is shown this once and never stored: no redirect, and nothing cached.
    response = _users_page(request, session, notice="令牌已创建。", new_token=raw)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/tokens/{prefix}/revoke", response_class=HTMLResponse)
def token_revoke_page(
    request: Request, prefix: str, session: SessionDep, clock: ClockDep, principal: Admin
) -> Response:
    with forms.undone_on_error(session) as undone:
        service.revoke_token(session, prefix=prefix, now=clock.now())
        audit.record(
            session,
            principal=principal,
            action="token_revoke",
            now=clock.now(),
            entity_type="token",
            entity_id=prefix,
        )
    if undone.error:
        return _users_page(
            request, session, error=undone.error.message, status_code=undone.error.status
        )
    return _done("revoked")
