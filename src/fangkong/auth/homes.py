"""Where each role works from: the page a user lands on after signing in.

Pure: a role and its binding in, a local path out. The HQ and the CDC work from the city's
dashboard, a district officer from the same dashboard cut to the district; the others have
a page made for their job (the community's worklist, the site, the lab's uploads, the
hotline's look-up, the administrator's accounts)."""

from __future__ import annotations

from urllib.parse import quote

from fangkong.auth.principal import Principal

_HOMES = {
    "command": "/",
    "cdc": "/",
    "district_officer": "/",
    "community_worker": "/monitoring",
    "lab": "/lab",
    "hotline": "/people",
    "admin": "/admin/users",
}


def home_of(role: str, scope_kind: str, scope_code: str) -> str:
    if role == "site_staff" and scope_kind == "site":
        return f"/quarantine/sites/{quote(scope_code, safe='')}"
    return _HOMES.get(role, "/")


def home(principal: Principal) -> str:
    return home_of(principal.role, principal.jurisdiction.kind, principal.jurisdiction.code)
