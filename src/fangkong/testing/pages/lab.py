"""The lab's page (检测机构): upload a round's results as CSV, and see how fast results
came back (turnaround per lab, once the round's results are applied).

A lab is bound to itself, not to an area, so it sees no person and no round page; what it
does here is what its API token does (``POST /api/v1/testing/rounds/{code}/results/import``).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from fangkong.apiutil import audited
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import ClockDep, SessionDep
from fangkong.errors import InvalidInput
from fangkong.testing import results, service, views
from fangkong.testing.pages.common import LakeDep
from fangkong.web import forms
from fangkong.web.templating import templates

router = APIRouter(include_in_schema=False)
Lab = Annotated[Principal, Depends(Require("testing.results", page=True))]
COLUMNS = "tube_barcode, result, lab, resulted_at[, ct_orf1ab, ct_n]"


def _render(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    lake: Path,
    principal: Principal,
    *,
    report: results.ResultImportReport | None = None,
    error: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    chosen: str = "",
    status: int = 200,
) -> HTMLResponse:
    rows = views.lab_rounds(session, lake, principal.jurisdiction, now=clock.now())
    context = {
        "nav": "lab",
        "rounds": rows,
        "report": report,
        "error": error,
        "errors": errors or [],
        "chosen": chosen or (rows[0].code if rows else ""),
        "columns": COLUMNS,
    }
    return templates.TemplateResponse(request, "testing/lab.html", context, status_code=status)


@router.get("/lab", response_class=HTMLResponse)
def lab_page(
    request: Request, session: SessionDep, clock: ClockDep, lake: LakeDep, principal: Lab
) -> HTMLResponse:
    return _render(request, session, clock, lake, principal)


def _staged(file: UploadFile, lake: Path) -> tuple[Path, str]:
    """The upload in the lake's staging folder under its own name (a CSV file)."""
    name = PurePath(file.filename or "results.csv").name
    if PurePath(name).suffix.lower() != ".csv":
        raise InvalidInput(f"{name}：请上传 CSV 文件（.csv）")
    folder = lake / "_staging" / f"upload-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    target = folder / name
    with target.open("wb") as out:
        shutil.copyfileobj(file.file, out)
    return target, name


@router.post("/lab/results", response_class=HTMLResponse)
def lab_upload(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    lake: LakeDep,
    principal: Lab,
    round_code: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    report = None
    with forms.undone_on_error(session) as undone:
        round_ = service.round_for_lab(session, code=round_code, scope=principal.jurisdiction)
        path, name = _staged(file, lake)
        try:
            report = audited(
                lambda: results.import_results(lake, round_.code, path, source=f"file:{name}"),
                kind="testing_result",
                filename=name,
                session=session,
                now=clock.now(),
                principal=principal,
                counts=lambda r: {
                    "added": r.added,
                    "duplicates": r.duplicates,
                    "positive": r.positive,
                },
            )
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)
    if undone.error:
        exc = undone.error
        return _render(
            request,
            session,
            clock,
            lake,
            principal,
            error=exc.message,
            errors=list(exc.details.get("errors", []))[:20],
            chosen=round_code,
            status=exc.status,
        )
    return _render(request, session, clock, lake, principal, report=report, chosen=round_code)
