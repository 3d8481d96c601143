"""What every browser test shares: the app under uvicorn on a free port, a page that records
the errors its console and scripts report, signing in, waiting for an ECharts chart. The
session-wide ``browser`` fixture (the system Chromium through Playwright) is in conftest."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from fangkong.clock import FixedClock
from fangkong.config import Settings
from fangkong.main import create_app
from tests.conftest import SECRET

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def app_at(home: Path, now: datetime, **settings: Any) -> FastAPI:
    """The app on a fresh SQLite store in ``home``, its clock stopped at ``now``."""
    app = create_app(
        Settings(
            home=home,
            database_url=None,
            now=now,
            city="3703",
            secret_key=SECRET,
            cookie_secure=False,  # plain HTTP on 127.0.0.1
            **settings,
        )
    )
    app.state.clock = FixedClock(now)
    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, server_thread: threading.Thread) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not server_thread.is_alive():
            raise RuntimeError("the server thread stopped before it listened")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free local port until the block ends; yields its base URL. The
    app's store is disposed of afterwards."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_for_port(port, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        app.state.store.engine.dispose()


class Watched:
    """A page and the errors its console and scripts reported."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


@contextmanager
def watched_page(
    browser: Browser, base_url: str, grant: list[str] | None = None
) -> Iterator[Watched]:
    """A new browser context on ``base_url`` (Chinese locale, a desktop screen), with the
    permissions ``grant`` names (e.g. the clipboard)."""
    context = browser.new_context(
        base_url=base_url, locale="zh-CN", viewport={"width": 1440, "height": 1000}
    )
    if grant:
        context.grant_permissions(grant, origin=base_url)
    context.set_default_timeout(30_000)  # shared CI cores can be slow
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


def sign_in(p: Page, username: str, password: str) -> None:
    p.fill("input[name=username]", username)
    p.fill("input[name=password]", password)
    with p.expect_navigation():
        p.click("form[action='/login'] button[type=submit]")


def chart_ready(page: Page, element_id: str) -> None:
    """Wait until the ECharts chart in ``element_id`` has drawn its canvas."""
    page.wait_for_function(
        """(id) => {
            const el = document.getElementById(id);
            const chart = window.echarts && echarts.getInstanceByDom(el);
            return Boolean(chart && el.querySelector("canvas"));
        }""",
        arg=element_id,
    )
