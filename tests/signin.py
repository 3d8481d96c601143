"""Signing in through the ``/login`` form as a browser does: the form first (it sets the
pre-session CSRF cookie and carries the token), then the post."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx2 import Response


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the sign-in form carries no CSRF token"
    return found.group(1)


def form_login(client: TestClient, username: str, password: str, next: str = "/") -> Response:
    data = {"username": username, "password": password, "next": next}
    data["csrf_token"] = login_token(client)
    return client.post("/login", data=data, follow_redirects=False)
