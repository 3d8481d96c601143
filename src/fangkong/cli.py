"""The ``fangkong`` command: the Typer root; each domain adds its own group.

The root loads a group only when it is run: ``fangkong --help`` and a light command do not
import DuckDB, Ibis, PyArrow or the web app of every other domain (``COMMANDS`` is the
table the help is printed from). ``app`` is the whole tree as one Typer application, for
tests and tools that want it; ``--demo`` points any command at the store ``fangkong demo``
built (``demo/store.py``).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

HELP = "防控: a command platform for a city's epidemic prevention and control."
DEMO_HELP = "Use the store `fangkong demo` built (its database, lake, clock and edition)."

# name -> (module, attribute, one line of help); a function attribute is one command.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "db": ("fangkong.cli", "db_app", "The records store."),
    "cases": ("fangkong.cases.cli", "app", "The case registry."),
    "people": ("fangkong.people.cli", "app", "Persons and households."),
    "venues": ("fangkong.people.cli", "venues_app", "Venues (场所)."),
    "workplaces": ("fangkong.people.cli", "workplaces_app", "Workplaces and their units."),
    "stats": ("fangkong.cases.cli", "stats_app", "Daily statistics."),
    "users": ("fangkong.auth.cli", "users_app", "Users and roles."),
    "tokens": ("fangkong.auth.cli", "tokens_app", "API tokens for machines (labs, venues)."),
    "scans": ("fangkong.scans.cli", "app", "Venue scans (场所码) and the event lake."),
    "bulletin": ("fangkong.cases.cli", "bulletin", "The day's bulletin (疫情通报)."),
    "demo": ("fangkong.demo.cli", "demo", "Build the synthetic 淄博, replay March 2022, serve."),
    "trace": ("fangkong.tracing.cli", "trace", "Trace a case's contacts (流调)."),
    "contacts": ("fangkong.tracing.cli", "contacts_app", "Contacts of cases (密接)."),
    "testing": ("fangkong.testing.cli", "app", "Mass and routine nucleic-acid testing."),
    "quarantine": ("fangkong.quarantine.cli", "app", "Transfer and quarantine (转运隔离)."),
    "sites": ("fangkong.quarantine.cli", "sites_app", "Quarantine sites and rooms."),
    "monitoring": ("fangkong.monitoring.cli", "app", "Home health monitoring (居家健康监测)."),
    "zones": ("fangkong.zones.cli", "app", "Risk zones (封控区、管控区、防范区) and lifting."),
    "reopening": ("fangkong.zones.cli", "reopening_app", "The reopening decision (分区分级恢复)."),
    "backup": ("fangkong.ops.cli", "backup", "Back the store and the lake up."),
    "restore": ("fangkong.ops.cli", "restore", "Restore a backup."),
    "serve": ("fangkong.cli", "serve", "Serve the UI and API on the store as it is."),
}

db_app = typer.Typer(help="The records store.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create the store if needed and apply migrations up to REVISION."""
    from fangkong.config import get_settings
    from fangkong.storage import migrate
    from fangkong.storage.db import create_store_engine

    settings = get_settings()
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.resolved_database_url)
    migrate.upgrade(engine, revision)
    typer.echo(f"store at {engine.url.render_as_string(hide_password=True)} is at {revision}")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the UI and API on the store as it is."""
    import uvicorn

    from fangkong.config import get_settings
    from fangkong.main import create_app
    from fangkong.ops.serving import uvicorn_options

    settings = get_settings()
    try:
        settings.check_secret()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    application = create_app(settings)
    typer.echo(f"fangkong is serving on http://{host}:{port}")
    uvicorn.run(application, host=host, port=port, **uvicorn_options(settings))


def _use_demo(demo: bool) -> None:
    if demo:
        from fangkong.demo.store import use_demo_store

        use_demo_store()


def build_app(load: Iterable[str] | None = None) -> typer.Typer:
    """The root with the commands in ``load`` (all by default) imported, and every other
    one a placeholder that only says what it is, for the help."""
    loading = set(COMMANDS) if load is None else set(load)
    whole = typer.Typer(name="fangkong", help=HELP, no_args_is_help=True, add_completion=False)

    @whole.callback()
    def _root(demo: bool = typer.Option(False, "--demo", help=DEMO_HELP)) -> None:
        _use_demo(demo)

    for name, (module, attribute, text) in COMMANDS.items():
        if name not in loading:
            whole.add_typer(typer.Typer(help=text), name=name)
            continue
        found = getattr(import_module(module), attribute)
        if isinstance(found, typer.Typer):
            whole.add_typer(found, name=name)
        else:
            command: Callable[..., Any] = found
            whole.command(name)(command)
    return whole


def _command_of(args: Sequence[str]) -> str | None:
    """The command a command line runs: its first word that is not an option."""
    return next((a for a in args if not a.startswith("-")), None)


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole tree, for tests and tools
        return build_app()
    raise AttributeError(name)


def main() -> None:
    args = sys.argv[1:]
    build_app(load=[_command_of(args) or ""])(args, prog_name="fangkong")
