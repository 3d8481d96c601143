"""The CSRF token of the sign-in form, before there is a session (signed double submit).

Without it another site could post its own account's name and password to ``/login`` and
sign a victim's browser into that account (login CSRF): whatever the victim then enters
would land in the attacker's account. ``GET /login`` sets a cookie holding a random value
and its HMAC under the secret key, and puts the same token in the form; ``POST /login``
accepts the form only when the field equals the cookie and the HMAC is ours. Another site
can neither read the cookie nor, without the key, mint one that would verify.

The cookie is HttpOnly, SameSite=Strict, limited to ``/login`` and Secure like the session
cookie; signing in removes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from fangkong.config import Settings

COOKIE = "fk_login_csrf"
FIELD = "csrf_token"
LIFETIME_SECONDS = 2 * 3600
_PURPOSE = b"fangkong login csrf:"


def _mac(key: str, nonce: str) -> str:
    return hmac.new(key.encode(), _PURPOSE + nonce.encode(), hashlib.sha256).hexdigest()


def _keys(settings: Settings) -> list[str]:
    return [settings.secret_key, *settings.previous_secret_keys]


def valid(token: str | None, settings: Settings) -> bool:
    """Whether ``token`` was minted under the current or a previous secret key."""
    if not token or token.count(".") != 1:
        return False
    nonce, mac = token.split(".")
    return any(hmac.compare_digest(mac, _mac(key, nonce)) for key in _keys(settings))


def token_for(request: Request, settings: Settings) -> str:
    """The browser's token if it still verifies (several open tabs share one), else a new
    one; ``set_cookie`` must then put it on the response."""
    current = request.cookies.get(COOKIE)
    if current and valid(current, settings):
        return current
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_mac(settings.secret_key, nonce)}"


def set_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=LIFETIME_SECONDS,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/login",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/login")


def check(request: Request, sent: str | None, settings: Settings) -> bool:
    """Whether the posted form's token matches the browser's cookie and is ours."""
    cookie = request.cookies.get(COOKIE)
    if not sent or not cookie or not hmac.compare_digest(sent, cookie):
        return False
    return valid(cookie, settings)
