"""Rate limits on signing in and on file imports, per caller and per client address.

* Signing in (``POST /login``, ``POST /api/v1/auth/login``): per client address
  (``FANGKONG_RATE_LIMIT_SIGN_IN_IP``) against password spraying over many accounts, and
  per account name (``FANGKONG_RATE_LIMIT_SIGN_IN_ACCOUNT``) against guessing one account
  from many addresses; the lock-out after wrong passwords (``auth/service.py``) stays.
* File imports, i.e. every multipart upload (an importer's file is the only thing fangkong
  takes as one): per API token or browser session (``FANGKONG_RATE_LIMIT_IMPORT_CALLER``)
  and per client address (``FANGKONG_RATE_LIMIT_IMPORT_IP``). Counted before the file is
  read or the caller looked up, so a flood costs neither the database nor the disk.

A refused request gets 429 with ``{"code": "rate_limited"}`` and ``Retry-After`` (seconds).
Limits are moving windows (``limits``): exact, without the burst a fixed window allows at
its edge. Counters live in the process (``memory://``), or in Redis
(``FANGKONG_RATE_LIMIT_STORAGE=redis://127.0.0.1:6379/0``) so that several workers share
them. When Redis cannot be reached the request is let through and a warning logged: the
account lock-out still holds, and a limiter must not lock everyone out of a command
platform. Credentials never become keys: a token or session is counted under a hash of it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from fangkong.config import Settings
from fangkong.errors import FangkongError

log = logging.getLogger("fangkong")
KEY_PREFIX = "fangkong-rate"
SESSION_COOKIE = "fk_session"  # auth.deps.COOKIE (not imported: the middleware runs first)


class RateLimited(FangkongError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, **details: object) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Hit:
    """One attempt to count: the limit, what is limited (``sign_in_ip`` …) and whose."""

    limit: RateLimitItem
    scope: str
    key: str


class Limiter:
    """The app's limits and their counters (``app.state.limiter``)."""

    def __init__(self, settings: Settings) -> None:
        self.storage_uri = settings.rate_limit_storage
        self.storage: Storage = storage_from_string(  # type: ignore[assignment]
            settings.rate_limit_storage, key_prefix=KEY_PREFIX, wrap_exceptions=True
        )
        self._window = MovingWindowRateLimiter(self.storage)
        self.sign_in_ip = parse(settings.rate_limit_sign_in_ip)
        self.sign_in_account = parse(settings.rate_limit_sign_in_account)
        self.import_caller = parse(settings.rate_limit_import_caller)
        self.import_ip = parse(settings.rate_limit_import_ip)

    @property
    def shared(self) -> bool:
        """Whether the counters live outside the process (and can be unreachable)."""
        return not self.storage_uri.startswith("memory://")

    def reachable(self) -> bool:
        try:
            return bool(self.storage.check())
        except Exception:
            return False

    def count(self, hits: list[Hit]) -> None:
        """Count one attempt against each limit, or, when one of them is spent, against
        none (a refused request uses up nothing) and raise ``RateLimited``."""
        try:
            waits = [self._wait(hit) for hit in hits if not self._window.test(*_args(hit))]
            if not waits:
                waits = [self._wait(hit) for hit in hits if not self._window.hit(*_args(hit))]
        except StorageError:
            log.warning("rate-limit storage unreachable; request let through", exc_info=True)
            return
        if waits:
            raise RateLimited(
                "too many requests; try again later (请求过于频繁，请稍后再试)",
                retry_after=max(waits),
            )

    def _wait(self, hit: Hit) -> int:
        """Seconds until ``hit`` would be allowed again."""
        stats = self._window.get_window_stats(*_args(hit))
        return max(1, math.ceil(stats.reset_time - time.time()))


def _args(hit: Hit) -> tuple[RateLimitItem, str, str]:
    return hit.limit, hit.scope, hit.key


def limiter_of(request: Request) -> Limiter:
    limiter: Limiter = request.app.state.limiter
    return limiter


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def check_sign_in(request: Request, username: str) -> None:
    """Count a sign-in attempt from this address for this account name."""
    limiter = limiter_of(request)
    limiter.count(
        [
            Hit(limiter.sign_in_ip, "sign_in_ip", client_address(request.scope)),
            Hit(limiter.sign_in_account, "sign_in_account", username.strip().casefold()),
        ]
    )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _caller(headers: dict[bytes, bytes]) -> str | None:
    """A hash of the request's credential: its bearer token, else its session cookie."""
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return "token:" + _digest(auth[7:].strip())
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return "session:" + _digest(value)
    return None


def too_many(exc: RateLimited) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status,
        content={"code": exc.code, "message": exc.message, "details": exc.details},
        headers={"Retry-After": str(exc.retry_after)},
    )


class ImportRateLimit:
    """ASGI middleware: counts every multipart upload (a file import) per caller and per
    client address before the application reads it."""

    def __init__(self, app: ASGIApp, *, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
                hits = [Hit(self.limiter.import_ip, "import_ip", client_address(scope))]
                caller = _caller(headers)
                if caller is not None:
                    hits.append(Hit(self.limiter.import_caller, "import_caller", caller))
                try:
                    await run_in_threadpool(self.limiter.count, hits)
                except RateLimited as exc:
                    await too_many(exc)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> Limiter:
    """The limiter on ``app.state``, its middleware and the 429 answer."""
    limiter = Limiter(settings)
    app.state.limiter = limiter
    app.add_middleware(ImportRateLimit, limiter=limiter)

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        return too_many(exc)

    return limiter
