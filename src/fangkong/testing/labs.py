"""The city's testing labs (检测机构): registered by an operator, named by the accounts
bound to them. A lab account posts results to any round of its city, so the binding must
name a lab that exists (a typo would leave the lab unable to work, or posting as nobody)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.errors import Conflict, InvalidInput, NotFound
from fangkong.testing.models import Lab

LAB_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def register_lab(session: Session, *, city_code: str, code: str, name: str, now: datetime) -> Lab:
    """A new lab of the city; ``Conflict`` when the code is taken."""
    if not LAB_CODE.match(code):
        raise InvalidInput(
            "a lab code has 1 to 32 letters, digits, dots, dashes or underscores", code=code
        )
    if not name.strip() or len(name) > 128:
        raise InvalidInput("a lab needs a name of at most 128 characters", code=code)
    if find_lab(session, code) is not None:
        raise Conflict(f"lab {code} already exists", code=code)
    lab = Lab(city_code=city_code, code=code, name=name.strip(), registered_at=now)
    session.add(lab)
    session.flush()
    return lab


def find_lab(session: Session, code: str) -> Lab | None:
    return session.scalars(select(Lab).where(Lab.code == code)).first()


def require_lab(session: Session, code: str) -> Lab:
    lab = find_lab(session, code)
    if lab is None:
        raise NotFound(f"no lab {code}", code=code)
    return lab


def list_labs(session: Session, *, city_code: str | None = None) -> list[Lab]:
    query = select(Lab).order_by(Lab.city_code, Lab.code)
    if city_code is not None:
        query = query.where(Lab.city_code == city_code)
    return list(session.scalars(query))
