"""Which sites and orders a jurisdiction sees.

Orders belong to the person's home area (the community follows them up), copied onto the
order when it is made; a person without an address belongs to no district, so only the
whole city sees their order. A site's staff (a ``site`` binding) see the orders placed in
their site and nothing else. Sites themselves are places, not people: anyone in the city
with ``quarantine.read`` sees the city's sites and their occupancy; a site binding sees its
own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, select

from fangkong.auth.jurisdiction import Jurisdiction
from fangkong.auth.scope import Reach
from fangkong.errors import NotFound
from fangkong.quarantine.models import QuarantineOrder, QuarantineSite, TransferTask

ORDERS = Reach(
    district=QuarantineOrder.district_code,
    street=QuarantineOrder.street_code,
    community=QuarantineOrder.community_id,
    placeless_in_city=True,
)


# A transfer picks a household up at home: it belongs to the household's area.
TRANSFERS = Reach(
    district=TransferTask.district_code,
    street=TransferTask.street_code,
    community=TransferTask.community_id,
)


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
    return ORDERS.condition(scope)


def visible_order_ids(scope: Jurisdiction) -> Select[Any]:
    """The ids of the orders ``scope`` sees, as a subquery other domains filter by (home
    monitoring's reports and tasks belong to an order)."""
    return select(QuarantineOrder.id).where(order_conditions(scope))


def order_visible(scope: Jurisdiction, order: QuarantineOrder) -> bool:
    """The Python twin of ``order_conditions`` for one loaded order."""
    if scope.kind == "site":
        return order.site is not None and order.site.code == scope.code
    return ORDERS.covers(
        scope,
        district_code=order.district_code,
        street_code=order.street_code,
        community_id=order.community_id,
    )


def site_visible(scope: Jurisdiction, site: QuarantineSite) -> bool:
    """A site's staff reach their own site; an area reaches its city's sites."""
    if scope.kind == "site":
        return site.code == scope.code
    return scope.is_area and site.city_code == scope.city_code


def check_site(scope: Jurisdiction, site: QuarantineSite) -> None:
    """``NotFound`` for a site the caller does not reach, exactly as for one that does not
    exist: another site's staff learn nothing of it."""
    if not site_visible(scope, site):
        raise NotFound(f"no quarantine site {site.code!r}", site=site.code)
