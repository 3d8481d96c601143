"""What page handlers share: the submitted form and its fields, a day from a query string,
a pager for long lists, and showing an error on the page the person came from.

A page handler owns the request's unit of work (``SessionDep`` commits when it returns), so
when a domain error stops a form, the work done so far is rolled back before the page is
shown again with the message (``undone_on_error``, or ``attempt`` for a handler whose work is
one call): a half-applied form never reaches the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from fangkong.apiutil import AHEAD, EARLIEST
from fangkong.errors import FangkongError, InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Days a page may show: as the API (``apiutil.EARLIEST``, ``AHEAD``); anything else is a
# typo, answered with a message.
PAGE = 50


async def read_form(request: Request) -> FormData:
    """The submitted form, read here so that the handlers can stay synchronous."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


async def read_fields(request: Request) -> dict[str, str]:
    """The submitted form's text fields, trimmed (a repeated field keeps its last value)."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


FieldsDep = Annotated[dict[str, str], Depends(read_fields)]


def text(form: FormData, name: str) -> str:
    """A field's text, trimmed; empty when absent or not text."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    """Every non-empty value of a repeated field (checkboxes)."""
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def number(form: FormData, name: str, *, label: str, example: str) -> float:
    """A decimal field (a full-width comma or point is accepted); a Chinese error naming
    the field otherwise."""
    raw = text(form, name).replace("，", ".").replace(",", ".").replace("。", ".")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"请填写{label}，如 {example}", field=name) from None
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        raise InvalidInput(f"{label}“{raw}”不是有效的数值", field=name)
    return value


def day(value: str | None, *, today: date) -> date | None:
    """``YYYY-MM-DD`` between ``EARLIEST`` and ``today + AHEAD``; None when empty. A day
    that cannot be read or lies outside raises ``InvalidInput`` in Chinese."""
    if value is None or not value.strip():
        return None
    try:
        found = date.fromisoformat(value.strip())
    except ValueError:
        found = None
    if found is None or not EARLIEST <= found <= today + AHEAD:
        raise InvalidInput(
            f"日期“{value.strip()}”无法识别或超出范围：请使用 YYYY-MM-DD 格式，"
            f"{EARLIEST} 至 {today + AHEAD} 之间。",
            field="day",
        )
    return found


def day_or(value: str | None, *, default: date, today: date) -> tuple[date, str]:
    """The day asked for, or ``default`` with the reason it was not taken (shown on the
    page instead of an error page: the person still gets a day to work on)."""
    try:
        return day(value, today=today) or default, ""
    except InvalidInput as exc:
        return default, f"{exc.message}已显示{default.month}月{default.day}日。"


def offset(value: str | int | None) -> int:
    """A list offset from a query string: a non-negative integer, else 0."""
    text_value = str(value or "").strip()
    return int(text_value) if text_value.isdigit() and len(text_value) < 10 else 0


@dataclass(frozen=True)
class Pager:
    """Where a page of a long list is, with links to the pages before and after."""

    total: int
    first: int
    last: int
    prev_url: str | None
    next_url: str | None


def pager(path: str, params: Mapping[str, str], at: int, total: int, size: int = PAGE) -> Pager:
    """The pager of a list at ``path`` showing ``size`` rows from ``at`` of ``total``,
    keeping the filters in ``params``."""
    kept = {k: v for k, v in params.items() if v}

    def url(to: int) -> str:
        return f"{path}?{urlencode({**kept, 'offset': to})}"

    return Pager(
        total=total,
        first=at + 1 if total else 0,
        last=min(at + size, total),
        prev_url=url(max(at - size, 0)) if at > 0 else None,
        next_url=url(at + size) if at + size < total else None,
    )


@dataclass
class Undone:
    """What stopped a form's work (``error``), once ``undone_on_error`` has rolled it back."""

    error: FangkongError | None = None


@contextmanager
def undone_on_error(session: Session, *catch: type[FangkongError]) -> Iterator[Undone]:
    """Run a form's writes; when a domain error (of the kinds in ``catch``, any by default)
    stops them, roll the request's work back and keep the error for the page to show::

        with forms.undone_on_error(session) as undone:
            service.do(session, ...)
        if undone.error:
            return render(..., error=undone.error.message, status=undone.error.status)
    """
    undone = Undone()
    kinds: tuple[type[FangkongError], ...] = catch or (FangkongError,)
    try:
        yield undone
    except kinds as exc:
        session.rollback()
        undone.error = exc


def attempt(
    session: Session,
    action: Callable[[], Response],
    *,
    shown: Callable[[str, int], Response],
    prefix: str = "",
) -> Response:
    """Run a form's ``action``; when a domain error stops it, roll the request's work back
    and show the page again (``shown(message, status)``) with the error's message."""
    with undone_on_error(session) as undone:
        return action()
    assert undone.error is not None  # the block returns unless an error was caught
    return shown(f"{prefix}{undone.error.message}", undone.error.status)
