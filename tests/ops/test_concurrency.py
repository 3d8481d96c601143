"""Concurrent signed-in requests against a real server: nothing blocks the event loop, and
the thread pool and the connection pool cannot wait on each other.

100 requests at once — cookie sessions and API tokens, reads and case writes — must all
answer, with no client time-out reached, while ``GET /login`` keeps answering. Runs on the
suite's store (SQLite, or PostgreSQL with ``FANGKONG_TEST_DATABASE_URL``). The latencies of
``/login`` are printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from fangkong.auth.deps import sent_csrf
from fangkong.auth.models import AuditEvent, User
from fangkong.cases.models import Case, DailyCount
from fangkong.storage.db import session_factory
from tests.auth.test_routes import _walk, api_routes
from tests.conftest import PASSWORD
from tests.live_server import serving

API = "/api/v1"
CONCURRENT = 100
# Far above any honest wait here; only a stalled server reaches it (and fails the test).
TIMEOUT = 120.0

# The only coroutines a request runs besides the framework's: each awaits the request body
# and does nothing else, so none blocks the loop. Anything new must be plain ``def`` (run
# in the thread pool) or be added here with the reason.
BODY_READERS = {
    "fangkong.auth.deps.sent_csrf",
    "fangkong.testing.api.samples._body",
    "fangkong.web.forms.read_form",
    "fangkong.web.forms.read_fields",
}


def _is_async(call: Any) -> bool:
    target = call if inspect.isfunction(call) else getattr(call, "__call__", call)  # noqa: B004
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _name(call: Any) -> str:
    return f"{call.__module__}.{getattr(call, '__qualname__', type(call).__qualname__)}"


def test_no_endpoint_or_dependency_is_a_coroutine_but_the_body_readers(app: FastAPI) -> None:
    found: set[str] = set()
    for mounted in api_routes(app):
        route = mounted.route
        for call in [route.endpoint, *_walk(route.dependant)]:
            if call is not None and _is_async(call):
                found.add(_name(call))
    assert _name(sent_csrf) in found  # the walk sees dependencies of dependencies
    assert found <= BODY_READERS, sorted(found - BODY_READERS)


def _cookie_session(app: FastAPI) -> tuple[str, str]:
    """A signed-in browser session of the CDC persona: (cookie, CSRF token)."""
    with TestClient(app) as c:
        r = c.post(f"{API}/auth/login", json={"username": "cdc", "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.cookies["fk_session"], r.json()["csrf_token"]


def _case(n: int) -> dict[str, str]:
    return {
        "case_no": f"LOAD-{n:03d}",
        "district": "周村区",
        "classification": "asymptomatic",
        "reported_on": "2022-03-21",
    }


async def _load(base: str, cookie: str, csrf: str, tokens: dict[str, str]) -> dict[str, Any]:
    limits = httpx2.Limits(max_connections=CONCURRENT + 10, max_keepalive_connections=0)
    bearers = list(tokens.values())
    session = f"fk_session={cookie}"

    async def one(client: httpx2.AsyncClient, n: int) -> int:
        kind = n % 4
        if kind == 0:  # a browser reads
            r = await client.get(f"{API}/auth/me", headers={"Cookie": session})
        elif kind == 1:  # a device or system reads, every persona's token
            auth = {"Authorization": f"Bearer {bearers[n % len(bearers)]}"}
            r = await client.get(f"{API}/auth/me", headers=auth)
        elif kind == 2:  # a browser writes (cookie + CSRF)
            r = await client.post(
                f"{API}/cases",
                json=_case(n),
                headers={"Cookie": session, "X-CSRF-Token": csrf},
            )
        else:  # a system writes
            auth = {"Authorization": f"Bearer {tokens['cdc']}"}
            r = await client.post(f"{API}/cases", json=_case(n), headers=auth)
        return r.status_code

    async def probe(done: asyncio.Event) -> list[float]:
        # /login needs no session: it must answer however busy the store is.
        latencies: list[float] = []
        async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT) as c:
            while True:
                start = time.perf_counter()
                r = await c.get("/login")
                latencies.append(time.perf_counter() - start)
                assert r.status_code == 200
                if done.is_set():
                    return latencies
                await asyncio.sleep(0.05)

    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT, limits=limits) as client:
        done = asyncio.Event()
        probing = asyncio.create_task(probe(done))
        await asyncio.sleep(0)
        start = time.perf_counter()
        statuses = await asyncio.gather(*(one(client, n) for n in range(CONCURRENT)))
        elapsed = time.perf_counter() - start
        done.set()
        latencies = await probing
    return {"statuses": statuses, "elapsed": elapsed, "login": latencies}


def test_a_hundred_signed_in_requests_at_once(
    app: FastAPI, engine: Engine, users: dict[str, str], tokens: dict[str, str]
) -> None:
    cookie, csrf = _cookie_session(app)
    # The client's event loop in a thread of its own: a browser test earlier in the session
    # may leave one running in this thread.
    with serving(app) as base, ThreadPoolExecutor(1) as own:
        result = own.submit(asyncio.run, _load(base, cookie, csrf, tokens)).result()

    statuses = result["statuses"]
    reads = [s for n, s in enumerate(statuses) if n % 4 in (0, 1)]
    writes = [s for n, s in enumerate(statuses) if n % 4 in (2, 3)]
    assert reads == [200] * (CONCURRENT // 2)
    assert writes == [201] * (CONCURRENT // 2)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == CONCURRENT // 2
    login = sorted(result["login"])
    assert login, "GET /login was never answered during the load"
    print(  # the measurement, for `pytest -s` (never asserted)
        f"\n{engine.dialect.name}: {CONCURRENT} requests in {result['elapsed']:.2f} s; "
        f"GET /login answered {len(login)} times, median {login[len(login) // 2]:.3f} s, "
        f"max {login[-1]:.3f} s"
    )


WRITERS = 6
CASES_EACH = 4
IMPORTED = 120


def _csv(rows: int) -> bytes:
    lines = ["case_no,district,classification,reported_on"]
    lines += [f"IMP-{n:04d},淄川区,确诊,2022-03-2{n % 3}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_parallel_case_writers_and_an_import_all_succeed(
    app: FastAPI, engine: Engine, tokens: dict[str, str]
) -> None:
    """SQLite has one writer: each transaction takes the write lock when it begins and waits
    its turn, so none fails with "database is locked" (PostgreSQL: none deadlocks)."""
    auth = {"Authorization": f"Bearer {tokens['cdc']}"}
    start = threading.Barrier(WRITERS + 1)

    def write(w: int) -> list[int]:
        with httpx2.Client(base_url=base, headers=auth, timeout=TIMEOUT) as c:
            start.wait()
            return [
                c.post(f"{API}/cases", json=_case(100 + w * CASES_EACH + i)).status_code
                for i in range(CASES_EACH)
            ]

    def load_file() -> list[int]:
        with httpx2.Client(base_url=base, headers=auth, timeout=TIMEOUT) as c:
            start.wait()
            files = {"file": ("cases.csv", _csv(IMPORTED), "text/csv")}
            r = c.post(f"{API}/cases/import", files=files)
            assert r.status_code == 200, r.text
            return [r.json()["added"]]

    with serving(app) as base, ThreadPoolExecutor(WRITERS + 1) as pool:
        futures = [pool.submit(write, w) for w in range(WRITERS)]
        imported = pool.submit(load_file)
        written = [s for f in futures for s in f.result()]
        added = imported.result()

    assert written == [201] * (WRITERS * CASES_EACH)
    assert added == [IMPORTED]
    with session_factory(engine)() as s:
        total = s.scalar(select(func.count()).select_from(Case))
        counted = s.scalar(
            select(func.sum(DailyCount.value)).where(DailyCount.metric.like("new:%"))
        )
    assert total == WRITERS * CASES_EACH + IMPORTED
    assert counted == total  # every case counted once in the daily figures


BURST = 30


def test_a_burst_of_failed_sign_ins_is_refused_and_audited(
    app: FastAPI, engine: Engine, users: dict[str, str]
) -> None:
    """Thirty wrong passwords for one account at once: each attempt is refused (wrong
    password, locked, or throttled), none fails with a 5xx, every attempt that reached the
    password check is in the audit log, and each counts towards the lock-out."""
    start = threading.Barrier(BURST)

    def guess(n: int) -> tuple[int, str]:
        with httpx2.Client(base_url=base, timeout=TIMEOUT) as c:
            start.wait()
            body = {"username": "zhoucun", "password": f"wrong guess {n}"}
            r = c.post(f"{API}/auth/login", json=body)
            return r.status_code, r.json()["code"]

    with serving(app) as base, ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(guess, range(BURST)))

    assert {status for status, _ in answers} <= {401, 429}, answers
    # Throttled attempts never reach the password check; the others are checked.
    checked = sum(code != "rate_limited" for _, code in answers)
    assert checked >= 5  # the per-account limit lets ten through in a minute
    with session_factory(engine)() as s:
        audited = s.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.action == "login", AuditEvent.actor == "zhoucun"
            )
        ).all()
        user = s.scalars(select(User).where(User.username == "zhoucun")).one()
    assert len(audited) == checked
    assert set(audited) <= {"denied", "locked"}
    # Five failures lock the account: counted in the database, a burst cannot slip by.
    assert user.locked_until is not None
