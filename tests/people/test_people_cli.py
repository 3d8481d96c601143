"""``fangkong people|venues|workplaces import`` and ``fangkong people list``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong import cliutil
from fangkong.auth.jurisdiction import bind
from fangkong.auth.models import AuditEvent
from fangkong.cli import app
from fangkong.config import Settings
from fangkong.people import service

CITY = bind("city", "3703")  # city-wide: these tests see every record


@pytest.fixture
def runner(settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner on the test store (``session`` empties it afterwards)."""
    monkeypatch.setattr(cliutil, "get_settings", lambda: settings)
    return CliRunner()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_imports_and_list(runner: CliRunner, session: Session, tmp_path: Path) -> None:
    workplaces = write(
        tmp_path, "w.csv", "单位编号,单位名称,行业,区县,部门\nW1,某公司,制造业,周村区,车间\n"
    )
    result = runner.invoke(app, ["workplaces", "import", str(workplaces)])
    assert result.exit_code == 0, result.output
    assert "added 1, updated 0, unchanged 0, rejected 0" in result.output

    people = write(
        tmp_path,
        "p.csv",
        "person_id,name,phone,district,workplace_id,workplace_unit,extra\n"
        "P1,张三丰,13853312345,周村区,W1,车间,x\nP2,李四,,张店区,,,\n",
    )
    result = runner.invoke(app, ["people", "import", str(people)])
    assert result.exit_code == 0, result.output
    assert "added 2, updated 0, unchanged 0, rejected 0" in result.output
    assert "ignored columns: extra" in result.output
    result = runner.invoke(app, ["people", "import", str(people)])
    assert "added 0, updated 0, unchanged 2, rejected 0" in result.output
    assert service.get_person(session, scope=CITY, person_no="P1").workplace_unit is not None
    session.rollback()  # end the read: on SQLite every transaction holds the write lock

    venues = write(tmp_path, "v.csv", "venue_code,name,category,district\nV1,某超市,超市,周村区\n")
    result = runner.invoke(app, ["venues", "import", str(venues)])
    assert "added 1, updated 0, unchanged 0, rejected 0" in result.output

    session.rollback()  # end the read transaction: the commands committed on their own
    imports = session.execute(
        select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.actor_kind)
        .where(AuditEvent.action == "import")
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(i) for i in imports] == [
        ("workplace", "w.csv", "system"),
        ("person", "p.csv", "system"),
        ("person", "p.csv", "system"),
        ("venue", "v.csv", "system"),
    ]
    session.rollback()

    listed = runner.invoke(app, ["people", "list", "--q", "张"])
    assert listed.exit_code == 0, listed.output
    assert "张*丰" in listed.output
    assert "138****2345" in listed.output
    assert "13853312345" not in listed.output
    assert "1 of 1" in listed.output


def test_rejected_import_prints_every_error(
    runner: CliRunner, session: Session, tmp_path: Path
) -> None:
    bad = write(
        tmp_path,
        "bad.csv",
        "person_id,name,phone,workplace_id\nP1,张三,123,\nP2,李四,,W9\nP3,王五,,\n",
    )
    result = runner.invoke(app, ["people", "import", str(bad)])
    assert result.exit_code == 1
    assert "added 0, updated 0, unchanged 0, rejected 2" in result.output
    assert (
        "row 2, column phone: not an 11-digit mainland mobile number (value '123')" in result.output
    )
    assert "row 3, column workplace_id: no workplace 'W9' in the registry (value 'W9')" in (
        result.output
    )
    assert "nothing was imported" in result.output
    assert service.list_persons(session, scope=CITY, flt=service.PersonFilter())[1] == 0
