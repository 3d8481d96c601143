"""``fangkong users`` and ``fangkong tokens``."""

from __future__ import annotations

import typer
from rich.table import Table

from fangkong import cliutil
from fangkong.auth import audit, service
from fangkong.auth.permissions import ROLES
from fangkong.config import get_settings
from fangkong.flows import accounts

users_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
tokens_app = typer.Typer(
    help="API tokens for machines (labs, venue devices, systems).", no_args_is_help=True
)

ROLE_HELP = "Role: " + ", ".join(f"{c} ({r.label})" for c, r in ROLES.items())
SCOPE_HELP = "Bound to: city, district, unit, street, community, site, lab or venue."


@users_app.command("create")
def create(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., help=ROLE_HELP),
    scope_kind: str = typer.Option(..., "--scope", help=SCOPE_HELP),
    scope_code: str = typer.Option(..., "--area", help="Code or name of the area (周村区, 3703…)."),
    display_name: str = typer.Option(None, help="Name shown in the UI."),
    password: str = typer.Option(
        None, help="Password (asked for when omitted; not needed for token-only roles)."
    ),
) -> None:
    """Create a user."""
    if password is None and not ROLES.get(role, ROLES["command"]).token_only:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        user = accounts.create_user(
            session,
            username=username,
            password=password,
            role_code=role,
            scope_kind=scope_kind,
            scope_code=scope_code,
            now=now,
            display_name=display_name,
        )
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="user_create",
            now=now,
            entity_type="user",
            entity_id=username,
        )
        typer.echo(
            f"created {user.username} ({ROLES[user.role].label}, "
            f"{user.scope_kind}:{user.scope_code})"
        )


@users_app.command("list")
def list_users() -> None:
    """List users."""
    with cliutil.unit_of_work() as session:
        table = Table("username", "role", "bound to", "active", "locked until")
        for u in service.list_users(session):
            table.add_row(
                u.username,
                f"{u.role} {ROLES[u.role].label}",
                f"{u.scope_kind}:{u.scope_code}",
                "yes" if u.is_active else "no",
                u.locked_until.isoformat(timespec="minutes") if u.locked_until else "",
            )
    cliutil.console.print(table)


@users_app.command("disable")
def disable(username: str) -> None:
    """Disable a user and sign them out everywhere."""
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        service.disable_user(session, username=username)
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="user_disable",
            now=now,
            entity_type="user",
            entity_id=username,
        )
    typer.echo(f"disabled {username}")


@tokens_app.command("create")
def create_token(
    name: str = typer.Argument(..., help="What the token is for, e.g. zibo-lab-1."),
    role: str = typer.Option(..., help=ROLE_HELP),
    scope_kind: str = typer.Option(..., "--scope", help=SCOPE_HELP),
    scope_code: str = typer.Option(..., "--area", help="Area, site, lab or venue code."),
    days: int = typer.Option(90, help="Days until it expires."),
    permission: list[str] = typer.Option(
        None, "--permission", help="Limit to these permissions (repeat); default: the role's."
    ),
) -> None:
    """Create an API token; prints the secret once."""
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        raw, token = accounts.create_token(
            session,
            name=name,
            role_code=role,
            scope_kind=scope_kind,
            scope_code=scope_code,
            now=now,
            keys=service.Keys.from_settings(get_settings()),
            created_by="cli",
            days=days,
            permissions=set(permission) if permission else None,
        )
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="token_create",
            now=now,
            entity_type="token",
            entity_id=token.prefix,
        )
        expires = token.expires_at.date().isoformat()
    typer.echo(raw)
    cliutil.console.print(
        f"token {name} (prefix {token.prefix}) expires {expires}; "
        "store the secret now, it is not shown again"
    )


@tokens_app.command("revoke")
def revoke(prefix: str = typer.Argument(..., help="The token's prefix (fk_PREFIX_…).")) -> None:
    """Revoke an API token."""
    now = cliutil.clock().now()
    with cliutil.unit_of_work() as session:
        service.revoke_token(session, prefix=prefix, now=now)
        audit.record(
            session,
            principal=None,
            actor="cli",
            action="token_revoke",
            now=now,
            entity_type="token",
            entity_id=prefix,
        )
    typer.echo(f"revoked {prefix}")


@tokens_app.command("list")
def list_tokens() -> None:
    """List API tokens (never their secrets)."""
    with cliutil.unit_of_work() as session:
        table = Table("name", "prefix", "role", "bound to", "expires", "revoked", "last used")
        for t in service.list_tokens(session):
            table.add_row(
                t.name,
                t.prefix,
                t.role,
                f"{t.scope_kind}:{t.scope_code}",
                t.expires_at.date().isoformat(),
                t.revoked_at.date().isoformat() if t.revoked_at else "",
                t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "",
            )
    cliutil.console.print(table)
