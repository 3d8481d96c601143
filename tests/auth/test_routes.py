"""Every route declares what it needs, and refuses callers without it.

Walks the application's routes: a route declaring neither ``Require`` nor ``Public`` fails;
an anonymous call to a protected route must be refused (401, or a redirect to /login for
pages); a caller holding every permission of the role but the declared one must get 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fangkong.auth import service as auth
from fangkong.auth.deps import Public, Require, SignedIn
from fangkong.auth.permissions import ROLES
from fangkong.config import Settings
from fangkong.storage.db import session_factory
from tests.conftest import NOW


def _walk(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _walk(sub)


@dataclass(frozen=True)
class Mounted:
    """A route as the application serves it: its full path and the route itself."""

    path: str
    route: APIRoute

    @property
    def methods(self) -> set[str]:
        return set(self.route.methods)

    @property
    def include_in_schema(self) -> bool:
        return self.route.include_in_schema


def guards(route: Mounted) -> list[Any]:
    found = _walk(route.route.dependant)
    return [c for c in found if isinstance(c, Require | Public | SignedIn)]


def api_routes(app: FastAPI) -> list[Mounted]:
    # FastAPI keeps included routers as nodes of their own; their effective route
    # contexts carry the full path of each route.
    mounted: list[Mounted] = []
    for node in app.routes:
        if isinstance(node, APIRoute):
            mounted.append(Mounted(node.path, node))
        for ctx in getattr(node, "effective_route_contexts", list)():
            if isinstance(ctx.original_route, APIRoute):
                mounted.append(Mounted(ctx.path, ctx.original_route))
    return mounted


def sample_path(route: Mounted) -> str:
    return re.sub(r"\{[^}]+\}", "x1", route.path)


def test_every_route_declares_its_guard(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) > 40
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes if not guards(r)]
    assert not missing, f"routes without Require/Public/SignedIn: {missing}"


def test_only_sign_in_and_reference_data_are_public(app: FastAPI) -> None:
    public = sorted(
        r.path for r in api_routes(app) if any(isinstance(g, Public) for g in guards(r))
    )
    # The self-report link is its own credential (a person under home monitoring has no
    # account): those routes are public by design and check the token themselves.
    # The probes and the API reference say nothing of the data (tests/ops, tests/web).
    allowed = re.compile(
        r"^(/login|/api/v1/auth/login|/api/v1/regions/.*"
        r"|/api/v1/monitoring/self/\{token\}(/reports)?|/m/\{token\}"
        r"|/healthz|/readyz|/api/v1/docs)$"
    )
    assert public
    assert all(allowed.match(p) for p in public), public


def test_anonymous_callers_are_refused(app: FastAPI, anon: TestClient) -> None:
    for route in api_routes(app):
        if any(isinstance(g, Public) for g in guards(route)):
            continue
        for method in route.methods - {"HEAD"}:
            r = anon.request(method, sample_path(route), follow_redirects=False)
            where = f"{method} {route.path}"
            if route.include_in_schema:
                assert r.status_code == 401, where
                assert r.json()["code"] == "unauthenticated", where
            else:
                assert r.status_code == 303, where
                assert r.headers["location"].startswith("/login"), where


def _token_without(engine: Engine, settings: Settings, permission: str) -> str:
    """A city-wide token of a role that has ``permission``, holding all its other ones."""
    role = next(r for r in ROLES.values() if permission in r.permissions and "city" in r.scopes)
    with session_factory(engine)() as s, s.begin():
        raw, _ = auth.create_token(
            s,
            name=f"without-{permission}",
            role_code=role.code,
            scope_kind="city",
            scope_code="3703",
            now=NOW,
            keys=auth.Keys.from_settings(settings),
            created_by="tests",
            permissions=set(role.permissions) - {permission},
        )
    return raw


def test_a_missing_permission_is_403(
    app: FastAPI,
    engine: Engine,
    settings: Settings,
    client_as: Callable[[str], TestClient],
) -> None:
    tokens: dict[str, str] = {}
    checked = 0
    with TestClient(app) as c:
        for route in api_routes(app):
            required = [g.permission for g in guards(route) if isinstance(g, Require)]
            for permission in required:
                if permission not in tokens:
                    tokens[permission] = _token_without(engine, settings, permission)
                headers = {"Authorization": f"Bearer {tokens[permission]}"}
                for method in route.methods - {"HEAD"}:
                    r = c.request(
                        method, sample_path(route), headers=headers, follow_redirects=False
                    )
                    assert r.status_code == 403, f"{method} {route.path} without {permission}"
                    if route.include_in_schema:
                        assert r.json()["code"] == "forbidden"
                    else:  # a page refuses as a page
                        assert "代码：forbidden" in r.text, route.path
                    checked += 1
    assert checked > 20


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_api_documentation_is_public(anon: TestClient, path: str) -> None:
    assert anon.get(path).status_code == 200
