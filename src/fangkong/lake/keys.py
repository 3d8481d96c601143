"""The lake's dictionaries: an integer key for every person id and venue code it holds.

Scan files store ``person_key`` and ``venue_key`` (int32) instead of the registry's strings:
the co-presence join and the person index then compare and decode integers, about half the
work of strings (docs/performance.md). The strings come back through the dictionary of each
kind, a dense array in which a key is its value's position::

    lake/keys/person/keys-<first>-<end>.parquet   (key int32, value string), keys first..end-1
    lake/keys/venue/keys-<first>-<end>.parquet

Keys are given under the lake's lock (``lake/writer.py``), in order of first appearance, and
never change or get reused. A writer's new keys appear (by rename) before any scan file that
uses them, so a reader that sees a key can always decode it. Every ``MERGE_AT`` files the
dictionary is rewritten as one; until the old files are removed a reader may see both, and
takes the widest file of each start (``files``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fangkong.errors import FangkongError
from fangkong.lake.layout import sql_path

DICTIONARY = pa.schema(
    [pa.field("key", pa.int32(), nullable=False), pa.field("value", pa.string(), nullable=False)]
)
MERGE_AT = 32
_NAME = re.compile(r"^keys-(\d+)-(\d+)\.parquet$")


@dataclass(frozen=True)
class KeyKind:
    """One dictionary: the id column of incoming scans and the key column of the files."""

    name: str
    id_column: str
    key_column: str


PERSON = KeyKind("person", "person_id", "person_key")
VENUE = KeyKind("venue", "venue_code", "venue_key")
KINDS = (PERSON, VENUE)


class DictionaryBroken(FangkongError):
    """The dictionary files leave a gap: keys without a value (a file was removed by hand)."""

    code = "lake_dictionary_broken"
    status = 500


def folder(lake: Path, kind: KeyKind) -> Path:
    return lake / "keys" / kind.name


def file_name(first: int, end: int) -> str:
    return f"keys-{first:010d}-{end:010d}.parquet"


def files(lake: Path, kind: KeyKind) -> list[Path]:
    """The visible dictionary files covering keys 0..n-1 once each, in key order."""
    root = folder(lake, kind)
    if not root.is_dir():
        return []
    ranges: list[tuple[int, int, Path]] = []
    for path in root.iterdir():
        match = _NAME.match(path.name)
        if match:
            ranges.append((int(match[1]), int(match[2]), path))
    # The widest file of each start first: a merged file wins over the parts it replaced.
    ranges.sort(key=lambda r: (r[0], -r[1]))
    chain: list[Path] = []
    covered = 0
    for first, end, path in ranges:
        if end <= covered:
            continue
        if first != covered:
            raise DictionaryBroken(
                f"the {kind.name} keys of {lake} stop at {covered}, "
                f"the next file starts at {first}",
                folder=str(root),
            )
        chain.append(path)
        covered = end
    return chain


def size(chain: list[Path]) -> int:
    """How many keys a chain from ``files`` holds (from its last file's name)."""
    if not chain:
        return 0
    match = _NAME.match(chain[-1].name)
    assert match is not None
    return int(match[2])


def values(lake: Path, kind: KeyKind) -> pa.StringArray:
    """The dictionary: position = key. Read once per set of files (a visible file never
    changes), so a server decodes from memory."""
    return _values(_load(tuple(str(f) for f in files(lake, kind))))


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> pa.Table:
    """The dictionary files as one table (key, value), in key order."""
    if not paths:
        return DICTIONARY.empty_table()
    return pa.concat_tables(pq.read_table(p, schema=DICTIONARY) for p in paths).combine_chunks()


def _values(table: pa.Table) -> pa.StringArray:
    column = table["value"].combine_chunks()
    assert isinstance(column, pa.StringArray)
    return column


def encode(lake: Path, kind: KeyKind, ids: Iterable[str]) -> dict[str, int]:
    """The keys of those ``ids`` the lake holds (an id it has never seen has no scans)."""
    wanted = pa.array(sorted(set(ids)), pa.string())
    if len(wanted) == 0:
        return {}
    known = values(lake, kind)
    # A scan of the dictionary against a small hashed set: ~12 ms a million keys, where
    # hashing the dictionary for every lookup would cost ~200 ms.
    positions = pc.indices_nonzero(pc.is_in(known, value_set=wanted))
    found = known.take(positions).to_pylist()
    return dict(zip(found, positions.to_pylist(), strict=True))


def decode(lake: Path, kind: KeyKind, keys: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The ids of these keys, in their order."""
    known = values(lake, kind)
    return known.take(keys)


def assign(con: duckdb.DuckDBPyConnection, lake: Path, kind: KeyKind, source: str) -> Path | None:
    """Give a key to every id in column ``kind.id_column`` of relation ``source`` that has
    none, and register ``<kind>_keys`` (key, value) in ``con``: the whole dictionary. The new
    keys are written to a hidden file; returns the path it must be renamed to (before any
    scan using them appears), or None when there is nothing new. Under the lake's lock."""
    chain = files(lake, kind)
    held = size(chain)
    name = f"{kind.name}_keys"
    con.register(f"{name}_known", _load(tuple(str(f) for f in chain)))
    column = kind.id_column
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_new AS "
        f"SELECT CAST({held} + row_number() OVER (ORDER BY {column}) - 1 AS INTEGER) AS key, "
        f"{column} AS value FROM (SELECT DISTINCT {column} FROM {source}) AS ids "
        f"ANTI JOIN {name}_known AS k ON k.value = ids.{column}"
    )
    # A view: the known keys stay in Arrow (millions of them), not copied at each write.
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS "
        f"SELECT * FROM {name}_known UNION ALL SELECT * FROM {name}_new"
    )
    added = _count(con, f"{name}_new")
    if added == 0:
        return None
    end = held + added
    # Every MERGE_AT files the whole dictionary becomes one file (the live buffer adds a
    # small file at each flush that meets someone new).
    first, rows = (0, name) if len(chain) + 1 >= MERGE_AT else (held, f"{name}_new")
    target = folder(lake, kind) / file_name(first, end)
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY (SELECT key, value FROM {rows} ORDER BY key) TO '{sql_path(_hidden(target))}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    return target


def publish(pending: Iterable[Path]) -> None:
    """Make written dictionary files visible, then remove those a merged file replaces."""
    for target in pending:
        os.replace(_hidden(target), target)
        match = _NAME.match(target.name)
        if match and int(match[1]) == 0:
            end = int(match[2])
            for old in target.parent.iterdir():
                covered = _NAME.match(old.name)
                if old != target and covered and int(covered[2]) <= end:
                    old.unlink(missing_ok=True)


def discard(pending: Iterable[Path]) -> None:
    """Remove written dictionary files that will not be published (a failed write)."""
    for target in pending:
        _hidden(target).unlink(missing_ok=True)


def _hidden(target: Path) -> Path:
    return target.with_name("." + target.name)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    ((count,),) = con.execute(f"SELECT count(*) FROM {table}").fetchall()
    return int(count)
