"""HTTP API of the region registry (reference data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from fangkong.auth.deps import Public
from fangkong.regions import service

# Division codes, names and boundaries are published national reference data (GB/T 2260).
router = APIRouter(
    prefix="/regions",
    tags=["regions"],
    dependencies=[Depends(Public("published GB/T 2260 reference data"))],
)


class DivisionRead(BaseModel):
    code: str
    name: str


class UnitRead(BaseModel):
    code: str
    name: str
    kind: str
    district_code: str
    streets: list[str]


@router.get("/cities", response_model=list[DivisionRead], summary="Cities in the registry")
def cities() -> list[DivisionRead]:
    return [DivisionRead(code=c.code, name=c.name) for c in service.registry().cities.values()]


@router.get("/{city}/districts", response_model=list[DivisionRead], summary="Districts")
def districts(city: str) -> list[DivisionRead]:
    code = service.city(city).code
    return [DivisionRead(code=d.code, name=d.name) for d in service.districts(code)]


@router.get("/{city}/units", response_model=list[UnitRead], summary="Reporting units")
def units(city: str) -> list[UnitRead]:
    code = service.city(city).code
    return [
        UnitRead(
            code=u.code,
            name=u.name,
            kind=u.kind,
            district_code=u.district_code,
            streets=list(u.streets),
        )
        for u in service.units(code)
    ]


@router.get("/districts/{district}/streets", response_model=list[DivisionRead])
def streets(district: str) -> list[DivisionRead]:
    code = service.resolve_district(district).code
    return [DivisionRead(code=s.code, name=s.name) for s in service.streets(code)]


@router.get("/{city}/boundaries", summary="District boundaries (GeoJSON)")
def boundaries(city: str) -> dict[str, Any]:
    return service.boundaries(service.city(city).code)
