"""``fangkong cases import`` and ``fangkong bulletin`` on a store in a temporary home."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.config import get_settings

HEADER = ["case_no", "district", "classification", "found_via", "reported_on", "converted_on"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-23T20:00+08:00")
    monkeypatch.delenv("FANGKONG_DATABASE_URL", raising=False)
    monkeypatch.delenv("FANGKONG_CITY", raising=False)
    monkeypatch.delenv("FANGKONG_POLICY", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def seed_rows() -> list[list[str]]:
    """45 confirmed and 141 asymptomatic before 3/21, then the 7 of 3/21 and 3/22's cases."""
    rows = [[f"E-{i}", "张店区", "confirmed", "", "2022-03-10", ""] for i in range(45)]
    rows += [[f"F-{i}", "临淄区", "asymptomatic", "", "2022-03-12", ""] for i in range(141)]
    rows += [
        [f"G-{i}", "周村区", "asymptomatic", "quarantine_site", "2022-03-21", ""] for i in range(5)
    ]
    rows += [
        [f"H-{i}", "淄川区", "asymptomatic", "quarantine_site", "2022-03-21", ""] for i in range(2)
    ]
    rows[-1][5] = "2022-03-22"  # one of 淄川区 converts on 3/22
    rows += [["K-1", "桓台县", "asymptomatic", "quarantine_site", "2022-03-22", ""]]
    return rows


def test_import_good_file_then_again(home: Path) -> None:
    path = write_csv(home / "good.csv", seed_rows())
    result = CliRunner().invoke(app, ["cases", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "added 194, updated 0, unchanged 0, rejected 0\n"
    assert (home / "home" / "fangkong.db").is_file()
    again = CliRunner().invoke(app, ["cases", "import", str(path)])
    assert again.exit_code == 0, again.output
    assert again.stdout == "added 0, updated 0, unchanged 194, rejected 0\n"


def bad_file(home: Path) -> Path:
    rows = seed_rows()[:3]
    rows.append(["X-1", "火星区", "asymptomatic", "", "2022-03-21", ""])
    rows.append(["X-2", "周村区", "confirmed", "", "2022-03-21", "2022-03-22"])
    return write_csv(home / "bad.csv", rows)


def test_import_bad_file_exits_1_and_imports_nothing(home: Path) -> None:
    result = CliRunner().invoke(app, ["cases", "import", str(bad_file(home))])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert result.stdout == ""
    empty = CliRunner().invoke(app, ["bulletin", "2022-03-21"])
    assert "本土确诊病例0例、本土无症状感染者0例" in empty.stdout


# cliutil.unit_of_work turns every FangkongError, ImportRejected included, into a one-line
# message and exit 1 before import_command's own handler can print the rows: the fix is
# to catch ImportRejected inside the ``with`` block in cases/cli.py, and to print each row
# with soft_wrap=True (Rich wraps at 80 columns otherwise).
def test_import_bad_file_prints_row_column_and_reason(home: Path) -> None:
    result = CliRunner().invoke(app, ["cases", "import", str(bad_file(home))])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "row 5, column district: unknown district '火星区'" in lines
    assert (
        "row 6, column converted_on: only an asymptomatic infection can be converted"
        " (value '2022-03-22')"
    ) in lines  # one line each, however long: operators grep these
    assert any("rejected 2" in line for line in lines)


def test_import_missing_column_is_row_1(home: Path) -> None:
    path = home / "nocol.csv"
    path.write_text("case_no,district\nA-1,周村区\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["cases", "import", str(path)])
    assert result.exit_code == 1
    assert "row 1, column classification: required column missing" in result.output


def test_bulletin_prints_only_the_text(home: Path) -> None:
    path = write_csv(home / "good.csv", seed_rows())
    assert CliRunner().invoke(app, ["cases", "import", str(path)]).exit_code == 0
    result = CliRunner().invoke(app, ["bulletin", "2022-03-21", "--city", "3703"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "3月21日0时至24时，淄博市报告新增本土无症状感染者7例，其中周村区5例、淄川区2例。"
        "截至3月21日24时，淄博市本土确诊病例45例、本土无症状感染者148例。\n"
    )
    since = CliRunner().invoke(
        app, ["bulletin", "2022-03-22", "--city", "3703", "--since", "2022-03-08"]
    )
    assert since.exit_code == 0, since.output
    assert since.stdout == (
        "3月22日0时至24时，淄博市报告新增本土无症状感染者1例，在桓台县，为集中隔离点的隔离人员。"
        "淄博市报告本土无症状感染者转为确诊病例1例，在淄川区。"
        "自3月8日至3月22日24时，淄博市累计报告本土确诊病例46例、本土无症状感染者148例。\n"
    )
    # since after the earlier cases: only 3/21 and 3/22 count
    later = CliRunner().invoke(app, ["bulletin", "2022-03-22", "--since", "2022-03-21"])
    assert later.stdout.endswith("累计报告本土确诊病例1例、本土无症状感染者7例。\n")


def test_bulletin_with_a_bad_day_or_city(home: Path) -> None:
    bad_day = CliRunner().invoke(app, ["bulletin", "2022-13-01"])
    assert bad_day.exit_code != 0
    assert "YYYY-MM-DD" in bad_day.output
    bad_city = CliRunner().invoke(app, ["bulletin", "2022-03-21", "--city", "北京"])
    assert bad_city.exit_code == 1
    assert "unknown city" in bad_city.output
    assert bad_city.stdout == ""


def import_audit() -> list[tuple[str, str, str | None, str | None]]:
    from fangkong.auth import audit
    from fangkong.deps import open_store

    store = open_store(get_settings())
    try:
        with store.sessions() as session:
            items, _ = audit.list_events(session, flt=audit.AuditFilter(action="import"))
            return [(e.actor, e.outcome, e.entity_id, e.detail) for e in reversed(items)]
    finally:
        store.engine.dispose()


def test_imports_are_audited_as_the_cli_rejected_ones_too(home: Path) -> None:
    good = write_csv(home / "good.csv", seed_rows()[:2])
    assert CliRunner().invoke(app, ["cases", "import", str(good)]).exit_code == 0
    assert CliRunner().invoke(app, ["cases", "import", str(bad_file(home))]).exit_code == 1
    assert import_audit() == [
        ("cli", "ok", "good.csv", '{"added": 2, "updated": 0, "unchanged": 0}'),
        ("cli", "rejected", "bad.csv", '{"rejected": 2}'),
    ]
