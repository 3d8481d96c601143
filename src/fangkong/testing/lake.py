"""Where a round of mass testing lives in the lake, and how its files are written.

Layout, under ``{lake}/testing/`` (one folder per round, hive-style)::

    samples/round=<code>/part-<uuid>.parquet        who was swabbed into which tube (样本)
    tube_results/round=<code>/part-<uuid>.parquet   one result per tube, from the labs
    tube_closures/round=<code>/part-<uuid>.parquet  when a sampling point sealed a tube
    outcome/round=<code>/                           what ``outcome.apply_round`` computed
    _lock                                           one writer of testing data at a time

A round's samples, results and closures are append-only: each import adds one part file,
written under a name starting with ``.`` in its folder and renamed into place
(``os.replace``), so a reader never sees half a file and a failed import leaves nothing
visible. A result is never edited (``results.py`` explains why), so no file is rewritten.

The outcome is replaced as a whole on each run: its files are written into a new hidden
folder ``outcome/.round=<code>.<uuid>/``, then the symbolic link ``outcome/round=<code>``
is pointed at it by an atomic rename, and the previous folder is removed. A reader opening
``outcome/round=<code>/status.parquet`` gets the files of one run, never a mix.

Round codes become folder names, so they are checked (``check_round_code``): letters,
digits, ``_``, ``.`` and ``-``, at most 64, and not starting with ``.``.

Timestamps are stored in UTC. The work (checks across a whole file, the outcome) runs in
DuckDB with a memory limit, spilling to ``{lake}/_staging/<uuid>/``, which the scans
writer's ``remove_stale`` also cleans up after a crash.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from fangkong.errors import InvalidInput
from fangkong.lake.layout import PART_PREFIX, TIMESTAMP, sql_path
from fangkong.lake.reading import RowErrors
from fangkong.lake.writer import (
    LOCAL_TZ,
    MEMORY_LIMIT,
    STALE_SECONDS,
    copy_parquet,
    hidden_name,
    lake_lock,
)
from fangkong.lake.writer import workspace as lake_workspace
from fangkong.tabular import RowError

ROUND_CODE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")
RESULTS = ("negative", "positive", "invalid")
ROW_GROUP_ROWS = 32_768  # small enough that a batch's few tubes skip most of a round

SAMPLES = pa.schema(
    [
        pa.field("round_code", pa.string(), nullable=False),
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("tube_barcode", pa.string(), nullable=False),
        pa.field("tube_size", pa.int16(), nullable=False),
        pa.field("point_code", pa.string(), nullable=False),
        pa.field("sampled_at", TIMESTAMP, nullable=False),
    ]
)
TUBE_RESULTS = pa.schema(
    [
        pa.field("tube_barcode", pa.string(), nullable=False),
        pa.field("result", pa.string(), nullable=False),  # one of RESULTS
        pa.field("lab", pa.string(), nullable=False),
        pa.field("resulted_at", TIMESTAMP, nullable=False),
        pa.field("ct_orf1ab", pa.float64()),
        pa.field("ct_n", pa.float64()),
        pa.field("source", pa.string(), nullable=False),
    ]
)
TUBE_CLOSURES = pa.schema(
    [
        pa.field("tube_barcode", pa.string(), nullable=False),
        pa.field("point_code", pa.string(), nullable=False),
        pa.field("closed_at", TIMESTAMP, nullable=False),
    ]
)


def check_round_code(code: str) -> str:
    """The code, if it is safe as a folder name; ``InvalidInput`` otherwise."""
    if not isinstance(code, str) or not ROUND_CODE.fullmatch(code):
        raise InvalidInput(
            f"invalid round code {code!r}: use 1 to 64 letters, digits, '_', '.' or '-', "
            "not starting with '.'"
        )
    return code


def testing_root(lake: Path) -> Path:
    return lake / "testing"


@dataclass(frozen=True)
class RoundStream:
    """One append-only stream of a round: its folder and its row schema."""

    name: str
    schema: pa.Schema

    def round_dir(self, lake: Path, round_code: str) -> Path:
        return testing_root(lake) / self.name / f"round={check_round_code(round_code)}"

    def files(self, lake: Path, round_code: str) -> list[Path]:
        """The visible part files of the round, oldest name first."""
        folder = self.round_dir(lake, round_code)
        if not folder.is_dir():
            return []
        return sorted(f for f in folder.glob("*.parquet") if not f.name.startswith((".", "_")))

    def new_part(self, lake: Path, round_code: str) -> Path:
        folder = self.round_dir(lake, round_code)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{PART_PREFIX}{uuid.uuid4().hex}.parquet"


SAMPLE_STREAM = RoundStream("samples", SAMPLES)
RESULT_STREAM = RoundStream("tube_results", TUBE_RESULTS)
CLOSURE_STREAM = RoundStream("tube_closures", TUBE_CLOSURES)
STREAMS = (SAMPLE_STREAM, RESULT_STREAM, CLOSURE_STREAM)


@contextmanager
def testing_lock(lake: Path) -> Iterator[None]:
    """One writer of testing data at a time (across processes): every check against what
    is stored must see what is stored. Scans have their own lock and are not held up."""
    with lake_lock(testing_root(lake)):
        yield


# ---------------------------------------------------------------------------- DuckDB


@contextmanager
def workspace(
    lake: Path, *, memory_limit: str = MEMORY_LIMIT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake's DuckDB workspace, free to reorder rows no query orders."""
    with lake_workspace(lake, memory_limit=memory_limit, preserve_insertion_order=False) as con:
        yield con


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def view(
    con: duckdb.DuckDBPyConnection, name: str, stream: RoundStream, lake: Path, round_code: str
) -> int:
    """Register the round's stored rows of ``stream`` as view ``name`` (empty when there
    are none); returns the number of files."""
    files = stream.files(lake, round_code)
    if files:
        listed = ", ".join(f"'{sql_path(f)}'" for f in files)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet([{listed}])")
    else:
        con.register(f"{name}_empty", stream.schema.empty_table())
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_empty")
    return len(files)


def copy(
    con: duckdb.DuckDBPyConnection, query: str, target: Path, row_group: int = ROW_GROUP_ROWS
) -> None:
    copy_parquet(con, query, target, row_group)


def publish(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """Write ``query`` to ``target`` under a hidden name, then rename it into place."""
    hidden = hidden_name(target)
    try:
        copy(con, query, hidden)
        os.replace(hidden, target)
    finally:
        hidden.unlink(missing_ok=True)


PROBLEMS = 'CREATE TEMP TABLE problems ("row" BIGINT, col VARCHAR, reason VARCHAR, value VARCHAR)'
"""The rows found bad by the checks across an input, before they go to ``RowErrors``."""


def count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """The first value of ``query``'s first row, as an int (0 when null)."""
    found = con.execute(query).fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def report_problems(
    con: duckdb.DuckDBPyConnection, errors: RowErrors, *, staged: bool = True
) -> None:
    """Move the ``problems`` table into ``errors`` (listed in row order up to the limit).
    With ``staged``, rows already bad in their own fields (``incoming.ok`` false) were
    counted before and are not counted again."""
    total = count(con, "SELECT count(*) FROM problems")
    if not total:
        return
    listed = con.execute(
        f'SELECT "row", col, reason, value FROM problems ORDER BY "row", col LIMIT {errors.room}'
    ).fetchall()
    for row, column, reason, value in listed:
        errors.add(RowError(int(row), column, reason, value))
    errors.unlisted += total - len(listed)
    counted = 'SELECT count(DISTINCT p."row") FROM problems p'
    if staged:
        counted += ' JOIN incoming i USING ("row") WHERE i.ok'
    errors.bad_rows += count(con, counted)


def local_text(column: str) -> str:
    """SQL for a UTC timestamp as local (Asia/Shanghai) ISO 8601 text, for messages."""
    return f"strftime(timezone('{LOCAL_TZ}', {column}), '%Y-%m-%dT%H:%M:%S')"


# ---------------------------------------------------------------------------- outcome


def outcome_root(lake: Path) -> Path:
    return testing_root(lake) / "outcome"


def outcome_dir(lake: Path, round_code: str) -> Path:
    """``outcome/round=<code>``: the link to the folder of the latest run."""
    return outcome_root(lake) / f"round={check_round_code(round_code)}"


def new_outcome_dir(lake: Path, round_code: str) -> Path:
    """A hidden folder for a run's files, published by ``publish_outcome``."""
    folder = outcome_root(lake) / f".round={check_round_code(round_code)}.{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    return folder


def publish_outcome(lake: Path, round_code: str, folder: Path) -> Path:
    """Point ``outcome/round=<code>`` at ``folder`` (atomically), remove the previous run's
    folder; returns the link."""
    link = outcome_dir(lake, round_code)
    previous = link.parent / os.readlink(link) if link.is_symlink() else None
    staged_link = link.with_name(f".{link.name}.link-{uuid.uuid4().hex}")
    os.symlink(folder.name, staged_link)
    try:
        os.replace(staged_link, link)
    finally:
        staged_link.unlink(missing_ok=True)
    if previous is not None and previous != folder:
        shutil.rmtree(previous, ignore_errors=True)
    return link


def remove_stale(lake: Path, *, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove what crashed writers left under ``testing/``: hidden part files, and hidden
    outcome folders no link points at, older than ``older_than`` seconds."""
    limit = time.time() - older_than
    removed: list[Path] = []
    for stream in STREAMS:
        root = testing_root(lake) / stream.name
        if root.is_dir():
            for leftover in root.glob("round=*/.*"):
                if leftover.is_file() and leftover.stat().st_mtime < limit:
                    leftover.unlink(missing_ok=True)
                    removed.append(leftover)
    root = outcome_root(lake)
    if root.is_dir():
        current = {os.readlink(p) for p in root.glob("round=*") if p.is_symlink()}
        for leftover in root.glob(".round=*"):
            old = leftover.lstat().st_mtime < limit
            if old and leftover.name not in current:
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
                removed.append(leftover)
    return removed
