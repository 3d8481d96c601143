"""HTTP API: sign-in, own account, users, API tokens, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from fangkong.apiutil import MAX_OFFSET
from fangkong.auth import audit, service
from fangkong.auth.deps import COOKIE, Public, Require, SignedIn, client_ip, set_session_cookie
from fangkong.auth.principal import Principal
from fangkong.auth.schemas import (
    AuditPage,
    AuditRead,
    LoginIn,
    MeRead,
    PasswordChangeIn,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
)
from fangkong.deps import ClockDep, SessionDep, SettingsDep
from fangkong.errors import FangkongError, InvalidInput
from fangkong.flows import accounts
from fangkong.web.ratelimit import check_sign_in

router = APIRouter(tags=["auth"])
Admin = Annotated[Principal, Depends(Require("users.manage"))]
Auditor = Annotated[Principal, Depends(Require("audit.read"))]
Me = Annotated[Principal, Depends(SignedIn())]


def me_read(principal: Principal) -> MeRead:
    return MeRead(
        name=principal.name,
        kind=principal.kind,
        role=principal.role,
        role_label=principal.role_label,
        permissions=sorted(principal.permissions),
        jurisdiction=principal.jurisdiction.label(),
        jurisdiction_kind=principal.jurisdiction.kind,
        csrf_token=principal.csrf_token,
    )


@router.post(
    "/auth/login",
    response_model=MeRead,
    summary="Sign in; sets the session cookie and returns the CSRF token",
    dependencies=[Depends(Public("signing in needs no prior sign-in"))],
)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> MeRead:
    check_sign_in(request, body.username)
    now = clock.now()
    try:
        user = service.authenticate(
            session,
            username=body.username,
            password=body.password,
            now=now,
            settings=settings,
            ip=client_ip(request),
        )
    except FangkongError:
        # Keep the failed attempt (its audit entry, the lock-out count) although the
        # request fails.
        session.commit()
        raise
    raw, web = service.start_session(
        session,
        user=user,
        now=now,
        keys=service.Keys.from_settings(settings),
        hours=settings.session_hours,
        ip=client_ip(request),
    )
    set_session_cookie(response, raw, settings)
    principal = service.principal_for_user(session, user, csrf=web.csrf_token)
    return me_read(principal)


@router.post("/auth/logout", status_code=204, summary="Sign out")
def logout(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: Me,
) -> Response:
    raw = request.cookies.get(COOKIE)
    if raw:
        service.end_session(session, raw=raw, keys=service.Keys.from_settings(settings))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MeRead, summary="Who am I")
def me(principal: Me) -> MeRead:
    return me_read(principal)


@router.post("/auth/password", status_code=204, summary="Change own password")
def change_password(
    body: PasswordChangeIn,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    principal: Me,
) -> Response:
    if principal.kind != "user":
        raise InvalidInput("API tokens have no password")
    user = service.get_user(session, username=principal.name)
    service.change_password(
        session,
        user=user,
        old=body.old_password,
        new=body.new_password,
        now=clock.now(),
        keep_session=getattr(request.state, "web_session_id", None),
    )
    audit.record(
        session,
        principal=principal,
        action="password_change",
        now=clock.now(),
        entity_type="user",
        entity_id=user.username,
    )
    return Response(status_code=204)


@router.get("/users", response_model=list[UserRead], summary="Users")
def list_users(session: SessionDep, principal: Admin) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in service.list_users(session)]


@router.post("/users", response_model=UserRead, status_code=201, summary="Create a user")
def create_user(
    body: UserCreate, session: SessionDep, clock: ClockDep, principal: Admin
) -> UserRead:
    user = accounts.create_user(
        session,
        username=body.username,
        password=body.password,
        role_code=body.role,
        scope_kind=body.scope_kind,
        scope_code=body.scope_code,
        now=clock.now(),
        display_name=body.display_name,
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
    return UserRead.model_validate(user)


@router.post("/users/{username}/disable", response_model=UserRead, summary="Disable a user")
def disable_user(username: str, session: SessionDep, clock: ClockDep, principal: Admin) -> UserRead:
    user = service.disable_user(session, username=username)
    audit.record(
        session,
        principal=principal,
        action="user_disable",
        now=clock.now(),
        entity_type="user",
        entity_id=username,
    )
    return UserRead.model_validate(user)


@router.get("/tokens", response_model=list[TokenRead], summary="API tokens (no secrets)")
def list_tokens(session: SessionDep, principal: Admin) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in service.list_tokens(session)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Create a token")
def create_token(
    body: TokenCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: Admin,
) -> TokenCreated:
    raw, token = accounts.create_token(
        session,
        name=body.name,
        role_code=body.role,
        scope_kind=body.scope_kind,
        scope_code=body.scope_code,
        now=clock.now(),
        keys=service.Keys.from_settings(settings),
        created_by=principal.name,
        days=body.days,
        permissions=set(body.permissions) if body.permissions is not None else None,
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
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=raw)


@router.post("/tokens/{prefix}/revoke", response_model=TokenRead, summary="Revoke a token")
def revoke_token(prefix: str, session: SessionDep, clock: ClockDep, principal: Admin) -> TokenRead:
    token = service.revoke_token(session, prefix=prefix, now=clock.now())
    audit.record(
        session,
        principal=principal,
        action="token_revoke",
        now=clock.now(),
        entity_type="token",
        entity_id=prefix,
    )
    return TokenRead.model_validate(token)


def _audit_filter(
    actor: str | None,
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> audit.AuditFilter:
    return audit.AuditFilter(actor, action, entity_type, entity_id, since, until)


@router.get("/audit", response_model=AuditPage, summary="The audit log (read-only)")
def list_audit(
    session: SessionDep,
    principal: Auditor,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> AuditPage:
    flt = _audit_filter(actor, action, entity_type, entity_id, since, until)
    items, total = audit.list_events(session, flt=flt, limit=limit, offset=offset)
    return AuditPage(total=total, items=[AuditRead.model_validate(e) for e in items])


@router.get(
    "/audit.csv",
    summary="Export the audit log as CSV (the export is itself audited)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_audit(
    session: SessionDep,
    clock: ClockDep,
    principal: Auditor,
    reason: str = Query(..., min_length=2, max_length=500, description="Why it is exported."),
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    flt = _audit_filter(actor, action, None, None, since, until)
    content = audit.export_csv(session, flt=flt)
    audit.record(
        session,
        principal=principal,
        action="export",
        now=clock.now(),
        entity_type="audit_event",
        reason=reason,
        detail={"actor": actor, "action": action},
    )
    return Response(
        content.encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
