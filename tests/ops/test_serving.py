"""``fangkong serve`` runs uvicorn without its banner and believes only listed proxies."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from fangkong.config import Settings
from fangkong.ops.serving import uvicorn_options
from tests.browser import _free_port, _wait_for_port


@pytest.fixture
def served(app: FastAPI, settings: Settings) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", **uvicorn_options(settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_for_port(port, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_no_server_banner_and_the_headers_on_the_wire(served: str) -> None:
    with urllib.request.urlopen(f"{served}/healthz") as response:
        headers = {k.lower(): v for k, v in response.getheaders()}
    assert "server" not in headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_forwarded_addresses_come_only_from_the_listed_proxies(settings: Settings) -> None:
    options = uvicorn_options(settings.model_copy(update={"forwarded_allow_ips": "10.0.0.5"}))
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.5"
    assert options["server_header"] is False
    assert options["access_log"] is False
