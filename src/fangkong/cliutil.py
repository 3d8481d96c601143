"""What every CLI command needs: the store, the clock and the policy from settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.clock import Clock, clock_from_settings
from fangkong.config import Settings, get_settings
from fangkong.deps import open_store
from fangkong.errors import FangkongError, ImportRejected
from fangkong.policy import Policy, load_policy
from fangkong.storage.db import session_scope
from fangkong.tabular import ImportReport

console = Console(stderr=True)
T = TypeVar("T")
Importer = Callable[..., ImportReport]


@contextmanager
def unit_of_work(settings: Settings | None = None) -> Iterator[Session]:
    """A session on the configured store (created and migrated on first use), committed
    on success; a domain error becomes a message and exit code 1."""
    settings = settings or get_settings()
    store = open_store(settings)
    try:
        with session_scope(store.sessions) as session:
            yield session
    except FangkongError as exc:
        console.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        # What the store refused (a constraint, a lost connection): said in one line,
        # never a traceback; nothing of the unit of work was kept.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        console.print(f"[red]error[/red] (database_error): {escape(reason)}")
        raise typer.Exit(1) from None
    finally:
        store.engine.dispose()


def clock() -> Clock:
    return clock_from_settings(get_settings().now)


def policy() -> Policy:
    return load_policy(get_settings().policy)


def city_scope() -> Jurisdiction:
    """What a command acts on: the whole configured city (operators run it on the server)."""
    return bind("city", get_settings().city)


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day in the form YYYY-MM-DD") from None


def print_import_rejection(exc: ImportRejected, *, lake: bool = False) -> None:
    """Print a rejected import: the counts (a lake import counts duplicates, a registry
    import updates), every error as ``row R, column C: reason``, and how many errors were
    left out of the list."""
    out = console
    rejected = exc.details["report"]["rejected"]
    counts = "added 0, duplicates 0" if lake else "added 0, updated 0, unchanged 0"
    out.print(f"{counts}, rejected {rejected}", markup=False)
    for err in exc.details["errors"]:
        column = f", column {err['column']}" if err["column"] else ""
        value = f" (value {err['value']!r})" if err.get("value") is not None else ""
        out.print(f"row {err['row']}{column}: {err['reason']}{value}", markup=False, soft_wrap=True)
    unlisted = exc.details.get("unlisted") or exc.details["report"].get("unlisted")
    if unlisted:
        out.print(f"… and {unlisted} more error(s)", markup=False)
    out.print("[red]nothing was imported[/red]")


def run_import(run: Importer, file: Path, *, kind: str | None = None) -> None:
    """Run an importer on FILE in one unit of work and print its report (or every
    rejected row, then exit 1). Both outcomes are in the audit log, by actor ``cli``;
    ``kind`` names what was imported (default: from the importer's name)."""
    kind = kind or getattr(run, "__name__", "file").removeprefix("import_")
    most = int(get_settings().upload_max_mb * (1 << 20))
    if file.stat().st_size > most:
        console.print(
            f"[red]error[/red] (too_large): {escape(file.name)} is larger than "
            f"{most >> 20} MB (FANGKONG_UPLOAD_MAX_MB); split the file"
        )
        raise typer.Exit(1)
    now = clock().now()
    rejected: ImportRejected | None = None
    with unit_of_work() as session:
        try:
            report = run(session, data=file.read_bytes(), filename=file.name, now=now)
        except ImportRejected as exc:
            # caught here, not by unit_of_work, so that every row error is printed
            rejected = exc
            session.rollback()
        else:
            audit.record_import(
                session,
                principal=None,
                actor="cli",
                kind=kind,
                filename=file.name,
                now=now,
                counts={
                    "added": report.added,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                },
            )
    if rejected is not None:
        # The rejected attempt is kept on its own: the import itself wrote nothing.
        with unit_of_work() as session:
            audit.record_import(
                session,
                principal=None,
                actor="cli",
                kind=kind,
                filename=file.name,
                now=now,
                counts={"rejected": int(rejected.details["report"]["rejected"])},
                rejected=True,
            )
        print_import_rejection(rejected)
        raise typer.Exit(1)
    typer.echo(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {report.rejected}"
    )
    if report.ignored_columns:
        typer.echo(f"ignored columns: {', '.join(report.ignored_columns)}", err=True)


def run_lake_import(
    file: Path,
    *,
    kind: str,
    run: Callable[[Session, Callable[[int], None]], T],
    counts: Callable[[T], dict[str, int]],
    rows: Callable[[T], int],
    total: int | None = None,
) -> T:
    """Run a lake import of FILE (``run(session, progress)``) in one unit of work, under a
    Rich progress bar with rows/s, and record the attempt in the audit log by actor
    ``cli``: its ``counts``, or that it was rejected, after printing every row error (then
    exit 1). ``rows`` gives the rows a finished import read, to close the bar."""
    now = clock().now()
    started = time.monotonic()
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>12} rows/s"),
        TimeElapsedColumn(),
    )
    rejected: ImportRejected | None = None
    with unit_of_work() as session, Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"reading {file.name}", total=total, rate="")

        def advance(done: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=done, rate=f"{rate:,.0f}")

        try:
            report = run(session, advance)
        except ImportRejected as exc:
            # caught here, not by unit_of_work, so that every row error is printed
            rejected = exc
            session.rollback()
        else:
            done = rows(report)
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(task, total=done, completed=done, rate=f"{rate:,.0f}")
            audit.record_import(
                session,
                principal=None,
                actor="cli",
                kind=kind,
                filename=file.name,
                now=now,
                counts=counts(report),
            )
    if rejected is not None:
        # The rejected attempt is kept on its own: the import itself wrote nothing.
        with unit_of_work() as session:
            audit.record_import(
                session,
                principal=None,
                actor="cli",
                kind=kind,
                filename=file.name,
                now=now,
                counts={"rejected": int(rejected.details["report"]["rejected"])},
                rejected=True,
            )
        print_import_rejection(rejected, lake=True)
        raise typer.Exit(1)
    return report
