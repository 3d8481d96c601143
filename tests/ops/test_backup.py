"""Backup and restore: a new home gets the same records, lake and buffer; a backup taken
while scans arrive, flush and compact loses none; a damaged backup or a used target is
refused before anything is written."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from fangkong.auth import service as auth
from fangkong.auth.jurisdiction import bind
from fangkong.cases import service as cases
from fangkong.cases.schemas import CaseCreate
from fangkong.cli import app as cli
from fangkong.config import Settings, get_settings
from fangkong.deps import open_store
from fangkong.lake import scans as lake_scans
from fangkong.lake import writer
from fangkong.lake.layout import SCANS, lake_root
from fangkong.ops import backup as backups
from fangkong.scans import service as scans
from fangkong.storage.db import create_store_engine
from fangkong.testing import lake as testing_lake
from tests.conftest import NOW, PASSWORD, SECRET, _reset_postgres, _wipe
from tests.lakes import lake_rows as _lake_rows

DAY = date(2022, 3, 22)
T0 = datetime(2022, 3, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai: minutes 0..800 stay in DAY


def batch(start: int, n: int) -> pa.Table:
    rows = [
        {
            "person_id": f"P{i}",
            "venue_code": f"V{i % 7}",
            "entered_at": T0 + timedelta(minutes=i),
            "left_at": T0 + timedelta(minutes=i + 30),
            "left_at_inferred": i % 2 == 0,
        }
        for i in range(start, start + n)
    ]
    return pa.Table.from_pylist(rows, schema=SCANS)


def lake_rows(lake: Path) -> list[tuple[object, ...]]:
    # lake/scans.py keeps registered file lists per connection, but Ibis counts every
    # in-memory DuckDB connection equal to every other: a list read before through another
    # connection would name a table this one lacks. Each read here starts afresh.
    lake_scans._REGISTERED.clear()
    return _lake_rows(lake)


def rows_of(table: pa.Table) -> list[tuple[object, ...]]:
    return sorted(tuple(r.values()) for r in table.to_pylist())


def on_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def records(url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order."""
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            names = sorted(inspect(connection).get_table_names())
            return {
                name: sorted(
                    repr(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{name}"'))
                )
                for name in names
            }
    finally:
        engine.dispose()


def files_of(lake: Path) -> dict[str, str]:
    """The visible files (and links) of a lake: relative path -> SHA-256 (or link target)."""
    found: dict[str, str] = {}
    for folder, dirs, names in os.walk(lake):
        here = Path(folder)
        dirs[:] = [d for d in dirs if d not in {"_staging"}]
        for name in [*dirs, *names]:
            path = here / name
            rel = path.relative_to(lake).as_posix()
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_file() and name not in {"_lock", ".lock", ".flush.lock"}:
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def fill_store(url: str, home: Path) -> Settings:
    settings = Settings(
        home=home, database_url=url if on_postgres(url) else None, now=NOW, secret_key=SECRET
    )
    store = open_store(settings)
    try:
        with store.sessions() as session:
            auth.create_user(
                session,
                username="cdc",
                password=PASSWORD,
                role_code="cdc",
                scope_kind="city",
                scope_code="3703",
                now=NOW,
            )
            for no, district in (("B-01", "周村区"), ("B-02", "淄川区")):
                data = CaseCreate.model_validate(
                    {
                        "case_no": no,
                        "district": district,
                        "classification": "confirmed",
                        "reported_on": "2022-03-21",
                        "name": "张三",
                        "id_number": "370306199001011234",
                    }
                )
                cases.create_case(session, data=data, now=NOW, scope=bind("city", "3703"))
            session.commit()
    finally:
        store.engine.dispose()
    return settings


def fill_lake(lake: Path) -> None:
    writer.write_scans(lake, batch(0, 40))
    writer.write_scans(lake, batch(40, 20))
    writer.compact(lake, DAY)  # one compacted file and its person index
    writer.write_scans(lake, batch(60, 5))  # a part after the compaction
    scans.append(lake, batch(100, 7))  # waiting in the buffer
    # A testing round's outcome: a link to a hidden folder (testing/lake.py).
    with testing_lake.testing_lock(lake):
        folder = testing_lake.new_outcome_dir(lake, "R1")
        pq.write_table(pa.table({"n": [1, 2, 3]}), folder / "status.parquet")
        testing_lake.publish_outcome(lake, "R1", folder)


@pytest.fixture
def source(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[Settings]:
    settings = fill_store(database_url, tmp_path / "a")
    fill_lake(lake_root(settings.home))
    yield settings
    if on_postgres(database_url):
        _wipe(engine)


def target_for(source: Settings, home: Path, engine: Engine) -> Settings:
    """A new home; on PostgreSQL the test database, emptied (CI has only that one)."""
    if source.database_url is not None:
        engine.dispose()
        _reset_postgres(engine)
    return source.model_copy(update={"home": home})


def test_a_restored_home_has_the_same_records_lake_and_buffer(
    source: Settings, tmp_path: Path, engine: Engine
) -> None:
    before = records(source.resolved_database_url)
    lake = lake_root(source.home)
    lake_before, files_before = lake_rows(lake), files_of(lake)
    assert scans.buffered_rows(lake) == 7

    manifest = backups.backup(source, tmp_path / "backup", now=NOW)
    assert manifest.store == ("sqlite" if source.database_url is None else "postgresql")
    assert manifest.tables["case"] == 2
    assert manifest.tables["user_account"] == 1
    assert manifest.links == {"testing/outcome/round=R1": os.readlink(lake / manifest_link())}

    target = target_for(source, tmp_path / "b", engine)
    backups.restore(target, tmp_path / "backup")
    restored = lake_root(target.home)
    assert records(target.resolved_database_url) == before
    assert lake_rows(restored) == lake_before
    assert files_of(restored) == files_before
    assert pq.read_table(restored / manifest_link() / "status.parquet")["n"].to_pylist() == [
        1,
        2,
        3,
    ]
    # The buffer comes back as it was, and its first flush writes it into the lake.
    assert scans.buffered_rows(restored) == 7
    scans.flush(restored)
    assert lake_rows(restored) == sorted([*lake_before, *rows_of(batch(100, 7))])


def manifest_link() -> str:
    return "testing/outcome/round=R1"


def test_a_backup_taken_while_scans_arrive_flush_and_compact_loses_none(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    source = fill_store(database_url, tmp_path / "a")
    lake = lake_root(source.home)
    writer.write_scans(lake, batch(0, 10))
    accepted: list[int] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def busy() -> None:
        try:
            for step in range(60):
                if stop.is_set():
                    return
                start = 10 + step * 10
                scans.append(lake, batch(start, 10))
                accepted.append(start)
                if step % 2 == 1:
                    scans.flush(lake)
                if step % 3 == 2:
                    writer.compact(lake, DAY)
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        while len(accepted) < 4 and worker.is_alive():
            stop.wait(0.01)
        before = list(accepted)  # accepted (durable) before the backup began
        backups.backup(source, tmp_path / "backup", now=NOW)
    finally:
        stop.set()
        worker.join(timeout=120)
    assert not failures
    target = target_for(source, tmp_path / "b", engine)
    backups.restore(target, tmp_path / "backup")
    restored = lake_root(target.home)
    scans.flush(restored)
    rows = lake_rows(restored)
    assert len(rows) == len(set(rows))  # nothing twice
    expected = [*rows_of(batch(0, 10)), *(r for s in before for r in rows_of(batch(s, 10)))]
    assert set(expected) <= set(rows)
    if source.database_url is not None:
        _wipe(engine)


def test_a_damaged_backup_is_refused_before_anything_is_written(
    source: Settings, tmp_path: Path
) -> None:
    backups.backup(source, tmp_path / "backup", now=NOW)
    manifest = backups.Manifest.read(tmp_path / "backup")
    name = next(p for p in manifest.files if p.endswith(".parquet"))
    damaged = tmp_path / "backup" / "lake" / name
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    target = source.model_copy(update={"home": tmp_path / "b"})
    with pytest.raises(backups.BackupFailed, match="damaged"):
        backups.restore(target, tmp_path / "backup")
    assert not (tmp_path / "b").exists()


def test_a_used_home_or_an_existing_destination_is_refused(
    source: Settings, tmp_path: Path
) -> None:
    backups.backup(source, tmp_path / "backup", now=NOW)
    with pytest.raises(backups.BackupFailed, match="exists"):
        backups.backup(source, tmp_path / "backup", now=NOW)
    with pytest.raises(backups.BackupFailed, match="not empty"):
        backups.restore(source, tmp_path / "backup")  # its own lake holds files
    if source.database_url is None:
        # An empty lake but a store with tables.
        used = source.model_copy(update={"home": tmp_path / "used"})
        open_store(used).engine.dispose()
        with pytest.raises(backups.BackupFailed, match="store is not empty"):
            backups.restore(used, tmp_path / "backup")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_without_pg_dump_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backups.shutil, "which", lambda name: None)
    with pytest.raises(backups.BackupFailed, match=r"pg_dump is not on PATH.*postgresql-client"):
        backups._tool("pg_dump")


def test_the_commands_back_up_and_restore_a_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANGKONG_SECRET_KEY", SECRET)
    monkeypatch.delenv("FANGKONG_DATABASE_URL", raising=False)
    fill_store("sqlite://", tmp_path / "a")
    fill_lake(lake_root(tmp_path / "a"))
    runner = CliRunner()

    def run(home: Path, *args: str) -> tuple[int, str]:
        monkeypatch.setenv("FANGKONG_HOME", str(home))
        get_settings.cache_clear()
        result = runner.invoke(cli, list(args))
        get_settings.cache_clear()
        return result.exit_code, result.output

    code, out = run(tmp_path / "a", "backup", str(tmp_path / "bk"))
    assert code == 0, out
    assert "backed up the sqlite store" in out
    code, out = run(tmp_path / "b", "restore", str(tmp_path / "bk"))
    assert code == 0, out
    assert "restored the sqlite store" in out
    assert records(f"sqlite:///{tmp_path / 'b' / 'fangkong.db'}") == records(
        f"sqlite:///{tmp_path / 'a' / 'fangkong.db'}"
    )
    code, out = run(tmp_path / "b", "restore", str(tmp_path / "bk"))
    assert code == 1
    assert "not empty" in out
