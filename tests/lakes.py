"""Reading a test's lake back as the scans that went in (ids, not the stored keys)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from fangkong.lake import engine
from fangkong.lake.layout import SCANS
from fangkong.lake.scans import visits


def lake_scans(lake: Path) -> pa.Table:
    """Every scan of the lake with its ids (``layout.SCANS``), in no particular order."""
    table = visits(engine.connect("duckdb"), lake).select(*SCANS.names).to_pyarrow()
    return table.cast(SCANS)


def lake_rows(lake: Path) -> list[tuple[object, ...]]:
    """The lake's scans as sorted tuples of ``layout.SCANS``, for comparing contents."""
    return sorted(tuple(r.values()) for r in lake_scans(lake).to_pylist())
