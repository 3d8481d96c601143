"""A registry of three venues and four persons for the scan tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.people import service, venues
from fangkong.people.schemas import PersonCreate, VenueCreate
from fangkong.storage.db import session_factory
from tests.conftest import NOW, _wipe

CITY = bind("city", "3703")
VENUES = [
    ("V01", "supermarket", "周村区"),
    ("V02", "restaurant", "张店区"),
    ("V03", "gym", "周村区"),
]
PERSONS = ["P1", "P2", "P3", "P4"]


def fill_registry(session: Session) -> None:
    for code, category, district in VENUES:
        venues.create_venue(
            session,
            data=VenueCreate(
                venue_code=code, name=f"场所{code}", category=category, district=district
            ),
            scope=CITY,
        )
    for no in PERSONS:
        service.create_person(
            session, data=PersonCreate(person_no=no, name="张三"), scope=CITY, now=NOW
        )
    session.flush()


@pytest.fixture
def registry(session: Session) -> Session:
    fill_registry(session)
    return session


@pytest.fixture
def committed_registry(engine: Engine) -> Iterator[None]:
    """The registry committed, for the API and the CLI; wiped afterwards."""
    with session_factory(engine)() as s, s.begin():
        fill_registry(s)
    yield
    _wipe(engine)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"
