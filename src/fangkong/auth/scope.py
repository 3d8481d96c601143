"""Jurisdiction to SQL, written once.

Every record kind reaches the city's areas in its own way: a person through the district,
street and community of their address; a case through the same and its reporting unit; a
venue or a workplace through its district and street only; a quarantine order through the
home area copied onto it. A ``Reach`` names those columns once per kind, and ``condition``
turns any jurisdiction into the SQL that cuts a query to it. ``Reach.covers`` is its pure
Python twin, for one loaded record or a record about to be written; a property test holds
the two equal (``tests/auth/test_scope.py``).

The rules, for an area binding (a site, lab or venue binding covers no area):

- city: every record of the city's districts; records with no district at all belong to
  the whole city only where the kind says so (``placeless_in_city``: a person without an
  address, an order of such a person);
- district: its division, function zones inside it included;
- unit (a reporting unit): its own column where the kind stores it (cases), else its
  streets — for a district's own unit also the district's records without a street;
- street: its street;
- community: its community where the kind has one, else its street (a community worker
  sees the venues and workplaces of their street).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.regions import service as regions

CommunityCondition = Callable[[int], ColumnElement[bool]]


@dataclass(frozen=True)
class Reach:
    """How rows of one kind lie in the areas: the columns (or conditions) that hold them.

    ``community`` is a column; ``community_via`` a function from a community id to a
    condition, for kinds that reach their community another way (a case through its
    person). A kind with neither is seen by a community's user through its street.
    """

    district: Any
    street: Any = None
    community: Any = None
    community_via: CommunityCondition | None = None
    unit: Any = None
    city: Any = None
    placeless_in_city: bool = False

    # ------------------------------------------------------------ SQL

    def condition(self, scope: Jurisdiction) -> ColumnElement[bool]:
        """The rows inside ``scope``, as SQL."""
        inside = self._inside(scope)
        if self.placeless_in_city and scope.whole_city:
            return or_(inside, self.district.is_(None))
        return inside

    def _inside(self, scope: Jurisdiction) -> ColumnElement[bool]:
        if not scope.is_area or scope.city_code is None:
            return false()
        kind = scope.kind
        if kind == "city":
            return self._in_city(scope.city_code)
        if kind == "district":
            return self.district == scope.district_code  # type: ignore[no-any-return]
        streets = sorted(scope.street_codes or ())
        if kind == "unit" and scope.unit_code:
            if self.unit is not None:
                return self.unit == scope.unit_code  # type: ignore[no-any-return]
            if self.street is None:
                return false()
            unit = regions.unit(scope.unit_code)
            if unit.kind == "district":  # an address without a street reports under it
                return or_(
                    self.street.in_(streets),
                    and_(self.street.is_(None), self.district == unit.district_code),
                )
            return self.street.in_(streets)  # type: ignore[no-any-return]
        if kind == "community" and scope.community_id is not None:
            if self.community_via is not None:  # its person's community, in the city
                return and_(self._in_city(scope.city_code), self.community_via(scope.community_id))
            if self.community is not None:
                return and_(self._in_city(scope.city_code), self.community == scope.community_id)
        if kind in ("street", "community") and self.street is not None:
            return self.street.in_(streets)  # type: ignore[no-any-return]
        return false()

    def _in_city(self, city_code: str) -> ColumnElement[bool]:
        if self.city is not None:
            return self.city == city_code  # type: ignore[no-any-return]
        return self.district.in_([d.code for d in regions.districts(city_code)])  # type: ignore[no-any-return]

    # ------------------------------------------------------------ the Python twin

    def covers(
        self,
        scope: Jurisdiction,
        *,
        district_code: str | None,
        street_code: str | None = None,
        community_id: int | None = None,
        unit_code: str | None = None,
    ) -> bool:
        """Whether a record at this place is inside ``scope``: ``condition`` for one row."""
        if not scope.is_area or scope.city_code is None:
            return False
        if district_code is None:
            return self.placeless_in_city and scope.whole_city
        district = regions.registry().districts.get(district_code)
        if district is None or district.city_code != scope.city_code:
            return False
        if scope.kind == "unit" and self.unit is not None:
            return unit_code == scope.unit_code
        has_community = self.community is not None or self.community_via is not None
        if self.street is None and (
            scope.kind in ("unit", "street") or (scope.kind == "community" and not has_community)
        ):
            return False  # the kind has no street to place it by
        if scope.kind == "community" and not has_community:
            return street_code is not None and street_code in (scope.street_codes or ())
        return scope.covers(
            city_code=district.city_code,
            district_code=district_code,
            street_code=street_code,
            unit_code=unit_code if self.unit is not None else None,
            community_id=community_id,
        )
