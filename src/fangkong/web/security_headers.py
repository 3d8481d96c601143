"""Security headers on every response.

* ``Content-Security-Policy``: scripts and style sheets only from fangkong itself (the
  vendored ECharts and htmx, the page scripts under ``/static/js/``); a ``<style>`` element
  of a template runs only with the request's nonce (``csp_nonce(request)`` in templates);
  no inline script, no inline event handler, no ``style`` attribute, no ``eval``; no plugin,
  no ``<base>``; forms post only here; no page may be framed (``frame-ancestors 'none'``,
  and ``X-Frame-Options: DENY`` for older browsers).
* ``X-Content-Type-Options: nosniff``: an uploaded or exported file is never run as script.
* ``Referrer-Policy: no-referrer``: addresses carry case numbers, person ids and the
  self-report tokens of ``/m/``; none of them leaves in a ``Referer`` header.
* ``Cache-Control: no-store`` on everything but ``/static/``: pages and API answers carry
  personal data, which must not stay in a browser's or a proxy's cache.
* ``Strict-Transport-Security`` when the session cookie is HTTPS-only
  (``FANGKONG_COOKIE_SECURE``, i.e. fangkong is served over HTTPS).

A header a route has set itself is kept (``/m/`` sets its own ``Cache-Control``).
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = "/static/"
HSTS = "max-age=31536000"


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            # ECharts draws on canvas; its "save as image" and the favicon use data: URLs.
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


FIXED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def for_server_errors() -> dict[str, str]:
    """The headers of a 500 answer: Starlette sends it from outside every middleware."""
    return {
        **FIXED,
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        "cache-control": "no-store",
    }


class SecurityHeaders:
    """ASGI middleware: a fresh CSP nonce per request (``request.state.csp_nonce``), the
    headers above on its response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        static = str(scope.get("path", "")).startswith(STATIC)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", content_security_policy(nonce))
                for name, value in FIXED.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("cache-control", "no-store")
                if self.hsts:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
