"""Day parameters bounded to what the data can mean: a day years away is a 422 with a
stable code, not a walk through the calendar (or an overflow)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

FAR = ("0001-01-01", "1999-12-31", "9999-12-31", "2022-05-01")  # the last: today + 39 days

OUT = "day_out_of_range"


def _refused(response: object, field: str) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == OUT
    assert body["details"]["field"] == field


@pytest.mark.parametrize("day", FAR)
def test_the_bulletin_of_a_day_outside_the_data(
    client_as: Callable[[str], TestClient], day: str
) -> None:
    hotline = client_as("hotline")
    _refused(hotline.get("/api/v1/bulletin", params={"day": day}), "day")
    _refused(hotline.get("/api/v1/bulletin.docx", params={"day": day}), "day")
    _refused(hotline.get("/api/v1/stats/units", params={"day": day}), "day")
    _refused(hotline.get("/api/v1/stats/daily", params={"end": day}), "end")
    _refused(hotline.get("/api/v1/stats/daily", params={"start": day}), "start")
    _refused(hotline.get("/api/v1/bulletin", params={"since": day}), "since")


def test_a_day_inside_the_range_is_answered(client_as: Callable[[str], TestClient]) -> None:
    hotline = client_as("hotline")
    assert hotline.get("/api/v1/bulletin", params={"day": "2022-04-20"}).status_code == 200
    # a year before the first day with data is still a day the data can mean
    assert hotline.get("/api/v1/bulletin", params={"day": "2020-01-01"}).status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_quarantine_days_outside_the_data(client_as: Callable[[str], TestClient], day: str) -> None:
    hq = client_as("hq")
    _refused(hq.post("/api/v1/quarantine/plan", json={"date": day}), "date")
    _refused(hq.post("/api/v1/quarantine/release", json={"date": day}), "date")
    _refused(hq.get("/api/v1/quarantine/board", params={"date": day}), "date")
    _refused(hq.get("/api/v1/quarantine/orders", params={"date": day}), "date")
    _refused(hq.get("/api/v1/monitoring/tasks", params={"day": day}), "day")
    _refused(hq.get("/api/v1/clusters", params={"since": day}), "since")


def test_a_site_detail_spans_at_most_a_year(client_as: Callable[[str], TestClient]) -> None:
    hq = client_as("hq")
    response = hq.get(
        "/api/v1/quarantine/sites/S01", params={"first": "2020-01-01", "last": "2022-03-23"}
    )
    _refused(response, "first")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_the_zones_of_a_day_outside_the_data(
    client_as: Callable[[str], TestClient], day: str
) -> None:
    hq = client_as("hq")
    _refused(hq.get("/api/v1/zones", params={"day": day}), "day")
    _refused(hq.get("/api/v1/zones/feed.json", params={"day": day}), "day")
    _refused(hq.get("/api/v1/zones/notice", params={"kind": "draw", "day": day}), "day")
    _refused(hq.get("/api/v1/zones/status/venues", params={"codes": "V1", "day": day}), "day")
    _refused(hq.post("/api/v1/zones/propose", json={"day": day}), "day")
    _refused(hq.post("/api/v1/zones/lift", json={"day": day}), "day")
    assert hq.get("/api/v1/zones", params={"day": "2022-04-20"}).status_code == 200
