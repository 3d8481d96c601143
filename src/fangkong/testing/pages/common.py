"""What the testing pages share: who may open them, the lake, the error page, and a round
looked up in the caller's area (outside it, a round reads as absent)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import SettingsDep
from fangkong.errors import FangkongError, NotFound
from fangkong.lake.layout import lake_root
from fangkong.testing import service
from fangkong.testing.models import TestingRound
from fangkong.web.templating import templates

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Reader = Annotated[Principal, Depends(Require("testing.read", page=True))]
Planner = Annotated[Principal, Depends(Require("testing.plan", page=True))]
Exempter = Annotated[Principal, Depends(Require("testing.exempt", page=True))]
Sampler = Annotated[Principal, Depends(Require("testing.sample", page=True))]


def lake_dir(settings: SettingsDep) -> Path:
    return lake_root(settings.home)


LakeDep = Annotated[Path, Depends(lake_dir)]


def error_page(
    request: Request,
    message: str,
    back: tuple[str, str] = ("/testing", "返回核酸检测轮次"),
    status: int = 404,
) -> HTMLResponse:
    context = {"nav": "testing", "message": message, "back": back}
    return templates.TemplateResponse(request, "testing/error.html", context, status_code=status)


def failed_page(request: Request, exc: FangkongError, back: tuple[str, str]) -> HTMLResponse:
    """A domain error met while reading a page, said as a page rather than as JSON."""
    if isinstance(exc, NotFound) and "outcome" in exc.message:
        message = "本轮次检测结果的文件不存在或不完整，请重新“应用检测结果”。"
    else:
        message = f"无法显示此页：{exc.message}"
    return error_page(request, message, back, status=exc.status)


def no_round_page(request: Request, code: str) -> HTMLResponse:
    return error_page(request, f"未找到核酸检测轮次 {code}。")


def round_in_scope(session: Session, code: str, principal: Principal) -> TestingRound | None:
    try:
        return service.get_round(session, code=code, scope=principal.jurisdiction)
    except NotFound:
        return None


def outcome_counts(round_: TestingRound) -> dict[str, int] | None:
    found = service.outcome_of(round_)
    return found["counts"] if found else None
