"""Backup and restore of the records store, the event lake and the live scan buffer.

A backup is a folder::

    manifest.json     what is in it: store kind and revision, rows per table, every file
                      of the lake with its size and SHA-256, the lake's symbolic links
    store.sqlite      the SQLite store (the online backup API: a consistent snapshot
                      while fangkong keeps serving), or
    store.pgdump      the PostgreSQL store (pg_dump, custom format)
    lake/             the lake's visible files, and lake/_buffer/ the live scan buffer

It is written as a hidden folder beside DEST and renamed to DEST when complete, so a DEST
that exists is a whole backup.

**Consistency of the store.** SQLite: ``sqlite3``'s backup API copies the pages of one read
transaction. PostgreSQL: the rows are counted in a repeatable-read transaction whose
snapshot ``pg_dump --snapshot`` dumps, so the counts in the manifest are the dump's.

**Consistency of the lake while it is written.** Lake files never change once they appear
(``lake/writer.py``: written under a dot-name, renamed into place; compaction publishes a
day's new file before it removes the old ones). Holding the lake's lock and the testing
data's lock (``lake/_lock``, ``lake/testing/_lock``: no import, flush or compaction can
publish or remove a file meanwhile), the backup hard-links every visible file into
``lake/_staging/backup-<id>/`` (one link per file: no data is copied under the locks),
releases the locks, and copies from there at leisure: compaction can remove the originals,
the links keep the snapshot's data. The buffer's files grow by appends, so they are copied
(not linked), first, under the buffer's append lock (whole lines only). Buffer first, lake
second: a batch is either still in a buffer file or already in the lake before its buffer
file is deleted, so each scan is in the copy of one or the other, never in neither; one
caught in both (a flush between its write and its delete) is dropped as a duplicate by the
restored lake's first flush.

The store and the lake are each consistent; they are taken one after the other, not at one
instant: scans refer to persons by id, and nothing in the store points into the lake.

**Restore** checks every file's size and SHA-256 first, refuses a store that holds tables
or a lake that holds files, then restores the store (SQLite backup API, or ``pg_restore``)
and the lake (copied beside it, renamed into place), and compares the store's rows per
table with the manifest. Stop fangkong before restoring.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url

from fangkong import __version__
from fangkong.config import Settings
from fangkong.errors import FangkongError
from fangkong.lake.layout import lake_root
from fangkong.lake.writer import lake_lock
from fangkong.scans import service as scans
from fangkong.storage.db import create_store_engine
from fangkong.storage.migrate import alembic_config
from fangkong.testing.lake import testing_lock

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "store.sqlite"
PG_FILE = "store.pgdump"
LAKE = "lake"
BUFFER = "_buffer"
# Never part of a backup: locks, a writer's work in progress, the buffer (copied apart).
SKIPPED_TOP = {"_staging", "_buffer", "_lock"}
CHUNK = 1 << 20
log = logging.getLogger("fangkong")


class BackupFailed(FangkongError):
    code = "backup_failed"
    status = 500


@dataclass
class Manifest:
    created_at: str
    store: str  # "sqlite" or "postgresql"
    revision: str | None
    tables: dict[str, int]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # path: size, sha256
    links: dict[str, str] = field(default_factory=dict)  # path: relative target
    format: int = FORMAT
    fangkong: str = __version__

    @property
    def lake_bytes(self) -> int:
        return sum(int(f["size"]) for f in self.files.values())

    def write(self, folder: Path) -> None:
        path = folder / MANIFEST
        with path.open("w", encoding="utf-8") as handle:
            json.dump(vars(self), handle, ensure_ascii=False, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.is_file():
            raise BackupFailed(f"{folder} is not a fangkong backup: it has no {MANIFEST}")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise BackupFailed(f"backup format {data.get('format')!r} is not {FORMAT}")
        return cls(**data)


# --------------------------------------------------------------------------- backup


def backup(settings: Settings, dest: Path, *, now: datetime) -> Manifest:
    """Back up the store, the lake and the buffer of ``settings`` into the new folder
    ``dest``; ``now`` is recorded as the backup's time."""
    dest = dest.absolute()
    if dest.exists():
        raise BackupFailed(f"{dest} exists; a backup goes into a new folder")
    if not dest.parent.is_dir():
        raise BackupFailed(f"{dest.parent} is not a folder")
    work = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        kind, revision, tables = _backup_store(settings.resolved_database_url, work)
        manifest = Manifest(
            created_at=now.isoformat(), store=kind, revision=revision, tables=tables
        )
        _backup_lake(lake_root(settings.home), work / LAKE, manifest)
        manifest.write(work)
        work.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _backup_store(url: str, work: Path) -> tuple[str, str | None, dict[str, int]]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = work / SQLITE_FILE
        _sqlite_copy(_sqlite_path(url), target)
        revision, tables = _describe(f"sqlite:///{target}")
        return "sqlite", revision, tables
    if parsed.get_backend_name() == "postgresql":
        revision, tables = _pg_dump(url, work / PG_FILE)
        return "postgresql", revision, tables
    raise BackupFailed(f"cannot back up a {parsed.get_backend_name()} store")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupFailed("the SQLite store is in memory; there is nothing to back up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: the pages of one read transaction, while writers go on
    (WAL); the copy is a single file (no WAL beside it) checked by ``quick_check``."""
    if not source.is_file():
        raise BackupFailed(f"the SQLite store {source} does not exist")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        (result,) = dst.execute("PRAGMA quick_check").fetchone()
        if result != "ok":
            raise BackupFailed(f"the SQLite copy failed its check: {result}")
    finally:
        dst.close()
        src.close()


def _counts(connection: Connection) -> tuple[str | None, dict[str, int]]:
    """The store's Alembic revision and the rows of each of its tables."""
    names = sorted(inspect(connection).get_table_names())
    preparer = connection.dialect.identifier_preparer
    tables = {
        name: int(connection.execute(text(f"SELECT count(*) FROM {preparer.quote(name)}")).one()[0])
        for name in names
    }
    revision = None
    if "alembic_version" in names:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision, tables


def _describe(url: str) -> tuple[str | None, dict[str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return _counts(connection)
    finally:
        engine.dispose()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The store's URL for the PostgreSQL tools, its password in the environment (not in
    the arguments, which every local user can read)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(
            f"{name} is not on PATH: install the PostgreSQL client tools of the server's "
            f"version (Debian: apt-get install postgresql-client) and try again"
        )
    return found


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupFailed(f"{Path(args[0]).name} failed: {done.stderr.strip()}")


def _pg_dump(url: str, target: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump of the snapshot in which the rows are counted."""
    pg_dump = _tool("pg_dump")
    conninfo, env = _libpq(url)
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            snapshot_conn = connection.execution_options(isolation_level="REPEATABLE READ")
            with snapshot_conn.begin():
                snapshot = snapshot_conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                revision, tables = _counts(snapshot_conn)
                # The snapshot lives while this transaction is open.
                _run(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        f"--file={target}",
                        f"--dbname={conninfo}",
                    ],
                    env,
                )
    finally:
        engine.dispose()
    return revision, tables


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


def _backup_lake(lake: Path, target: Path, manifest: Manifest) -> None:
    snapshot = lake / "_staging" / f"backup-{uuid.uuid4().hex}"
    try:
        _snapshot(lake, snapshot)
        _copy_tree(snapshot, target, manifest, keep_alive=snapshot)
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


def _snapshot(lake: Path, snapshot: Path) -> None:
    """The buffer copied and the lake hard-linked into ``snapshot``, under the locks (see
    the module's docstring for why in this order)."""
    with lake_lock(lake), testing_lock(lake):
        snapshot.mkdir(parents=True)
        buffer = snapshot / BUFFER
        buffer.mkdir()
        with scans.appends_held(lake) as batches:
            for batch in batches:
                try:
                    shutil.copy2(batch, buffer / batch.name)
                except FileNotFoundError:
                    # A flush wrote it into the lake (which is linked next) and deleted it.
                    continue
        _link_tree(lake, snapshot)


def _link_tree(lake: Path, snapshot: Path) -> None:
    for folder, dirs, files in os.walk(lake):
        here = Path(folder)
        rel = here.relative_to(lake)
        if rel == Path("."):
            dirs[:] = [d for d in dirs if d not in SKIPPED_TOP]
        names = [*dirs, *files]
        links = {n: os.readlink(here / n) for n in names if (here / n).is_symlink()}
        # A published link may point at a dot-folder (a testing outcome): keep both.
        targets = {t for t in links.values() if "/" not in t}
        dirs[:] = [d for d in dirs if d not in links and (_visible(d) or d in targets)]
        (snapshot / rel).mkdir(parents=True, exist_ok=True)
        for name, target in links.items():
            if _visible(name) and not os.path.isabs(target):
                os.symlink(target, snapshot / rel / name)
        for name in files:
            if name in links or not _visible(name):
                continue
            try:
                os.link(here / name, snapshot / rel / name)
            except OSError:
                shutil.copy2(here / name, snapshot / rel / name)


def _copy_tree(source: Path, target: Path, manifest: Manifest, *, keep_alive: Path) -> None:
    """Copy ``source`` to ``target``, recording each file's size and SHA-256 and each link;
    touches ``keep_alive`` as it goes, so that a writer's clean-up of old staging folders
    (``writer.remove_stale``) never takes a snapshot still being copied."""
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        rel = here.relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in [*dirs, *files]:
            path = here / name
            if path.is_symlink():
                link = os.readlink(path)
                os.symlink(link, target / rel / name)
                manifest.links[(rel / name).as_posix()] = link
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        for name in files:
            if (here / name).is_symlink():
                continue
            size, digest = _copy_file(here / name, target / rel / name)
            manifest.files[(rel / name).as_posix()] = {"size": size, "sha256": digest}
            os.utime(keep_alive)


def _copy_file(source: Path, target: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copystat(source, target)
    return size, digest.hexdigest()


# -------------------------------------------------------------------------- restore


def restore(settings: Settings, source: Path) -> Manifest:
    """Restore the backup ``source`` into the (empty) store and lake of ``settings``."""
    manifest = Manifest.read(source)
    verify(source, manifest)
    _check_revision(manifest.revision)
    lake = lake_root(settings.home)
    if lake.exists() and any(lake.iterdir()):
        raise BackupFailed(f"the lake {lake} is not empty; restore into a new home")
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    _restore_store(url, source, manifest)
    _restore_lake(source / LAKE, lake, manifest)
    _, tables = _describe_store(url)
    if tables != manifest.tables:
        names = {*tables, *manifest.tables}
        differ = sorted(t for t in names if tables.get(t) != manifest.tables.get(t))
        raise BackupFailed(f"the restored store differs from the backup in {', '.join(differ)}")
    return manifest


def verify(source: Path, manifest: Manifest) -> None:
    """Every file of the backup is there with its recorded size and SHA-256."""
    store_file = SQLITE_FILE if manifest.store == "sqlite" else PG_FILE
    if not (source / store_file).is_file():
        raise BackupFailed(f"the backup has no {store_file}")
    for rel, expected in manifest.files.items():
        path = source / LAKE / rel
        if not path.is_file() or path.stat().st_size != expected["size"]:
            raise BackupFailed(f"the backup's file {rel} is missing or truncated")
        if _sha256(path) != expected["sha256"]:
            raise BackupFailed(f"the backup's file {rel} is damaged (SHA-256 differs)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_revision(revision: str | None) -> None:
    if revision is None:
        return
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        known = scripts.get_revision(revision) is not None
    except Exception:
        known = False
    if not known:
        raise BackupFailed(
            f"the backup's store is at revision {revision}, which this fangkong does not "
            "know: restore it with the fangkong that made it, or a newer one"
        )


@contextmanager
def _engine(url: str) -> Iterator[Connection]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _describe_store(url: str) -> tuple[str | None, dict[str, int]]:
    with _engine(url) as connection:
        return _counts(connection)


def _restore_store(url: str, source: Path, manifest: Manifest) -> None:
    backend = make_url(url).get_backend_name()
    if backend != manifest.store:
        raise BackupFailed(
            f"the backup holds a {manifest.store} store; the configured store is {backend}"
        )
    with _engine(url) as connection:
        if inspect(connection).get_table_names():
            raise BackupFailed("the configured store is not empty; restore into an empty one")
    if backend == "sqlite":
        target = _sqlite_path(url)
        src = sqlite3.connect(source / SQLITE_FILE)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    pg_restore = _tool("pg_restore")
    conninfo, env = _libpq(url)
    # Owners and grants are the source's roles; grant the application's role again after
    # a restore (docs/operations.md).
    _run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={conninfo}",
            str(source / PG_FILE),
        ],
        env,
    )


def _restore_lake(source: Path, lake: Path, manifest: Manifest) -> None:
    """Copy the backup's lake beside the target, then rename it into place."""
    staged = lake.with_name(f".{lake.name}.restoring-{uuid.uuid4().hex[:8]}")
    try:
        restored = Manifest(created_at="", store="", revision=None, tables={})
        if source.is_dir():
            _copy_tree(source, staged, restored, keep_alive=staged)
        else:
            staged.mkdir(parents=True)
        if restored.files != manifest.files or restored.links != manifest.links:
            raise BackupFailed("the lake copied differs from the backup's manifest")
        if lake.exists():
            lake.rmdir()  # checked empty
        staged.rename(lake)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
