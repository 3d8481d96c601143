"""Where a user may look: the area (or site, lab, venue) a user is bound to.

Pure: turns a binding (kind + code) into the sets of divisions it covers, using the
region registry. Services turn it into SQL conditions; nothing is filtered in the UI alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from fangkong.errors import InvalidInput
from fangkong.regions import service as regions

AREA_KINDS = ("city", "district", "unit", "street", "community")
OTHER_KINDS = ("site", "lab", "venue")


@dataclass(frozen=True)
class Jurisdiction:
    """``kind`` is one of AREA_KINDS or OTHER_KINDS; ``code`` its identifier.

    For areas, ``city_code`` is always set, and the narrower the binding the more of
    ``district_code``, ``unit_code``, ``street_codes`` and ``community_id`` are set too.
    A site, lab or venue binding covers no area at all.
    """

    kind: str
    code: str
    city_code: str | None = None
    district_code: str | None = None
    unit_code: str | None = None
    street_codes: frozenset[str] | None = None
    community_id: int | None = None

    @property
    def is_area(self) -> bool:
        return self.kind in AREA_KINDS

    @property
    def whole_city(self) -> bool:
        return self.kind == "city"

    def covers(
        self,
        *,
        city_code: str | None,
        district_code: str | None,
        street_code: str | None = None,
        unit_code: str | None = None,
        community_id: int | None = None,
    ) -> bool:
        """Whether a record at this place is inside the jurisdiction."""
        if not self.is_area or city_code != self.city_code:
            return False
        if self.kind == "city":
            return True
        if self.kind == "district":
            return district_code == self.district_code
        if self.kind == "unit":
            if unit_code is not None:
                return unit_code == self.unit_code
            if district_code is None:
                return False
            return regions.unit_for(district_code, street_code).code == self.unit_code
        if self.kind == "street":
            return street_code is not None and street_code in (self.street_codes or ())
        return community_id is not None and community_id == self.community_id

    def label(self) -> str:
        if self.kind == "city":
            return regions.city(self.code).name
        if self.kind == "district":
            return regions.registry().districts[self.code].name
        if self.kind == "unit":
            return regions.unit(self.code).name
        if self.kind == "street":
            return regions.registry().streets[self.code].name
        return f"{self.kind}:{self.code}"


def unit_streets(unit: regions.ReportingUnit) -> frozenset[str]:
    """The streets reported under a unit: a function zone's own, or a district's minus
    the ones its function zones took over."""
    if unit.kind == "function_zone":
        return frozenset(unit.streets)
    taken = regions.registry().street_unit
    return frozenset(s.code for s in regions.streets(unit.code) if s.code not in taken)


def bind(kind: str, code: str, *, community_street: str | None = None) -> Jurisdiction:
    """A jurisdiction from a binding as stored on a user or token.

    A community binding needs the community's street (the caller looks it up), so that
    the city and district are known without a query here.
    """
    if kind == "city":
        return Jurisdiction(kind, code, city_code=regions.city(code).code)
    if kind == "district":
        d = regions.resolve_district(code)
        return Jurisdiction(kind, d.code, city_code=d.city_code, district_code=d.code)
    if kind == "unit":
        u = regions.resolve_unit(code)
        return Jurisdiction(
            kind,
            u.code,
            city_code=u.city_code,
            district_code=u.district_code,
            unit_code=u.code,
            street_codes=unit_streets(u),
        )
    if kind == "street":
        s = regions.resolve_street(code)
        d = regions.registry().districts[s.district_code]
        return Jurisdiction(
            kind,
            s.code,
            city_code=d.city_code,
            district_code=d.code,
            street_codes=frozenset({s.code}),
        )
    if kind == "community":
        if community_street is None:
            raise InvalidInput("a community binding needs the community's street")
        s = regions.registry().streets[community_street]
        d = regions.registry().districts[s.district_code]
        return Jurisdiction(
            kind,
            code,
            city_code=d.city_code,
            district_code=d.code,
            street_codes=frozenset({s.code}),
            community_id=int(code),
        )
    if kind in OTHER_KINDS:
        return Jurisdiction(kind, code)
    raise InvalidInput(f"unknown jurisdiction kind {kind!r}", kind=kind)
