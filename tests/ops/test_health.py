"""``/healthz`` and ``/readyz``: open to anyone, saying nothing but what failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from fangkong.lake.layout import SCANS, lake_root
from fangkong.scans import service as scans

ENTERED = datetime(2022, 3, 22, 2, 0, tzinfo=UTC)


def one_scan() -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "person_id": "P1",
                "venue_code": "V01",
                "entered_at": ENTERED,
                "left_at": ENTERED,
                "left_at_inferred": True,
            }
        ],
        schema=SCANS,
    )


def test_healthz_needs_nothing_and_says_ok(anon: TestClient) -> None:
    r = anon.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_readyz_checks_store_lake_and_buffer(anon: TestClient) -> None:
    r = anon.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ready",
        "checks": {"database": "ok", "lake": "ok", "scan_buffer": "ok"},
    }


def test_a_buffer_nobody_flushes_makes_it_not_ready(app: FastAPI, anon: TestClient) -> None:
    lake = lake_root(app.state.settings.home)
    scans.append(lake, one_scan())
    assert anon.get("/readyz").status_code == 200  # just written: younger than the limit
    app.state.settings = app.state.settings.model_copy(update={"ready_buffer_max_age": 1e-6})
    r = anon.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["scan_buffer"] == "stalled"
    scans.flush(lake)
    assert anon.get("/readyz").status_code == 200


def test_an_unreachable_store_or_unreadable_lake_is_not_ready_and_not_described(
    app: FastAPI, anon: TestClient
) -> None:
    home = app.state.settings.home
    lake_root(home).parent.mkdir(parents=True, exist_ok=True)
    lake_root(home).write_text("not a folder")
    working = app.state.store.engine
    app.state.store.engine = create_engine(f"sqlite:///{home}/missing/folder/store.db")
    try:
        r = anon.get("/readyz")
    finally:
        app.state.store.engine.dispose()
        app.state.store.engine = working
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"] == "failed"
    assert body["checks"]["lake"] == "failed"
    assert str(home) not in json.dumps(body)  # no path, no message: those go to the log
