"""Errors as pages: a page route never answers raw JSON.

The API (``/api/…``) and the probes answer JSON with a stable ``code``; every other path is
a page a person opened, so its 403, 404 or 500 is a page in Chinese that says why and where
to go, and a page's 401 is the sign-in form. A domain message is shown only when it is
written for people (in Chinese); the stable code stays on the page, small, for support."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import HTMLResponse

from fangkong.auth.homes import home
from fangkong.auth.permissions import PERMISSIONS
from fangkong.auth.principal import Principal
from fangkong.web.templating import templates

MACHINE_PREFIXES = ("/api/", "/healthz", "/readyz", "/static/")
_CJK = re.compile(r"[\u4e00-\u9fff]")

TITLES = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持该操作",
    409: "操作冲突",
    413: "文件过大",
    422: "输入有误",
    429: "操作过于频繁",
    500: "系统内部错误",
}

WHY = {
    403: "您的账号没有打开此页面的权限，或该记录不在您的管辖范围内。",
    404: "页面或记录不存在，或不在您的管辖范围内（为保护个人信息，不显示其是否存在）。",
    405: "该地址不支持这种操作，请从页面上的按钮或链接进入。",
    409: "该记录已被修改或状态不允许此操作，请刷新后重试。",
    413: "上传的文件超过了允许的大小，请拆分后再上传。",
    422: "提交的内容或地址中的参数无法识别，请检查后重试。",
    429: "请求过于频繁，请稍后再试。",
    500: "系统出现内部错误，已记录日志。请稍后重试，或联系系统管理员。",
}


def wants_page(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PREFIXES)


def permission_label(permission: str) -> str:
    """The Chinese half of a permission's description (``查看病例``)."""
    text = PERMISSIONS.get(permission, permission)
    found = re.match(r"[^A-Za-z]+", text)
    return found.group(0).strip() if found else text


def error_page(
    request: Request,
    status: int,
    code: str,
    message: str = "",
    details: dict[str, object] | None = None,
) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    why = WHY.get(status, "请求无法完成。")
    permission = (details or {}).get("permission")
    if status == 403 and principal is not None and isinstance(permission, str):
        why = f"您的角色（{principal.role_label}）没有“{permission_label(permission)}”权限。"
    elif code == "outside_jurisdiction":
        why = "该记录不在您的管辖范围内。"
    elif _CJK.search(message or "") and status != 500:
        why = message
    context = {
        "status": status,
        "title": TITLES.get(status, "请求无法完成"),
        "why": why,
        "code": code,
        "home": home(principal) if principal is not None else "/login",
        "signed_in": principal is not None,
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)
