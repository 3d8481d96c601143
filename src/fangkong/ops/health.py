"""``/healthz`` and ``/readyz``: for a load balancer, an orchestrator or a monitor.

``/healthz`` answers while the process serves requests and does no I/O: a failure means
restart the process. ``/readyz`` checks what serving needs, and answers 503 when a part is
missing: the records store answers a query, the lake can be listed, and the live scan
buffer is being flushed (its oldest batch is younger than ``FANGKONG_READY_BUFFER_MAX_AGE``;
an older one means neither uploads nor ``fangkong scans flush`` have written it into the
lake, so tracing does not see it yet). With Redis as the rate limits' store, it must answer.

Both are open to anyone and say only ``ok`` or what failed, never a path, an address, a
version or an error message; the details go to the server's log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from fangkong.auth.deps import Public
from fangkong.config import Settings
from fangkong.deps import Store
from fangkong.lake.layout import SCAN_STREAM, lake_root
from fangkong.scans import service as scans

router = APIRouter(include_in_schema=False)
log = logging.getLogger("fangkong")


@router.get("/healthz", dependencies=[Depends(Public("liveness probe; reveals nothing"))])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def check_database(store: Store) -> str:
    # Deferred on SQLite: a probe must not queue for the write lock behind an import.
    with store.engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        connection.execute(text("SELECT 1"))
    return "ok"


def check_lake(lake: Path) -> str:
    # A lake not yet written is ready (empty); one that exists must be listable.
    if lake.exists():
        os.listdir(lake)
        SCAN_STREAM.days(lake)
    return "ok"


def check_buffer(lake: Path, max_age: float) -> str:
    age = scans.oldest_batch_age(lake)
    return "ok" if age is None or age <= max_age else "stalled"


def readiness(request: Request) -> tuple[bool, dict[str, str]]:
    settings: Settings = request.app.state.settings
    lake = lake_root(settings.home)
    checks: dict[str, Callable[[], str]] = {
        "database": lambda: check_database(request.app.state.store),
        "lake": lambda: check_lake(lake),
        "scan_buffer": lambda: check_buffer(lake, settings.ready_buffer_max_age),
    }
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None and limiter.shared:
        checks["rate_limit_storage"] = lambda: "ok" if limiter.reachable() else "unreachable"
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = check()
        except Exception:
            log.warning("readiness check %s failed", name, exc_info=True)
            results[name] = "failed"
    return all(v == "ok" for v in results.values()), results


@router.get("/readyz", dependencies=[Depends(Public("readiness probe; reveals nothing"))])
def readyz(request: Request) -> JSONResponse:
    ready, checks = readiness(request)
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not_ready", "checks": checks},
    )
