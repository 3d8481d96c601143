"""Staging folders: a killed process's are removed at once (and when the server starts),
a running process's never, unmarked ones only when old."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fangkong.lake import staging
from fangkong.lake.layout import lake_root
from fangkong.lake.writer import STALE_SECONDS, remove_stale

KILLED_IMPORT = """
import os, signal, sys
from pathlib import Path
from fangkong.lake import staging
work = staging.new_folder(Path(sys.argv[1]), "import-")
(work / "chunk-000000.parquet").write_bytes(b"half written")
print(work, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_import(lake: Path) -> Path:
    """The staging folder of a scan import killed with SIGKILL mid-way."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, str(lake)], capture_output=True, text=True, env=env
    )
    assert done.returncode == -9, done.stderr
    folder = Path(done.stdout.strip())
    assert (folder / "chunk-000000.parquet").exists()
    return folder


def test_a_killed_process_folder_goes_a_running_one_stays(tmp_path: Path) -> None:
    dead = killed_import(tmp_path)
    alive = staging.new_folder(tmp_path, "upload-")
    unmarked_young = staging.root(tmp_path) / "backup-young"
    unmarked_old = staging.root(tmp_path) / "backup-old"
    for folder in (unmarked_young, unmarked_old):
        folder.mkdir()
    an_hour_ago = time.time() - STALE_SECONDS - 60
    os.utime(unmarked_old, (an_hour_ago, an_hour_ago))

    removed = staging.remove_abandoned(tmp_path, older_than=STALE_SECONDS)
    assert sorted(removed) == sorted([dead, unmarked_old])
    assert not dead.exists()
    assert not unmarked_old.exists()
    assert alive.is_dir()
    assert unmarked_young.is_dir()


def test_a_reused_process_id_does_not_keep_a_folder(tmp_path: Path) -> None:
    folder = staging.new_folder(tmp_path)
    pid, started = (folder / staging.OWNER).read_text().split()
    # The same id, but a process started at another time: the owner has ended.
    (folder / staging.OWNER).write_text(f"{pid} {int(started) + 1}")
    assert staging.remove_abandoned(tmp_path, older_than=STALE_SECONDS) == [folder]


def test_writers_clean_up_staging_of_ended_processes(tmp_path: Path) -> None:
    dead = killed_import(tmp_path)
    assert dead in remove_stale(tmp_path)


def test_the_server_removes_abandoned_staging_when_it_starts(app: FastAPI) -> None:
    lake = lake_root(app.state.settings.home)
    dead = killed_import(lake)
    alive = staging.new_folder(lake, "import-")  # e.g. a CLI import running meanwhile
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert not dead.exists()
        assert alive.is_dir()
