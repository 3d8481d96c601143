"""What every CLI command needs: the store, the clock and the policy from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from fangkong.clock import Clock, clock_from_settings
from fangkong.config import Settings, get_settings
from fangkong.deps import open_store
from fangkong.errors import FangkongError
from fangkong.policy import Policy, load_policy
from fangkong.storage.db import session_scope

console = Console(stderr=True)


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
    finally:
        store.engine.dispose()


def clock() -> Clock:
    return clock_from_settings(get_settings().now)


def policy() -> Policy:
    return load_policy(get_settings().policy)


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day in the form YYYY-MM-DD") from None
