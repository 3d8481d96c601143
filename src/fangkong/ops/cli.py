"""``fangkong backup DEST`` and ``fangkong restore SRC`` (``ops/backup.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from fangkong.config import get_settings
from fangkong.ops import backup as backups


def backup(
    dest: Path = typer.Argument(..., help="A new folder to write the backup into."),
) -> None:
    """Back up the records store, the event lake and the live scan buffer, consistently,
    while fangkong keeps serving."""
    settings = get_settings()
    # The backup's own time stamp is the machine's, whatever clock the data runs on.
    now = datetime.now(UTC)
    try:
        manifest = backups.backup(settings, dest, now=now)
    except backups.BackupFailed as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"backed up the {manifest.store} store at revision {manifest.revision} "
        f"({sum(manifest.tables.values()):,} rows in {len(manifest.tables)} tables) and "
        f"{len(manifest.files):,} lake files ({manifest.lake_bytes:,} bytes) to {dest}"
    )


def restore(
    src: Path = typer.Argument(..., help="A folder written by `fangkong backup`."),
) -> None:
    """Restore a backup into an empty store and lake (stop fangkong first)."""
    settings = get_settings()
    try:
        manifest = backups.restore(settings, src)
    except backups.BackupFailed as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"restored the {manifest.store} store of {manifest.created_at} "
        f"({sum(manifest.tables.values()):,} rows in {len(manifest.tables)} tables, checked) "
        f"and {len(manifest.files):,} lake files (checked) into {settings.home}"
    )
