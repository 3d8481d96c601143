"""``fangkong zones propose|list|lift`` on a store in a temporary home: a case file's
import proposes its zones, proposing again adds nothing, and the lifting run applies what
the rules allow."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong import cliutil
from fangkong.cli import app
from fangkong.config import get_settings
from fangkong.zones import drawing, records

NOW = datetime(2022, 3, 16, 2, 0, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-16T20:00+08:00")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("FANGKONG_DATABASE_URL", raising=False)
    monkeypatch.delenv("FANGKONG_CITY", raising=False)
    monkeypatch.setenv("FANGKONG_POLICY", "zibo-2022-03")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_propose_list_lift(home: Path) -> None:
    path = home / "cases.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_no", "district", "classification", "reported_on"])
        writer.writerow(["C-1", "周村区", "asymptomatic", "2022-03-16"])
        writer.writerow(["C-2", "周村区", "asymptomatic", "2022-03-16"])
    run("cases", "import", str(path))
    # the import proposed the district's precaution zone (no home known: nothing smaller)
    listed = run("zones", "list", "--status", "proposed")
    assert "防范区" in listed
    assert "周村区" in listed
    assert run("zones", "propose", "--date", "2022-03-16").endswith("2022-03-16: 0 proposal(s)\n")
    assert "防范区" not in run("zones", "list", "--date", "2022-03-16")
    with cliutil.unit_of_work() as session:
        (zone,) = records.proposed_zones(session)
        assert zone.case_nos == "C-1 C-2"
        drawing.confirm(
            session, code=zone.code, scope=cliutil.city_scope(), effective_at=NOW, now=NOW, by="hq"
        )
    assert "管控中" in run("zones", "list", "--date", "2022-03-16")
    lifted = run("zones", "lift", "--date", "2022-03-17")
    assert lifted.endswith("2022-03-17: 1 applied, 0 held\n")
    assert "已解除" in run("zones", "list")
    bad = CliRunner().invoke(app, ["zones", "lift", "--date", "17 March"])
    assert bad.exit_code != 0


def test_notice_feed_and_reopening(home: Path) -> None:
    path = home / "cases.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_no", "district", "classification", "reported_on"])
        writer.writerow(["C-1", "周村区", "asymptomatic", "2022-03-16"])
    run("cases", "import", str(path))
    with cliutil.unit_of_work() as session:
        (zone,) = records.proposed_zones(session)
        drawing.confirm(
            session, code=zone.code, scope=cliutil.city_scope(), effective_at=NOW, now=NOW, by="hq"
        )
    word = home / "notice.docx"
    text = run("zones", "notice", "--kind", "draw", "--date", "2022-03-16", "--docx", str(word))
    assert text.split("\n")[3] == (
        "一、自3月16日10时起，将周村区其他区域划定为防范区。"
        "防范区实行“强化社会面管控、严格限制人员聚集”。"
    )
    assert word.read_bytes()[:2] == b"PK"
    assert run("zones", "feed", "--date", "2022-03-16", "--format", "csv").split("\n")[1] == (
        f"山东省,淄博市,周村区,周村区,precaution,防范区,,{zone.code},2022-03-16"
    )
    refused = CliRunner().invoke(app, ["zones", "notice", "--kind", "lift", "--date", "2022-03-16"])
    assert refused.exit_code != 0
    assert "no zone" in refused.output
    assert run("reopening", "import", "--builtin", "zibo-2022-03-23") == (
        "imported 3703-2022-03-23: 16 cell(s)\n"
    )
    shown = run("reopening", "show")
    assert "优先复工复产" in shown
    assert "自3月23日0时起，淄博市逐步恢复正常生产生活秩序。" in shown
