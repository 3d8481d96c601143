"""HTTP API of quarantine: sites, a day's plan, orders, transfers, releases (``orders``) and
the swabs during quarantine at sites and door to door (``swabs``)."""

from fastapi import APIRouter

from fangkong.quarantine.api import orders, swabs

router = APIRouter()
router.include_router(orders.router)
router.include_router(swabs.router)
