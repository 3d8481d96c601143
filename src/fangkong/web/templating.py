"""The Jinja2 environment shared by every domain's pages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from fangkong.auth.homes import home
from fangkong.clock import beijing_minute, chinese_day
from fangkong.people.masking import mask_id_number
from fangkong.people.vocab import VENUE_CATEGORIES
from fangkong.policy.labels import rule_label

TEMPLATES = Path(__file__).resolve().parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES))


def md(day: date | None) -> str:
    """``3月22日``: how bulletins and the HQ name a day."""
    return "" if day is None else chinese_day(day)


def ymd(day: date | None) -> str:
    return "" if day is None else chinese_day(day, with_year=True)


def signed(value: int | None) -> str:
    if value is None:
        return ""
    return f"+{value}" if value > 0 else ("±0" if value == 0 else str(value))


def rule(reference: object) -> Markup:
    """A rule reference as a short Chinese label, the reference on hover."""
    text = str(reference or "")
    if not text:
        return Markup("")
    return Markup('<abbr class="rule-ref" title="{}">{}</abbr>').format(text, rule_label(text))


def beijing(moment: datetime | None) -> str:
    """``2022-03-23 21:00`` in Beijing time (a stored time without zone is UTC)."""
    return beijing_minute(moment)


def venue_category(code: str | None) -> str:
    return VENUE_CATEGORIES.get(code or "", code or "")


templates.env.filters["rule"] = rule
templates.env.filters["beijing"] = beijing
templates.env.filters["venue_category"] = venue_category
templates.env.filters["mask_id"] = mask_id_number
templates.env.filters["md"] = md
templates.env.filters["ymd"] = ymd
templates.env.filters["signed"] = signed


def csrf_input(request: Request) -> Markup:
    """The hidden CSRF field every POST form of a signed-in page carries."""
    principal = getattr(request.state, "principal", None)
    token = getattr(principal, "csrf_token", None)
    if not token:
        return Markup("")
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(token)}">')


templates.env.globals["csrf_input"] = csrf_input


def csp_nonce(request: Request) -> str:
    """The request's Content-Security-Policy nonce, for a template's ``<style>`` element
    (``web/security_headers.py``)."""
    return str(getattr(request.state, "csp_nonce", ""))


templates.env.globals["csp_nonce"] = csp_nonce


def home_url(request: Request) -> str:
    """The signed-in user's own first page (``auth/homes.py``); "/" for anyone else."""
    principal = getattr(request.state, "principal", None)
    return home(principal) if principal is not None else "/"


templates.env.globals["home_url"] = home_url
