"""``fangkong sites …`` and ``fangkong quarantine …`` on a fresh home: a site file (and a bad
one, rejected with its rows), a day planned with who waits and why, transfers, releases held
with their reasons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fangkong.auth.models import AuditEvent
from fangkong.cli import app as cli_app
from fangkong.config import get_settings
from fangkong.deps import open_store
from fangkong.quarantine.models import QuarantineSite, TransferTask

from .factories import case, contact, resident

SITES = """site_code,name,district,lon,lat,room_no,beds
S01,周村宾馆,周村区,117.87,36.80,301,3
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A household of three close contacts and one close contact alone, of case C1 in 周村."""
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-16T20:00+08:00")
    monkeypatch.setenv("FANGKONG_POLICY", "zibo-2022-03")
    for name in ("FANGKONG_DATABASE_URL", "FANGKONG_CITY", "FANGKONG_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    store = open_store(get_settings())
    with store.sessions() as s, s.begin():
        c1 = case(s, "C1", resident(s, "P-INDEX"))
        for i in range(3):
            contact(s, c1, resident(s, f"P-H{i}", household="HH-A"))
        contact(s, c1, resident(s, "P-SOLO"))
    store.engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def test_sites_plan_transfers_release(home: Path) -> None:
    runner = CliRunner()
    sites = home / "sites.csv"
    sites.write_text(SITES, encoding="utf-8")
    imported = runner.invoke(cli_app, ["sites", "import", str(sites)])
    assert imported.exit_code == 0, imported.output
    assert "added 1" in imported.output
    again = runner.invoke(cli_app, ["sites", "import", str(sites)])
    assert "unchanged 1" in again.output
    listed = runner.invoke(cli_app, ["sites", "list"])
    assert "周村宾馆" in listed.output

    planned = runner.invoke(cli_app, ["quarantine", "plan", "--date", "2022-03-16"])
    assert planned.exit_code == 0, planned.output
    # the household takes the one room; the one alone waits for a room, with the reason
    assert "placed 3 in 1 transfer(s)" in planned.output
    assert "waiting 1" in planned.output
    assert "隔离点房间已满" in planned.output
    transfers = runner.invoke(cli_app, ["quarantine", "transfers"])
    assert "周村宾馆" in transfers.output
    store = open_store(get_settings())
    with store.sessions() as s:
        task = s.scalars(select(TransferTask.task_no)).one()
    store.engine.dispose()
    arrived = runner.invoke(cli_app, ["quarantine", "arrived", task])
    assert "1 transfer(s) done: 3 in quarantine" in arrived.output, arrived.output

    released = runner.invoke(cli_app, ["quarantine", "release", "--date", "2022-03-29"])
    assert released.exit_code == 0, released.output
    # on the 14th day nobody goes: no test was ever taken (the one alone never arrived)
    assert "released 0" in released.output
    assert "held 3" in released.output
    assert "未采样" in released.output

    store = open_store(get_settings())
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(QuarantineSite)) == 1
        kinds = s.scalars(select(AuditEvent.entity_type).where(AuditEvent.action == "import"))
        assert "quarantine_site" in set(kinds)
    store.engine.dispose()


def test_a_bad_site_file_is_refused_with_its_rows(home: Path) -> None:
    bad = home / "bad.csv"
    bad.write_text("site_code,name,district,beds,room_no\nS01,x,火星区,0,1\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["sites", "import", str(bad)])
    assert result.exit_code == 1
    assert "row 2, column district" in result.output
    assert "row 2, column beds" in result.output
    assert "nothing was imported" in result.output
