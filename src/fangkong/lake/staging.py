"""Staging folders, ``lake/_staging/<prefix><uuid>/``: a writer's scratch space (an
upload being imported, an import's staged Parquet, DuckDB's spill files).

Each folder names its owner in ``.owner``: the process id and the process's start time,
so that a clean-up tells a folder a killed process left — removed at once — from one in
use, whichever process uses it (the server, a CLI import, another server on the same lake).
A folder without the mark (a backup's snapshot, or one made before the mark) is removed
only when it has not changed for ``older_than`` seconds.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

OWNER = ".owner"


def root(lake: Path) -> Path:
    return lake / "_staging"


def new_folder(lake: Path, prefix: str = "") -> Path:
    """A new staging folder owned by this process; the caller removes it when done."""
    folder = root(lake) / f"{prefix}{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    (folder / OWNER).write_text(_mark(os.getpid()) or str(os.getpid()))
    return folder


def _mark(pid: int) -> str | None:
    """``"<pid> <start time>"`` of a running process, None when it is not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc here: the pid alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return str(pid)
    # Field 22 is the start time; the command name (field 2) may hold spaces and ")".
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def _owner_gone(folder: Path) -> bool | None:
    """Whether the process that made ``folder`` has ended (its id may since belong to
    another process: the start time tells); None when the folder names no owner."""
    try:
        owner = (folder / OWNER).read_text().split()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not owner or not owner[0].isdigit():
        return None
    now = _mark(int(owner[0]))
    return now is None or (len(owner) > 1 and now.split()[-1] != owner[-1])


def remove_abandoned(lake: Path, *, older_than: float) -> list[Path]:
    """Remove the staging folders of ended processes, and unmarked ones unchanged for
    ``older_than`` seconds; returns what was removed."""
    folder = root(lake)
    if not folder.is_dir():
        return []
    limit = time.time() - older_than
    removed: list[Path] = []
    for work in folder.iterdir():
        gone = _owner_gone(work)
        try:
            stale = gone if gone is not None else work.stat().st_mtime < limit
        except FileNotFoundError:  # its owner removed it meanwhile
            continue
        if stale:
            if work.is_dir() and not work.is_symlink():
                shutil.rmtree(work, ignore_errors=True)
            else:
                work.unlink(missing_ok=True)
            removed.append(work)
    return removed
