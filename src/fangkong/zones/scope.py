"""Which zones a jurisdiction sees: a zone carries its city and, where its extent lies
inside one, its district, street and community. A city-wide user sees every zone of the
city; a district officer those of the district; a community worker those of the street or
community."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.scope import Reach
from fangkong.zones.models import RiskZone

ZONES = Reach(
    district=RiskZone.district_code,
    street=RiskZone.street_code,
    community=RiskZone.community_id,
    city=RiskZone.city_code,
)


def zone_conditions(scope: Jurisdiction) -> ColumnElement[bool]:
    return ZONES.condition(scope)


def covers(scope: Jurisdiction, zone: RiskZone) -> bool:
    return ZONES.covers(
        scope,
        district_code=zone.district_code,
        street_code=zone.street_code,
        community_id=zone.community_id,
    )
