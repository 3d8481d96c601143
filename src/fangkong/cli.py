"""The ``fangkong`` command: the Typer root; each domain adds its own group."""

from __future__ import annotations

import typer

from fangkong.auth import cli as auth_cli
from fangkong.cases import cli as cases_cli
from fangkong.config import get_settings
from fangkong.demo import cli as demo_cli
from fangkong.monitoring import cli as monitoring_cli
from fangkong.ops import cli as ops_cli
from fangkong.ops.serving import uvicorn_options
from fangkong.people import cli as people_cli
from fangkong.quarantine import cli as quarantine_cli
from fangkong.scans import cli as scans_cli
from fangkong.storage import migrate
from fangkong.storage.db import create_store_engine
from fangkong.testing import cli as testing_cli
from fangkong.tracing import cli as tracing_cli
from fangkong.zones import cli as zones_cli

app = typer.Typer(
    name="fangkong",
    help="防控: a command platform for a city's epidemic prevention and control.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The records store.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cases_cli.app, name="cases")
app.add_typer(people_cli.app, name="people")
app.add_typer(people_cli.venues_app, name="venues")
app.add_typer(people_cli.workplaces_app, name="workplaces")
app.add_typer(cases_cli.stats_app, name="stats")
app.add_typer(auth_cli.users_app, name="users")
app.add_typer(auth_cli.tokens_app, name="tokens")
app.add_typer(scans_cli.app, name="scans")
app.command("bulletin")(cases_cli.bulletin)
app.command("demo")(demo_cli.demo)
app.command("trace")(tracing_cli.trace)
app.add_typer(tracing_cli.contacts_app, name="contacts")
app.add_typer(testing_cli.app, name="testing")
app.add_typer(quarantine_cli.app, name="quarantine")
app.add_typer(quarantine_cli.sites_app, name="sites")
app.add_typer(monitoring_cli.app, name="monitoring")
app.add_typer(zones_cli.app, name="zones")
app.add_typer(zones_cli.reopening_app, name="reopening")
app.command("backup")(ops_cli.backup)
app.command("restore")(ops_cli.restore)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create the store if needed and apply migrations up to REVISION."""
    settings = get_settings()
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.resolved_database_url)
    migrate.upgrade(engine, revision)
    typer.echo(f"store at {engine.url.render_as_string(hide_password=True)} is at {revision}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the UI and API on the store as it is."""
    import uvicorn

    from fangkong.main import create_app

    settings = get_settings()
    try:
        settings.check_secret()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    application = create_app(settings)
    typer.echo(f"fangkong is serving on http://{host}:{port}")
    uvicorn.run(application, host=host, port=port, **uvicorn_options(settings))


def main() -> None:
    app()
