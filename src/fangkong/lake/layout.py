"""Where the lake's files live and what their rows look like.

``{FANGKONG_HOME}/lake/<stream>/day=YYYY-MM-DD/part-<id>.parquet``: one folder per local
(Asia/Shanghai) day, hive-style, so that both engines prune days by path; beside them
``lake/keys/`` holds the dictionaries of person and venue keys (``lake/keys.py``). Files appear
only by atomic rename (``lake/writer.py``): a reader never sees a half-written file, and a
file whose name starts with ``.`` or ``_`` (work in progress) is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.errors import Conflict

TIMESTAMP = pa.timestamp("us", tz="UTC")

# Venue scans (场所码) as they enter the lake: who was where, from when to when. left_at
# is filled from the policy's default stay per venue category when a scan has none
# (left_at_inferred).
SCANS = pa.schema(
    [
        pa.field("person_id", pa.string(), nullable=False),
        pa.field("venue_code", pa.string(), nullable=False),
        pa.field("entered_at", TIMESTAMP, nullable=False),
        pa.field("left_at", TIMESTAMP, nullable=False),
        pa.field("left_at_inferred", pa.bool_(), nullable=False),
    ]
)
# The same scans as the lake's files hold them: the ids as keys of the lake's dictionaries
# (lake/keys.py), which the tracing joins compare and decode faster than strings.
STORED_SCANS = pa.schema(
    [
        pa.field("person_key", pa.int32(), nullable=False),
        pa.field("venue_key", pa.int32(), nullable=False),
        *(SCANS.field(name) for name in SCANS.names[2:]),
    ]
)


@dataclass(frozen=True)
class Stream:
    """One stream of the lake: its folder and its row schema."""

    name: str
    schema: pa.Schema

    def root(self, lake: Path) -> Path:
        return lake / self.name

    def day_dir(self, lake: Path, day: date) -> Path:
        return self.root(lake) / f"day={day.isoformat()}"

    def days(self, lake: Path) -> list[date]:
        root = self.root(lake)
        if not root.is_dir():
            return []
        found = []
        for folder in root.iterdir():
            named = folder.is_dir() and folder.name.startswith("day=")
            if named and any(_visible(f) for f in folder.glob("*.parquet")):
                found.append(date.fromisoformat(folder.name[4:]))
        return sorted(found)

    def files(self, lake: Path, days: list[date] | None = None) -> list[Path]:
        """The visible Parquet files, of the given days or of all."""
        wanted = days if days is not None else self.days(lake)
        result: list[Path] = []
        for day in wanted:
            folder = self.day_dir(lake, day)
            if folder.is_dir():
                result.extend(sorted(f for f in folder.glob("*.parquet") if _visible(f)))
        return result


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "_"))


SCAN_STREAM = Stream("scans", STORED_SCANS)
# The same scans again, of compacted days only, sorted by person: the person index
# (lake/writer.py explains the layout). Never read together with SCAN_STREAM's compacted files.
SCANS_BY_PERSON = Stream("scans_by_person", STORED_SCANS)

# File names: ``part-<uuid>`` is an appended batch, ``compact-<uuid>`` a compacted day.
PART_PREFIX = "part-"
COMPACT_PREFIX = "compact-"


def is_compacted(path: Path) -> bool:
    return path.name.startswith(COMPACT_PREFIX)


def lake_root(home: Path) -> Path:
    return home / "lake"


def sql_path(path: Path) -> str:
    """A path as a quoted SQL string's content."""
    return str(path).replace("'", "''")


def is_keyed(path: Path) -> bool:
    """Whether a scan file holds keys (STORED_SCANS); files written before the lake had
    dictionaries hold the ids themselves, and ``writer.compact`` rewrites them."""
    return _keyed(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4096)
def _keyed(path: str, mtime_ns: int) -> bool:
    return "person_key" in pq.read_schema(path).names


class LakeOutdated(Conflict):
    code = "lake_outdated"


def require_keyed(files: list[Path]) -> None:
    """Refuse to read scan files of the layout before dictionaries, naming the fix."""
    old = [f for f in files if not is_keyed(f)]
    if old:
        raise LakeOutdated(
            f"{len(old)} scan file(s) predate the lake's dictionaries (first: {old[0]}); "
            "run `fangkong scans compact` once to rewrite them",
            files=[str(f) for f in old[:10]],
        )
