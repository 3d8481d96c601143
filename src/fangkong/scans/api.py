"""HTTP API of venue scans: live uploads from venue devices, file imports, lake figures."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Depends, File, UploadFile

from fangkong.apiutil import audited_import
from fangkong.auth.deps import Require
from fangkong.auth.principal import Principal
from fangkong.deps import ClockDep, PolicyDep, SessionDep, SettingsDep
from fangkong.lake.layout import lake_root
from fangkong.scans import importer, service
from fangkong.scans.schemas import LakeDayRead, LakeStatsRead, ScanIn, ScansAccepted
from fangkong.tabular import ImportReport

router = APIRouter(tags=["scans"])

Writer = Annotated[Principal, Depends(Require("scans.write"))]
Reader = Annotated[Principal, Depends(Require("scans.read"))]


def _flush_quietly(lake: Path) -> None:
    # A failed background flush loses nothing: its files stay in the buffer for the next.
    try:
        service.flush(lake)
    except Exception:
        logging.getLogger("fangkong").exception("scan buffer flush failed; it will be retried")


@router.post(
    "/scans",
    status_code=202,
    response_model=ScansAccepted,
    summary="Upload venue scans (one or a batch of up to 1000); durable when answered",
)
def post_scans(
    items: Annotated[list[ScanIn], Body(min_length=1, max_length=service.MAX_BATCH)],
    session: SessionDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Writer,
    background: BackgroundTasks,
) -> ScansAccepted:
    lake = lake_root(settings.home)
    rows = service.validate(
        session, items=items, scope=principal.jurisdiction, policy=policy.tracing
    )
    buffered = service.append(lake, rows)
    if service.flush_due(lake, rows=buffered):
        background.add_task(_flush_quietly, lake)
    return ScansAccepted(accepted=rows.num_rows, buffered=buffered)


@router.post(
    "/scans/import",
    response_model=ImportReport,
    summary="Import a CSV or Parquet file of scans (all or nothing; duplicates count as unchanged)",
)
def import_scans(
    session: SessionDep,
    clock: ClockDep,
    policy: PolicyDep,
    settings: SettingsDep,
    principal: Writer,
    file: UploadFile = File(...),
) -> ImportReport:
    run = partial(importer.import_scans, lake=lake_root(settings.home), policy=policy.tracing)
    return audited_import(run, "scan", file, session, clock, principal)


@router.get("/scans/stats", response_model=LakeStatsRead, summary="Scans in the lake, per day")
def scan_stats(settings: SettingsDep, principal: Reader) -> LakeStatsRead:
    lake = lake_root(settings.home)
    days = [LakeDayRead(**vars(s)) for s in service.stats(lake)]
    return LakeStatsRead(
        days=days, rows=sum(d.rows for d in days), buffered=service.buffered_rows(lake)
    )
