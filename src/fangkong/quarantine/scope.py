"""Which sites, orders and tasks a jurisdiction sees.

Orders and monitoring tasks belong to the person's home area (the community follows them
up); a site's staff (a ``site`` binding) see the orders placed in their site and nothing
else. Sites themselves are places, not people: anyone in the city with ``quarantine.read``
sees the city's sites and their occupancy; a site binding sees its own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.principal import OutsideJurisdiction
from fangkong.people.service import area_condition, covers
from fangkong.quarantine.models import MonitoringTask, QuarantineOrder, QuarantineSite


def site_conditions(scope: Jurisdiction) -> ColumnElement[bool]:
    if scope.kind == "site":
        return QuarantineSite.code == scope.code
    if scope.is_area and scope.city_code:
        return QuarantineSite.city_code == scope.city_code
    return false()


def order_conditions(scope: Jurisdiction) -> ColumnElement[bool]:
    if scope.kind == "site":
        at_site = select(QuarantineSite.id).where(QuarantineSite.code == scope.code)
        return QuarantineOrder.site_id.in_(at_site.scalar_subquery())
    inside = area_condition(
        scope,
        QuarantineOrder.district_code,
        QuarantineOrder.street_code,
        QuarantineOrder.community_id,
    )
    if scope.whole_city:  # a person without an address belongs to no district
        return or_(inside, QuarantineOrder.district_code.is_(None))
    return inside


def task_conditions(scope: Jurisdiction) -> ColumnElement[bool]:
    inside = area_condition(
        scope, MonitoringTask.district_code, MonitoringTask.street_code, MonitoringTask.community_id
    )
    if scope.whole_city:
        return or_(inside, MonitoringTask.district_code.is_(None))
    return inside


def order_visible(scope: Jurisdiction, order: QuarantineOrder) -> bool:
    """The Python twin of ``order_conditions`` for one loaded order."""
    if scope.kind == "site":
        return order.site is not None and order.site.code == scope.code
    return covers(
        scope,
        district_code=order.district_code,
        street_code=order.street_code,
        community_id=order.community_id,
    )


def check_site(scope: Jurisdiction, site: QuarantineSite) -> None:
    if scope.kind == "site" and site.code != scope.code:
        raise OutsideJurisdiction(f"site {site.code} is not yours", site=site.code)
    if scope.kind != "site" and (not scope.is_area or site.city_code != scope.city_code):
        raise OutsideJurisdiction(f"site {site.code} is outside your city", site=site.code)
