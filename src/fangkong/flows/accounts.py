"""Users and API tokens bound to places that exist.

``auth`` sits below the registries, so it cannot look a binding up itself: a community
binding needs its street (a community's jurisdiction lies inside it), and a venue, site or
lab binding must name one the registry holds, or the account could never do its job (a
venue device bound to a venue that does not exist posts no scan).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.errors import InvalidInput, NotFound
from fangkong.people import lookups, venues
from fangkong.quarantine import sites
from fangkong.testing import labs

if TYPE_CHECKING:
    from fangkong.auth.models import ApiToken, User


def binding_street(session: Session, kind: str, code: str) -> str | None:
    """The street of a community binding (None for other kinds), once the bound community,
    venue or site is known to exist; ``InvalidInput`` naming the binding otherwise."""
    try:
        if kind == "community":
            if not code.isdigit():
                raise InvalidInput(f"a community is bound by its id, not {code!r}", scope_code=code)
            return lookups.community_street(session, community_id=int(code))
        if kind == "venue":
            venues.require_venue(session, venue_code=code)
        elif kind == "site":
            sites.require_site(session, code)
        elif kind == "lab":
            labs.require_lab(session, code)
    except NotFound as exc:
        raise InvalidInput(f"cannot bind to {kind} {code!r}: {exc}", scope_code=code) from None
    return None


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    role_code: str,
    scope_kind: str,
    scope_code: str,
    now: datetime,
    display_name: str | None = None,
) -> User:
    return auth.create_user(
        session,
        username=username,
        password=password,
        role_code=role_code,
        scope_kind=scope_kind,
        scope_code=scope_code,
        now=now,
        display_name=display_name,
        scope_street=binding_street(session, scope_kind, scope_code),
    )


def create_token(
    session: Session,
    *,
    name: str,
    role_code: str,
    scope_kind: str,
    scope_code: str,
    now: datetime,
    keys: auth.Keys,
    created_by: str,
    days: int = 90,
    permissions: set[str] | None = None,
) -> tuple[str, ApiToken]:
    return auth.create_token(
        session,
        name=name,
        role_code=role_code,
        scope_kind=scope_kind,
        scope_code=scope_code,
        now=now,
        keys=keys,
        created_by=created_by,
        days=days,
        permissions=permissions,
        scope_street=binding_street(session, scope_kind, scope_code),
    )
