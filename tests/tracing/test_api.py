"""The tracing API and CLI through the real app and command."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from fangkong.auth.models import AuditEvent
from fangkong.cli import app as cli_app
from fangkong.config import Settings, get_settings
from fangkong.deps import open_store
from fangkong.lake.layout import lake_root
from fangkong.storage.db import session_factory

from .helpers import zhoucun

API = "/api/v1"
Clients = Callable[[str], TestClient]


@pytest.fixture
def city(app: object, engine: Engine, settings: Settings) -> None:
    with session_factory(engine)() as s, s.begin():
        zhoucun(s, lake_root(settings.home))


def test_trace_read_and_export(client_as: Clients, city: None, engine: Engine) -> None:
    cdc = client_as("cdc")
    response = cdc.post(f"{API}/trace", json={"case_nos": ["ZB-001"]})
    assert response.status_code == 200, response.text
    assert response.json()["totals"] == {"close": 4, "secondary": 1, "general": 1}
    by_day = cdc.post(f"{API}/trace", json={"day": "2022-03-09"}).json()
    assert [c["case_no"] for c in by_day["cases"]] == ["ZB-001", "ZB-003"]
    assert cdc.post(f"{API}/trace", json={}).status_code == 422

    contacts = cdc.get(f"{API}/cases/ZB-001/contacts").json()
    a = next(c for c in contacts if c["person_no"] == "A")
    assert (a["name"], a["phone"], a["degree"]) == ("张*三", "138****2345", "close")
    assert a["reasons"][0]["venue_code"] == "V1"
    assert [c["degree"] for c in contacts[:4]] == ["close"] * 4
    assert contacts[-1]["degree"] == "general"

    visits = cdc.get(f"{API}/cases/ZB-001/visits").json()
    assert [v["venue_code"] for v in visits] == ["V1", "PK"]
    clusters = cdc.get(f"{API}/clusters").json()
    assert clusters[0]["name"] == "周村区 3月8日 聚集性疫情 (ZB-001)"

    assert cdc.get(f"{API}/contacts.csv").status_code == 422  # a reason is required
    export = cdc.get(f"{API}/contacts.csv", params={"reason": "转运隔离"})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert {"case_no", "person_id", "degree", "reason", "venue_code", "overlap_start"} <= set(
        rows[0]
    )
    assert len(rows) == 6  # one reason each
    with session_factory(engine)() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
        assert event is not None
        assert (event.entity_type, event.reason, event.actor) == (
            "contact",
            "转运隔离",
            "token:cdc-token",
        )

    done = cdc.patch(f"{API}/cases/ZB-001/contacts/A", json={"status": "notified"})
    assert done.json()["status"] == "notified"


def test_access(client_as: Clients, anon: TestClient, city: None) -> None:
    assert anon.get(f"{API}/cases/ZB-001/contacts").status_code == 401
    zhoucun_officer = client_as("zhoucun")
    assert zhoucun_officer.post(f"{API}/trace", json={"case_nos": ["ZB-001"]}).status_code == 403
    assert zhoucun_officer.get(f"{API}/cases/ZB-001/contacts").status_code == 200
    assert client_as("zhangdian").get(f"{API}/cases/ZB-001/contacts").status_code == 404
    assert client_as("zhangdian").get(f"{API}/cases/ZB-001/visits").status_code == 404
    assert client_as("hotline").get(f"{API}/clusters").status_code == 403
    assert (
        client_as("worker").get(f"{API}/contacts.csv", params={"reason": "x" * 3}).status_code
        == 403
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-23T20:00+08:00")
    for name in ("FANGKONG_DATABASE_URL", "FANGKONG_CITY", "FANGKONG_POLICY", "FANGKONG_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    store = open_store(get_settings())
    with store.sessions() as s, s.begin():
        zhoucun(s, lake_root(get_settings().home))
    store.engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_trace_and_export(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["trace", "ZB-001", "ZB-003", "--engine", "duckdb"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "2 cases: close 4, secondary 1, general 1"
    by_day = runner.invoke(cli_app, ["trace", "--date", "2022-03-09"])
    assert by_day.exit_code == 0, by_day.output
    assert runner.invoke(cli_app, ["trace"]).exit_code != 0
    out = home / "contacts.csv"
    exported = runner.invoke(cli_app, ["contacts", "export", str(out)])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert {r["person_id"] for r in rows} == {"H1", "U1", "A", "X", "S", "B"}
