"""Rate limits on signing in and on imports: per address, per account, per caller."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fangkong.clock import FixedClock
from fangkong.config import Settings
from fangkong.main import create_app
from tests.conftest import NOW, PASSWORD
from tests.signin import login_token

API = "/api/v1"
CSV = ("people.csv", b"person_no,name\n", "text/csv")


@pytest.fixture
def limited(settings: Settings) -> Iterator[Callable[..., FastAPI]]:
    """``limited(rate_limit_…="2/minute")``: the app with those limits."""
    made: list[FastAPI] = []

    def make(**limits: Any) -> FastAPI:
        application = create_app(settings.model_copy(update=limits))
        application.state.clock = FixedClock(NOW)
        made.append(application)
        return application

    yield make
    for application in made:
        application.state.store.engine.dispose()


def api_login(client: TestClient, username: str, password: str = "wrong password") -> Any:
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def assert_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


def test_sign_in_is_limited_per_address(limited: Callable[..., FastAPI], users: object) -> None:
    app = limited(rate_limit_sign_in_ip="3/minute")
    with TestClient(app) as client:
        for name in ("cdc", "hq", "admin"):  # three accounts: no per-account limit is hit
            assert api_login(client, name).status_code == 401
        assert_limited(api_login(client, "worker"))
        # The right password does not get past the limit either.
        assert_limited(api_login(client, "worker", PASSWORD))


def test_sign_in_is_limited_per_account(limited: Callable[..., FastAPI], users: object) -> None:
    app = limited(rate_limit_sign_in_account="2/minute", login_max_failures=50)
    with TestClient(app) as client:
        assert api_login(client, "cdc").status_code == 401
        assert api_login(client, " CDC ").status_code == 401  # the same account
        assert_limited(api_login(client, "cdc", PASSWORD))
        assert api_login(client, "hq", PASSWORD).status_code == 200


def test_the_sign_in_page_shows_the_limit(limited: Callable[..., FastAPI], users: object) -> None:
    app = limited(rate_limit_sign_in_account="1/minute")
    with TestClient(app) as client:
        token = login_token(client)
        form = {"username": "cdc", "password": "wrong", "csrf_token": token}
        assert client.post("/login", data=form).status_code == 401
        page = client.post("/login", data=form)
        assert page.status_code == 429
        assert "请求过于频繁" in page.text
        assert int(page.headers["retry-after"]) >= 1
        assert 'name="csrf_token"' in page.text  # the form again, to try later


def test_imports_are_limited_per_caller_then_per_address(
    limited: Callable[..., FastAPI], tokens: dict[str, str]
) -> None:
    app = limited(rate_limit_import_caller="2/minute", rate_limit_import_ip="3/minute")

    def upload(persona: str) -> Any:
        with TestClient(app, headers={"Authorization": f"Bearer {tokens[persona]}"}) as c:
            return c.post(f"{API}/people/import", files={"file": CSV})

    assert upload("cdc").status_code != 429
    assert upload("cdc").status_code != 429
    assert_limited(upload("cdc"))  # the caller's limit
    assert upload("zhoucun").status_code != 429  # another caller, third from the address
    assert_limited(upload("zhoucun"))  # the address's limit
    # Reading is not an import: the limits leave it alone.
    with TestClient(app, headers={"Authorization": f"Bearer {tokens['cdc']}"}) as c:
        assert c.get(f"{API}/people").status_code == 200


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_workers_share_counters_through_redis(
    limited: Callable[..., FastAPI], users: object
) -> None:
    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    shared = {"rate_limit_storage": "redis://127.0.0.1:6379/0", "login_max_failures": 50}
    first = limited(rate_limit_sign_in_account="2/minute", **shared)
    second = limited(rate_limit_sign_in_account="2/minute", **shared)
    account = f"nobody-{uuid.uuid4().hex[:12]}"  # its own counter on a shared Redis
    with TestClient(first) as a, TestClient(second) as b:
        assert api_login(a, account).status_code == 401
        assert api_login(b, account).status_code == 401
        assert_limited(api_login(a, account))
        assert_limited(api_login(b, account))
        ready = b.get("/readyz").json()
        assert ready["checks"]["rate_limit_storage"] == "ok"


def test_an_unreachable_redis_lets_requests_through_and_is_not_ready(
    limited: Callable[..., FastAPI], users: object
) -> None:
    app = limited(rate_limit_storage="redis://127.0.0.1:1/0")
    with TestClient(app) as client:
        assert api_login(client, "cdc", PASSWORD).status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["rate_limit_storage"] == "unreachable"


def test_a_bad_rate_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="not a rate"):
        Settings.model_validate({**settings.model_dump(), "rate_limit_import_ip": "lots"})
