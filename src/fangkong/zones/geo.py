"""Zone shapes: GeoJSON polygons checked on the way in (RFC 7946, WGS-84), points placed in
zones through an STR-tree, and GCJ-02 coordinates (what Chinese web maps give) converted to
WGS-84 before they are stored.

A polygon that is not a closed ring of at least four positions, that leaves the WGS-84
range, or that crosses itself is refused with the reason and the ring it is in, never
repaired silently: a zone's boundary is a public order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from fangkong.errors import InvalidInput
from fangkong.zones.index import ZoneStatus, severer


class InvalidPolygon(InvalidInput):
    code = "invalid_polygon"


def _ring_problem(ring: Any, where: str) -> str | None:
    if not isinstance(ring, list) or len(ring) < 4:
        return f"{where}: a ring needs at least 4 positions (the first repeated last)"
    for i, pos in enumerate(ring):
        if (
            not isinstance(pos, list | tuple)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
        ):
            return f"{where}, position {i}: not [longitude, latitude]"
        lon, lat = pos[0], pos[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            return f"{where}, position {i}: [{lon}, {lat}] is outside WGS-84 longitude/latitude"
    if list(ring[0][:2]) != list(ring[-1][:2]):
        return f"{where}: the ring is not closed (its last position must repeat the first)"
    return None


def parse_polygon(data: str | dict[str, Any]) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (a Feature's geometry is taken), checked."""
    try:
        obj = json.loads(data) if isinstance(data, str) else data
    except json.JSONDecodeError as exc:
        raise InvalidPolygon(f"the boundary is not JSON: {exc.msg}", field="geometry") from None
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidPolygon(
            "the boundary must be a GeoJSON Polygon or MultiPolygon", field="geometry"
        )
    coords = obj.get("coordinates")
    polygons = [coords] if obj["type"] == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise InvalidPolygon("the boundary has no coordinates", field="geometry")
    for p, rings in enumerate(polygons):
        if not isinstance(rings, list) or not rings:
            raise InvalidPolygon(f"polygon {p}: no rings", field="geometry")
        for r, ring in enumerate(rings):
            where = f"polygon {p}, ring {r}" if obj["type"] == "MultiPolygon" else f"ring {r}"
            problem = _ring_problem(ring, where)
            if problem:
                raise InvalidPolygon(problem, field="geometry")
    geom = shape(obj)
    if not geom.is_valid:
        raise InvalidPolygon(
            f"the boundary is not a valid polygon: {shapely.is_valid_reason(geom)}",
            field="geometry",
        )
    return geom


def normalised(data: str | dict[str, Any]) -> str:
    """The checked geometry as compact GeoJSON text, for storage."""
    return json.dumps(shapely.geometry.mapping(parse_polygon(data)), separators=(",", ":"))


class PolygonIndex:
    """Zone polygons in an STR-tree: which zone holds a point (the severest if several)."""

    def __init__(self, shapes: Sequence[tuple[ZoneStatus, str]]) -> None:
        self.statuses = [s for s, _ in shapes]
        self.geoms = [parse_polygon(g) for _, g in shapes]
        self.tree = shapely.STRtree(self.geoms) if self.geoms else None

    def __len__(self) -> int:
        return len(self.geoms)

    def of_point(self, lon: float, lat: float) -> ZoneStatus | None:
        if self.tree is None:
            return None
        found: ZoneStatus | None = None
        for i in self.tree.query(shapely.Point(lon, lat), predicate="intersects"):
            found = severer(found, self.statuses[int(i)])
        return found

    def of_points(self, lons: Sequence[float], lats: Sequence[float]) -> list[ZoneStatus | None]:
        """The same for many points, in one vectorised tree query."""
        out: list[ZoneStatus | None] = [None] * len(lons)
        if self.tree is None or not len(lons):
            return out
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        hits = self.tree.query(points, predicate="intersects")
        for p, g in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
            out[p] = severer(out[p], self.statuses[g])
        return out


# ---------------------------------------------------------------- GCJ-02 → WGS-84

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses
_EE = 0.00669342162296594323


def _out_of_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    dlon = (dlon * 180.0) / (_A / sq * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The published forward transform (used to test the inverse)."""
    if _out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS-84 by fixed-point iteration of the forward transform: a few rounds
    bring the error under a centimetre (the one-step inverse leaves 1–2 m)."""
    if _out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(10):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dx, dy = glon - lon, glat - lat
        wlon, wlat = wlon - dx, wlat - dy
        if abs(dx) < 1e-9 and abs(dy) < 1e-9:
            break
    return wlon, wlat
