"""The people and places registry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.errors import NotFound
from fangkong.people.models import Person


def get_person(session: Session, *, person_no: str) -> Person:
    person = session.scalar(select(Person).where(Person.person_no == person_no))
    if person is None:
        raise NotFound(f"no person {person_no!r} in the registry", person_no=person_no)
    return person


def person_no_of(session: Session, *, person_id: int) -> str | None:
    return session.scalar(select(Person.person_no).where(Person.id == person_id))
