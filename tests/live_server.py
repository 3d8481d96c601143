"""A real uvicorn server on a free local port, in a thread of the test process.

TestClient runs each request to completion through a portal, so it cannot show what
concurrent requests do to the event loop, the thread pool and the connection pool; this
serves the app as ``fangkong serve`` does (``ops.serving.uvicorn_options``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from fangkong.ops.serving import uvicorn_options


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = uvicorn_options(app.state.settings)
    config = uvicorn.Config(app, backlog=512, timeout_graceful_shutdown=5, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        if thread.is_alive():  # a stalled event loop cannot even shut down
            raise RuntimeError("the server did not stop within 30 s")
