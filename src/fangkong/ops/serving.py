"""How fangkong runs uvicorn: no banner, and which proxies it believes."""

from __future__ import annotations

from typing import Any

from fangkong.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` besides the app, host and port.

    No ``server: uvicorn`` header (it names the software to whoever probes). Warnings only,
    no access log: self-report links carry their token in the path. ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed only from ``FANGKONG_FORWARDED_ALLOW_IPS``, so that
    the client address in the audit log and in the rate limits is the browser's, not the
    proxy's, and cannot be forged by a client talking to fangkong directly.
    """
    return {
        "log_level": "warning",
        "access_log": False,
        "server_header": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
