"""The zones API: permissions by role, jurisdiction of every read and decision, audit."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fangkong.storage.db import session_factory
from tests.quarantine import factories
from tests.quarantine.factories import DAY


def seed(engine: Engine) -> None:
    with session_factory(engine)() as s, s.begin():
        sick = factories.resident(s, "P1")
        factories.case(s, "C1", sick, reported_on=DAY)


def test_propose_confirm_and_jurisdiction(
    engine: Engine, client_as: Callable[[str], TestClient]
) -> None:
    seed(engine)
    hq, zhangdian, zhoucun = client_as("hq"), client_as("zhangdian"), client_as("zhoucun")
    assert zhangdian.post("/api/v1/zones/propose", json={"day": DAY.isoformat()}).json() == []
    made = zhoucun.post("/api/v1/zones/propose", json={"day": DAY.isoformat()})
    assert made.status_code == 200, made.text
    codes = [z["code"] for z in made.json()]
    assert len(codes) == 3
    code = codes[0]
    # a district officer proposes but does not decide
    assert zhoucun.post(f"/api/v1/zones/{code}/confirm", json={}).status_code == 403
    assert zhangdian.get(f"/api/v1/zones/{code}").status_code == 404
    assert client_as("lab").get("/api/v1/zones").status_code == 403
    assert client_as("hotline").get(f"/api/v1/zones/{code}").status_code == 200
    ok = hq.post(
        f"/api/v1/zones/{code}/confirm", json={"effective_at": "2022-03-16T10:00:00+08:00"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "in_force"
    bad = hq.post(f"/api/v1/zones/{codes[1]}/reject", json={"reason": " "})
    assert bad.status_code == 422
    assert bad.json()["code"] == "reason_required"
    poly = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    bad = hq.patch(f"/api/v1/zones/{code}", json={"reason": "边界", "geometry": poly})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_polygon"
    countdown = hq.get(f"/api/v1/zones/{code}/countdown", params={"day": DAY.isoformat()})
    assert countdown.json()["level"] == "high"  # the default edition is the 9th
    assert countdown.json()["days_left"] == 7
    assert zhangdian.get(f"/api/v1/zones/{code}/countdown").status_code == 404
    listed = {z["code"] for z in zhangdian.get("/api/v1/zones").json()}
    assert listed == set()
    assert {z["code"] for z in zhoucun.get("/api/v1/zones").json()} == set(codes)
