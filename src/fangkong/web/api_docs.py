"""``/api/v1/docs``: the interactive API reference, from the vendored Swagger UI.

FastAPI's own page loads Swagger UI from a public CDN and starts it with an inline script:
neither works without Internet access, and both would need the Content-Security-Policy to
trust a third party with scripts that run signed in. This page loads the same UI from
``/static/vendor/`` and starts it from ``/static/js/api_docs.js``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from fangkong.auth.deps import Public
from fangkong.web.templating import templates

DOCS_URL = "/api/v1/docs"
OPENAPI_URL = "/api/v1/openapi.json"

router = APIRouter(include_in_schema=False)


@router.get(
    DOCS_URL,
    response_class=HTMLResponse,
    dependencies=[Depends(Public("the API reference, as the OpenAPI document"))],
)
def api_docs(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "api_docs.html", {"openapi_url": OPENAPI_URL})
