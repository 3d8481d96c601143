"""The web application: API routers under /api/v1, pages under /, static files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from fangkong import __version__
from fangkong.auth import api as auth_api
from fangkong.auth import pages as auth_pages
from fangkong.auth.deps import SignInRequired
from fangkong.auth.principal import Unauthenticated
from fangkong.cases import api as cases_api
from fangkong.config import Settings, get_settings
from fangkong.deps import open_store
from fangkong.errors import FangkongError
from fangkong.lake import staging
from fangkong.lake.layout import lake_root
from fangkong.lake.writer import STALE_SECONDS
from fangkong.monitoring import api as monitoring_api
from fangkong.monitoring import pages as monitoring_pages
from fangkong.ops import health
from fangkong.people import api as people_api
from fangkong.people import pages as people_pages
from fangkong.quarantine import api as quarantine_api
from fangkong.quarantine import pages as quarantine_pages
from fangkong.regions import api as regions_api
from fangkong.scans import api as scans_api
from fangkong.testing import api as testing_api
from fangkong.testing import pages as testing_pages
from fangkong.tracing import api as tracing_api
from fangkong.tracing import pages as tracing_pages
from fangkong.web import api_docs, ratelimit, search
from fangkong.web import pages as web_pages
from fangkong.web.body_limit import BodyLimit
from fangkong.web.error_pages import error_page, wants_page
from fangkong.web.nul_guard import NulGuard
from fangkong.web.security_headers import SecurityHeaders, for_server_errors
from fangkong.zones import api as zones_api
from fangkong.zones import pages as zones_pages

STATIC = Path(__file__).resolve().parent / "web" / "static"
log = logging.getLogger("fangkong")

API_DESCRIPTION = """
fangkong (防控) API. Every error is JSON: `{"code": "...", "message": "...", "details": {}}`
with a stable `code` (`not_found`, `conflict`, `invalid_input`, `import_rejected`,
`validation_error`, `http_error`, `internal_error`). Districts are accepted as GB/T 2260
codes or names; days are local (Asia/Shanghai) calendar days, `YYYY-MM-DD`.
"""


def _error(status: int, code: str, message: str, details: object = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"code": code, "message": message, "details": details or {}}
    )


def _sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def install_error_handlers(app: FastAPI) -> None:
    """JSON with a stable code for the API and the probes; a page in Chinese (or the sign-in
    form) for a page route (``web/error_pages.py``)."""

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _: SignInRequired) -> RedirectResponse:
        return _sign_in_redirect(request)

    @app.exception_handler(FangkongError)
    async def domain_error(request: Request, exc: FangkongError) -> Response:
        if wants_page(request):
            if isinstance(exc, Unauthenticated) and request.method == "GET":
                return _sign_in_redirect(request)
            return error_page(request, exc.status, exc.code, exc.message, exc.details)
        return _error(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if wants_page(request):
            return error_page(request, 422, "validation_error")
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return _error(422, "validation_error", "the request is not valid", {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not_found" if exc.status_code == 404 else "http_error"
        if wants_page(request):
            return error_page(request, exc.status_code, code)
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        response: Response
        if wants_page(request):
            response = error_page(request, 500, "internal_error")
        else:
            response = _error(
                500, "internal_error", "an internal error occurred; it has been logged"
            )
        response.headers.update(for_server_errors())
        return response


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On start: remove the staging folders killed imports and uploads left (their process
    has ended), rather than an hour later by the next writer."""
    lake = lake_root(app.state.settings.home)
    removed = await anyio.to_thread.run_sync(
        lambda: staging.remove_abandoned(lake, older_than=STALE_SECONDS)
    )
    if removed:
        log.warning("removed %d staging folder(s) left by ended processes", len(removed))
    yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_secret()
    app = FastAPI(
        title="fangkong 防控",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url=api_docs.OPENAPI_URL,
        docs_url=None,  # web/api_docs.py serves the vendored Swagger UI
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = open_store(settings)
    install_error_handlers(app)
    app.add_middleware(NulGuard)
    app.add_middleware(
        BodyLimit,
        upload_max_mb=settings.upload_max_mb,
        lake_upload_max_mb=settings.lake_upload_max_mb,
    )
    ratelimit.install(app, settings)
    # Outermost, so that every answer (a refused upload's 429 too) carries the headers.
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)
    for router in (
        auth_api.router,
        cases_api.router,
        people_api.router,
        regions_api.router,
        tracing_api.router,
        scans_api.router,
        testing_api.router,
        quarantine_api.router,
        monitoring_api.router,
        search.api_router,
        zones_api.router,
    ):
        app.include_router(router, prefix="/api/v1")
    app.include_router(health.router)
    app.include_router(api_docs.router)
    app.include_router(auth_pages.router)
    app.include_router(web_pages.router)
    app.include_router(search.router)
    app.include_router(people_pages.router)
    app.include_router(tracing_pages.router)
    app.include_router(testing_pages.router)
    app.include_router(monitoring_pages.router)
    app.include_router(quarantine_pages.router)
    app.include_router(zones_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
