"""Which persons, venues and workplaces a jurisdiction reaches (through ``auth.scope``).

A person lies in the district, street and community of their address; a person without an
address belongs to no district, so only a city-wide jurisdiction sees them. Venues and
workplaces have no community: a community's user sees those of its street.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.auth.scope import Reach
from fangkong.people.models import Person, Venue, Workplace
from fangkong.regions import service as regions

PERSONS = Reach(
    district=Person.district_code,
    street=Person.street_code,
    community=Person.community_id,
    placeless_in_city=True,
)
VENUES = Reach(district=Venue.district_code, street=Venue.street_code)
WORKPLACES = Reach(district=Workplace.district_code, street=Workplace.street_code)


def person_scope(scope: Jurisdiction) -> ColumnElement[bool]:
    """The persons inside ``scope``, as SQL."""
    return PERSONS.condition(scope)


def venue_scope(scope: Jurisdiction) -> ColumnElement[bool]:
    return VENUES.condition(scope)


def workplace_scope(scope: Jurisdiction) -> ColumnElement[bool]:
    return WORKPLACES.condition(scope)


def person_visible(scope: Jurisdiction, person: Person) -> bool:
    return PERSONS.covers(
        scope,
        district_code=person.district_code,
        street_code=person.street_code,
        community_id=person.community_id,
    )


def venue_visible(scope: Jurisdiction, venue: Venue) -> bool:
    return VENUES.covers(scope, district_code=venue.district_code, street_code=venue.street_code)


def workplace_visible(scope: Jurisdiction, workplace: Workplace) -> bool:
    return WORKPLACES.covers(
        scope, district_code=workplace.district_code, street_code=workplace.street_code
    )


def outside(scope: Jurisdiction, *, district_code: str | None) -> OutsideJurisdiction:
    """The error for a place outside ``scope``; ``field`` names the address level at
    fault (the street when the scope holds part of that district), for import reports."""
    partly = {scope.district_code} | {
        regions.registry().streets[s].district_code for s in scope.street_codes or ()
    }
    field = "street" if district_code is not None and district_code in partly else "district"
    return OutsideJurisdiction(
        f"outside your jurisdiction ({scope.label()})",
        field=field,
        jurisdiction=scope.code,
    )


def check_place(
    scope: Jurisdiction,
    reach: Reach,
    *,
    district_code: str | None,
    street_code: str | None,
    community_id: int | None = None,
) -> None:
    """Raise ``OutsideJurisdiction`` when a record of ``reach`` would be written outside
    ``scope``."""
    if not reach.covers(
        scope, district_code=district_code, street_code=street_code, community_id=community_id
    ):
        raise outside(scope, district_code=district_code)


def check_person_place(scope: Jurisdiction, refs: dict[str, Any], current: Person | None) -> None:
    """A write of a person (new, or ``current`` changed by ``refs`` from ``person_refs``)
    must stay inside ``scope``. A person already outside it raises with ``field``
    ``person_no`` (an import row names them; the API answered 404 before this)."""
    if current is not None and not person_visible(scope, current):
        raise OutsideJurisdiction(
            f"person {current.person_no!r} is outside your jurisdiction ({scope.label()})",
            field="person_no",
        )
    if "district_code" in refs:
        community = refs["community"]
        # a community created by this very write cannot be the one a user is bound to
        place = (refs["district_code"], refs["street_code"], community.id if community else None)
    elif current is not None:
        place = (current.district_code, current.street_code, current.community_id)
    else:
        place = (None, None, None)
    check_place(scope, PERSONS, district_code=place[0], street_code=place[1], community_id=place[2])
