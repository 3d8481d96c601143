"""What the testing pages share: who may open them, the lake, the error page, and a round
looked up in the caller's area (outside it, a round reads as absent)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import SettingsDep
from fangkong.errors import FangkongError, NotFound
from fangkong.lake.layout import lake_root
from fangkong.testing import service
from fangkong.testing.models import TestingRound
from fangkong.web.templating import templates

Reader = Annotated[Principal, Depends(Require("testing.read", page=True))]
Planner = Annotated[Principal, Depends(Require("testing.plan", page=True))]
Exempter = Annotated[Principal, Depends(Require("testing.exempt", page=True))]
Sampler = Annotated[Principal, Depends(Require("testing.sample", page=True))]

LIST_STATES = {"missing": ("missing",), "recall": ("pool_positive",), "retest": ("retest",)}
LIST_HINTS = {
    "missing": "应检未检、也未登记免检的人员：请电话或入户通知其到采样点采样。",
    "recall": "所在混管检测阳性的人员：立即就地管控，单管单采复核；复采后点击“已复采”。",
    "retest": "样本无法检测（无效管）且之后未再采样的人员：请通知其重新采样。",
}
SHOWN_ROWS = 500  # a page lists this many; the rest is the Excel export
SHOWN_POINTS = 200
FORM_ERROR = "_form"
FIELD_LABELS = {
    "code": "轮次编号",
    "name": "名称",
    "kind": "检测类型",
    "areas": "检测区域",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "pool_mode": "混采方式",
    "pool_size": "混采规模",
    "three_stage": "三阶段复核",
}
FORM_FIELDS = ("code", "name", "kind", "starts_at", "ends_at", "pool_mode", "pool_size")
DONE_MESSAGES = {
    "created": "轮次已创建：应检人员名单已生成，采样点已按人口规划。",
    "closed": "已结束采样：此后上传的采样记录将被拒绝；检测结果仍可上传和应用。",
}

Errors = dict[str, list[str]]


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
