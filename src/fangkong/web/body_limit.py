"""Refuse request bodies larger than the settings allow, before they are read.

A body announcing a larger ``Content-Length`` is answered 413 at once; a body sent without
one (chunked) is counted as it arrives and answered 413 as soon as it passes the limit, so
a huge upload never reaches a parser, the disk or memory. Lake imports (scans, samples,
results files, read in chunks) have their own, larger limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fangkong.errors import TooLarge

# Files read a chunk at a time into the lake: their own limit (``lake_upload_max_mb``).
LAKE_IMPORTS = ("/scans/import", "/samples/import", "/results/import")
MB = 1 << 20


class BodyLimit:
    def __init__(self, app: ASGIApp, *, upload_max_mb: float, lake_upload_max_mb: float) -> None:
        self.app = app
        self.most = int(upload_max_mb * MB)
        self.lake_most = int(lake_upload_max_mb * MB)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        most = self.lake_most if path.endswith(LAKE_IMPORTS) else self.most
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > most:
            await _refuse(send, most)
            return
        seen = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > most:
                exceeded = True
                raise TooLarge(_message(most), limit_bytes=most)
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # what the app answered to a cut body; the 413 goes instead
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except TooLarge:
            if started:
                raise
        if exceeded and not started:
            await _refuse(send, most)


def _message(most: int) -> str:
    return (
        f"the request body is larger than {most // MB} MB; split the file or ask for a higher limit"
    )


async def _refuse(send: Send, most: int) -> None:
    payload = json.dumps(
        {"code": TooLarge.code, "message": _message(most), "details": {"limit_bytes": most}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
