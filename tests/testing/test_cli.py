"""``fangkong testing …`` on a fresh home: a round, its samples and results from files, the
outcome, coverage, routine compliance; a bad file rejected with its rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.auth.jurisdiction import bind
from fangkong.auth.models import AuditEvent
from fangkong.cli import app as cli_app
from fangkong.config import get_settings
from fangkong.deps import open_store
from fangkong.people import service as people_service
from fangkong.people.schemas import PersonCreate
from tests.conftest import NOW

CITY = bind("city", "3703")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-21T20:00+08:00")
    monkeypatch.setenv("FANGKONG_POLICY", "zibo-2022-03")
    for name in ("FANGKONG_DATABASE_URL", "FANGKONG_CITY", "FANGKONG_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    store = open_store(get_settings())
    with store.sessions() as s, s.begin():
        for i in range(6):
            data = PersonCreate.model_validate(
                {"person_no": f"P{i}", "name": "周八", "district": "周村区", "street": "大街街道"}
            )
            people_service.create_person(s, data=data, now=NOW, scope=CITY)
    store.engine.dispose()
    yield tmp_path
    get_settings.cache_clear()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_round_from_the_command_line(home: Path) -> None:
    runner = CliRunner()
    plan = home / "plan.xlsx"
    created = runner.invoke(
        cli_app,
        [
            "testing", "round", "create", "ZC-1", "--area", "大街街道",
            "--starts", "2022-03-21T06:00", "--plan", str(plan),
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "6 due, 1 sampling points" in created.stdout
    assert load_workbook(plan).sheetnames == ["采样点", "时段", "汇总"]

    bad = write(
        home / "bad.csv",
        "person_id,tube_barcode,tube_size,point_code,sampled_at\n"
        "P0,T1,5,PT,2022-03-21 07:00\nP1,T1,7,PT,2022-03-21 07:01\n",
    )
    rejected = runner.invoke(cli_app, ["testing", "samples", "import", str(bad), "--round", "ZC-1"])
    assert rejected.exit_code == 1
    assert "row 3, column tube_size" in rejected.output

    good = write(
        home / "samples.csv",
        "person_id,tube_barcode,tube_size,point_code,sampled_at\n"
        + "".join(f"P{i},T1,5,PT,2022-03-21 07:0{i}\n" for i in range(5)),
    )
    for expected in ("added 5, duplicates 0", "added 0, duplicates 5"):
        imported = runner.invoke(
            cli_app, ["testing", "samples", "import", str(good), "--round", "ZC-1"]
        )
        assert imported.exit_code == 0, imported.output
        assert expected in imported.stdout
    lab = write(
        home / "results.csv",
        "tube_barcode,result,lab,resulted_at\nT1,阴性,淄博市疾控中心,2022-03-21 12:00\n",
    )
    resulted = runner.invoke(cli_app, ["testing", "results", "import", str(lab), "--round", "ZC-1"])
    assert resulted.exit_code == 0, resulted.output
    applied = runner.invoke(cli_app, ["testing", "apply", "ZC-1"])
    assert applied.exit_code == 0, applied.output
    assert "due 6: sampled 5, exempt 0, missing 1" in applied.stdout
    coverage = runner.invoke(cli_app, ["testing", "coverage", "ZC-1", "--level", "street"])
    assert coverage.exit_code == 0, coverage.output
    assert "大街街道" in coverage.stdout
    assert runner.invoke(cli_app, ["testing", "coverage", "ZC-1", "--level", "x"]).exit_code != 0
    routine = runner.invoke(cli_app, ["testing", "routine"])
    assert routine.exit_code == 0, routine.output
    assert "zibo-2022-03:testing.routine_groups" in routine.stdout

    store = open_store(get_settings())
    with store.sessions() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.actor == "cli")).all()
    store.engine.dispose()
    outcomes = [(e.entity_type, e.outcome) for e in audit]
    assert ("testing_sample", "rejected") in outcomes
    assert ("testing_result", "ok") in outcomes
