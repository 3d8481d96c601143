"""Authentication and authorisation as FastAPI dependencies.

Every route declares what it needs: ``Depends(Require("cases.read"))`` for a permission,
``Depends(Public("why"))`` for the few open ones (sign-in, reference data). A test walks
every route and fails when one declares neither, or answers without the permission.

A caller is a browser with a session cookie (unsafe methods also need the session's
CSRF token, in the ``X-CSRF-Token`` header or a ``csrf_token`` form field) or a machine
with ``Authorization: Bearer fk_…``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Response

from fangkong.auth import service
from fangkong.auth.principal import Forbidden, Principal, Unauthenticated
from fangkong.clock import Clock
from fangkong.config import Settings
from fangkong.deps import SessionDep, get_clock
from fangkong.errors import FangkongError

COOKIE = "fk_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def set_session_cookie(response: Response, raw: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        raw,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )


class SignInRequired(FangkongError):
    """Raised by page dependencies: the handler in main.py redirects to /login."""

    code = "sign_in_required"
    status = 401


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def sent_csrf(request: Request) -> str | None:
    """The CSRF token an unsafe browser request sent, in its header or form.

    The one part of finding the caller that awaits (reading the body), so it is a
    dependency of its own, on the event loop; ``current_principal`` itself is plain
    ``def`` and runs in the thread pool, where its database calls may block.
    """
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return None
    if not request.cookies.get(COOKIE):
        return None
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    return sent


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def current_principal(
    request: Request,
    session: SessionDep,
    clock: Annotated[Clock, Depends(get_clock)],
    csrf: Annotated[str | None, Depends(sent_csrf)],
) -> Principal | None:
    """The caller, or None for an anonymous request. Cached per request by FastAPI."""
    keys = service.Keys.from_settings(_settings(request))
    now = clock.now()
    ip = client_ip(request)
    bearer = _bearer(request)
    if bearer is not None:
        token = service.resolve_token(session, raw=bearer, now=now, keys=keys)
        if token is None:
            raise Unauthenticated("the API token is unknown, expired or revoked")
        principal = service.principal_for_token(session, token, ip=ip)
        request.state.principal = principal
        return principal
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    found = service.resolve_session(session, raw=raw, now=now, keys=keys)
    if found is None:
        return None
    user, web = found
    if request.method not in SAFE_METHODS and not (
        csrf is not None and hmac.compare_digest(csrf.encode(), web.csrf_token.encode())
    ):
        raise Forbidden("missing or wrong CSRF token", reason="csrf")
    request.state.web_session_id = web.id
    principal = service.principal_for_user(session, user, ip=ip, csrf=web.csrf_token)
    # Pages read it (the user menu, the CSRF token of their forms).
    request.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(current_principal)]


class Require:
    """Dependency: the caller must hold ``permission``; returns the Principal."""

    def __init__(self, permission: str, *, page: bool = False) -> None:
        from fangkong.auth.permissions import PERMISSIONS

        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission
        self.page = page

    def __call__(self, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            if self.page:
                raise SignInRequired("请先登录 (sign in first)")
            raise Unauthenticated("sign in or send an API token")
        principal.require(self.permission)
        return principal

    def __repr__(self) -> str:
        return f"Require({self.permission!r})"


class Public:
    """Dependency marking a route as open to anyone, with the reason why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self) -> None:
        return None


class SignedIn:
    """Dependency: any signed-in user or token (own account pages); returns the Principal."""

    def __init__(self, *, page: bool = False) -> None:
        self.page = page

    def __call__(self, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            if self.page:
                raise SignInRequired("请先登录 (sign in first)")
            raise Unauthenticated("sign in or send an API token")
        return principal
