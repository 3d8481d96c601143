"""The scans API: live uploads (buffered durably), file import, lake figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from fangkong.config import Settings
from fangkong.lake.layout import SCAN_STREAM, lake_root
from fangkong.scans import service

SCAN = {"person_id": "P1", "venue_code": "V01", "entered_at": "2022-03-22T08:00:00"}


def test_a_venue_device_posts_its_own_scans(
    client_as: Callable[[str], TestClient], settings: Settings, committed_registry: None
) -> None:
    device = client_as("venue")
    answer = device.post("/api/v1/scans", json=[SCAN, {**SCAN, "person_id": "P2"}])
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 2, "buffered": 2}
    lake = lake_root(settings.home)
    (buffered,) = (lake / "_buffer").glob("scans-*.jsonl")
    assert len(buffered.read_text().splitlines()) == 2

    other = device.post("/api/v1/scans", json=[SCAN, {**SCAN, "venue_code": "V02"}])
    assert other.status_code == 403
    assert other.json()["code"] == "outside_jurisdiction"
    assert service.buffered_rows(lake) == 2

    report = service.flush(lake)
    assert (report.added, report.duplicates) == (2, 0)
    assert service.buffered_rows(lake) == 0
    assert len(SCAN_STREAM.files(lake)) == 1


def test_bad_scans_are_refused_whole(
    client: TestClient, settings: Settings, committed_registry: None
) -> None:
    answer = client.post(
        "/api/v1/scans",
        json=[SCAN, {**SCAN, "person_id": "P9"}, {**SCAN, "left_at": "2022-03-22T07:00:00"}],
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "import_rejected"
    assert [(e["row"], e["column"]) for e in body["details"]["errors"]] == [
        (1, "person_id"),
        (2, "left_at"),
    ]
    assert service.buffered_rows(lake_root(settings.home)) == 0
    too_many = client.post("/api/v1/scans", json=[SCAN] * (service.MAX_BATCH + 1))
    assert too_many.status_code == 422


def test_who_may_post(anon: TestClient, client_as: Callable[[str], TestClient]) -> None:
    assert anon.post("/api/v1/scans", json=[SCAN]).status_code == 401
    refused = client_as("hotline").post("/api/v1/scans", json=[SCAN])
    assert refused.status_code == 403
    assert refused.json()["details"]["permission"] == "scans.write"
    assert client_as("zhoucun").get("/api/v1/scans/stats").status_code == 403


def test_import_and_stats(
    client: TestClient,
    client_as: Callable[[str], TestClient],
    settings: Settings,
    committed_registry: None,
    tmp_path: Path,
) -> None:
    data = b"person_id,venue_code,entered_at\nP1,V01,2022-03-22T08:00\nP2,V02,2022-03-23T08:00\n"
    files = {"file": ("s.csv", data, "text/csv")}
    first = client.post("/api/v1/scans/import", files=files)
    assert first.status_code == 200, first.text
    assert (first.json()["added"], first.json()["unchanged"]) == (2, 0)
    again = client.post("/api/v1/scans/import", files=files)
    assert (again.json()["added"], again.json()["unchanged"]) == (0, 2)

    stats = client_as("hq").get("/api/v1/scans/stats")
    assert stats.status_code == 200
    assert stats.json()["rows"] == 2
    assert [d["day"] for d in stats.json()["days"]] == ["2022-03-22", "2022-03-23"]
