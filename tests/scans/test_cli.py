"""``fangkong scans import|flush|compact|stats`` on a home in tmp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.config import Settings, get_settings
from fangkong.lake.layout import SCAN_STREAM, lake_root


@pytest.fixture
def runner(
    settings: Settings, committed_registry: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("FANGKONG_HOME", str(settings.home))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-23T20:00+08:00")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_import_compact_stats(runner: CliRunner, settings: Settings, tmp_path: Path) -> None:
    file = tmp_path / "scans.csv"
    file.write_text(
        "person_id,venue_code,entered_at\nP1,V01,2022-03-22T08:00\nP2,V02,2022-03-22T09:00\n"
    )
    result = runner.invoke(app, ["scans", "import", str(file)])
    assert result.exit_code == 0, result.output
    assert "added 2, duplicates 0, rejected 0" in result.output
    assert "rows/s" in result.output
    result = runner.invoke(app, ["scans", "import", str(file)])
    assert "added 0, duplicates 2, rejected 0" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,venue_code,entered_at\nP1,V77,2022-03-22T08:00\n")
    result = runner.invoke(app, ["scans", "import", str(bad)])
    assert result.exit_code == 1
    assert "row 2, column venue_code: unknown venue 'V77'" in result.output

    lake = lake_root(settings.home)
    result = runner.invoke(app, ["scans", "import", str(file)])
    assert len(SCAN_STREAM.files(lake)) == 1
    result = runner.invoke(app, ["scans", "compact", "--day", "2022-03-22"])
    assert result.exit_code == 0, result.output
    assert "2022-03-22: 2 scans in 1 file" in result.output
    result = runner.invoke(app, ["scans", "stats"])
    assert "1 day(s), 1 file(s), 2 scans; 0 buffered; 0 unreadable" in result.output
    result = runner.invoke(app, ["scans", "flush"])
    assert "flushed 0 buffer file(s)" in result.output


def test_flush_and_stats_report_lines_set_aside(runner: CliRunner, settings: Settings) -> None:
    lake = lake_root(settings.home)
    buffer = lake / "_buffer"
    buffer.mkdir(parents=True)
    good = (
        '{"person_id": "P1", "venue_code": "V01", "entered_at": "2022-03-22T00:00:00+00:00", '
        '"left_at": "2022-03-22T00:30:00+00:00", "left_at_inferred": true}\n'
    )
    (buffer / "scans-1000.jsonl").write_text(good + "not json\n" + good[:30])
    result = runner.invoke(app, ["scans", "flush"])
    assert result.exit_code == 0, result.output
    assert "flushed 1 buffer file(s), 1 scans: added 1" in result.output
    assert "2 unreadable line(s) set aside" in result.output
    result = runner.invoke(app, ["scans", "stats"])
    assert "1 scans; 0 buffered; 2 unreadable buffer line(s) set aside" in result.output
