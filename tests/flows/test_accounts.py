"""Accounts are bound to places that exist: an area of the divisions, a community, a venue
or a site of the registry, a registered lab; anything else is refused, naming the binding."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.config import Settings
from fangkong.errors import Conflict, InvalidInput
from fangkong.flows import accounts
from fangkong.people import venues
from fangkong.people.schemas import VenueCreate
from fangkong.testing import labs
from tests.conftest import NOW, SECRET

KEYS = auth.Keys.from_settings(Settings(secret_key=SECRET))


def token(session: Session, role: str, kind: str, code: str) -> None:
    accounts.create_token(
        session,
        name=f"{kind}-{code}",
        role_code=role,
        scope_kind=kind,
        scope_code=code,
        now=NOW,
        keys=KEYS,
        created_by="tests",
    )


@pytest.mark.parametrize(
    ("role", "kind", "code"),
    [
        ("venue_device", "venue", "V01"),  # the old demo binding: no such venue
        ("site_staff", "site", "S99"),
        ("lab", "lab", "L99"),
        ("community_worker", "community", "999999"),
        ("community_worker", "street", "370306999"),
        ("district_officer", "district", "370399"),
    ],
)
def test_a_binding_to_nothing_is_refused(session: Session, role: str, kind: str, code: str) -> None:
    with pytest.raises(InvalidInput):
        token(session, role, kind, code)


def test_a_binding_to_a_venue_of_the_registry(session: Session) -> None:
    venues.create_venue(
        session,
        data=VenueCreate(venue_code="V01", name="周村汽车站", category="超市", district="周村区"),
        scope=bind("city", "3703"),
    )
    token(session, "venue_device", "venue", "V01")


def test_a_binding_to_a_registered_lab(session: Session) -> None:
    labs.register_lab(session, city_code="3703", code="L01", name="市疾控检测实验室", now=NOW)
    token(session, "lab", "lab", "L01")
    with pytest.raises(InvalidInput, match="L02"):
        token(session, "lab", "lab", "L02")


def test_a_lab_code_is_registered_once(session: Session) -> None:
    labs.register_lab(session, city_code="3703", code="L01", name="市疾控检测实验室", now=NOW)
    with pytest.raises(Conflict):
        labs.register_lab(session, city_code="3703", code="L01", name="另一个", now=NOW)
    with pytest.raises(InvalidInput):
        labs.register_lab(session, city_code="3703", code="L 1", name="空格", now=NOW)
