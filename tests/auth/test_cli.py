"""``fangkong users`` and ``fangkong tokens`` on a store in a temporary home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.auth.models import AuditEvent
from fangkong.cli import app
from fangkong.config import get_settings
from fangkong.deps import open_store


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FANGKONG_HOME", str(tmp_path))
    monkeypatch.setenv("FANGKONG_NOW", "2022-03-23T20:00+08:00")
    monkeypatch.setenv("FANGKONG_SECRET_KEY", "cli-test-secret-key-0123")
    monkeypatch.delenv("FANGKONG_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_users_create_list_disable(home: Path) -> None:
    code, out = run(
        "users",
        "create",
        "zc_officer",
        "--role",
        "district_officer",
        "--scope",
        "district",
        "--area",
        "周村区",
        "--password",
        "long enough pw 1",
    )
    assert code == 0, out
    assert "created zc_officer" in out
    assert "district:370306" in out
    code, out = run("users", "list")
    assert code == 0
    assert "zc_officer" in out
    code, out = run(
        "users",
        "create",
        "zc_officer",
        "--role",
        "district_officer",
        "--scope",
        "district",
        "--area",
        "周村区",
        "--password",
        "long enough pw 1",
    )
    assert code == 1
    assert "already exists" in out
    code, out = run(
        "users",
        "create",
        "bad",
        "--role",
        "district_officer",
        "--scope",
        "city",
        "--area",
        "3703",
        "--password",
        "long enough pw 1",
    )
    assert code == 1
    assert "bound to one of" in out
    assert run("users", "disable", "zc_officer")[0] == 0


def test_tokens_create_prints_the_secret_once_and_revoke(home: Path) -> None:
    code, out = run("tokens", "create", "lab-1", "--role", "lab", "--scope", "lab", "--area", "L01")
    assert code == 1
    assert "no lab L01" in out  # a lab is registered before an account is bound to it
    code, out = run("testing", "lab", "add", "L01", "市疾控检测实验室")
    assert code == 0, out
    assert "L01" in run("testing", "lab", "list")[1]
    code, out = run(
        "tokens",
        "create",
        "lab-1",
        "--role",
        "lab",
        "--scope",
        "lab",
        "--area",
        "L01",
        "--days",
        "30",
    )
    assert code == 0, out
    secret = out.splitlines()[0]
    assert secret.startswith("fk_")
    prefix = secret.split("_")[1]
    code, out = run("tokens", "list")
    assert prefix in out
    assert secret not in out
    assert run("tokens", "revoke", prefix)[0] == 0
    assert run("tokens", "revoke", "nope")[0] == 1
    store = open_store(get_settings())
    with store.sessions() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cli")).all()
    store.engine.dispose()
    assert actions == ["token_create", "token_revoke"]


def test_serve_refuses_the_placeholder_secret(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FANGKONG_SECRET_KEY")
    get_settings.cache_clear()
    code, out = run("serve", "--port", "1")
    assert code == 1
    assert "FANGKONG_SECRET_KEY is the placeholder" in out
