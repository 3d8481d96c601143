"""The server keeps one engine connection per lake (its footers and registered tables stay
warm between traces) and lends it to one request at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fangkong.tracing import service


def test_one_connection_per_lake(tmp_path: Path) -> None:
    with service.shared_lake(home=tmp_path / "a", engine="duckdb") as first:
        pass
    with service.shared_lake(home=tmp_path / "a", engine="duckdb") as again:
        assert again is first
    with service.shared_lake(home=tmp_path / "b", engine="duckdb") as other:
        assert other is not first
        assert other.con is not first.con


def test_requests_take_turns(tmp_path: Path) -> None:
    order: list[str] = []
    entered = threading.Event()

    def second() -> None:
        with service.shared_lake(home=tmp_path, engine="duckdb"):
            order.append("second")

    with service.shared_lake(home=tmp_path, engine="duckdb"):
        order.append("first in")
        thread = threading.Thread(target=lambda: (entered.set(), second()))
        thread.start()
        entered.wait()
        time.sleep(0.05)  # the second request is waiting for the connection meanwhile
        order.append("first out")
    thread.join(timeout=5)
    assert order == ["first in", "first out", "second"]
