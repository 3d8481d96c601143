"""Odd input is a 4xx with a stable code, never a 5xx: one case each, through the API."""

from __future__ import annotations

import codecs
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.monitoring.test_api import API as MONITORING
from tests.monitoring.test_api import issue_link, town, wired  # noqa: F401
from tests.testing.test_api import ROUND
from tests.testing.test_api import town as testing_town  # noqa: F401

Clients = Callable[[str], TestClient]
HUGE = 2**63


def _clear(response: object, status: int = 422) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert isinstance(body.get("code"), str)
    return body  # type: ignore[no-any-return]


@pytest.mark.usefixtures("town")
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_temperature_that_is_not_a_number(
    client_as: Clients,
    anon: TestClient,
    number: str,
) -> None:
    worker = client_as("worker")
    body = '{"temperature": ' + number + "}"
    headers = {"content-type": "application/json"}
    url = f"{MONITORING}/orders/QO-1/reports"
    _clear(worker.post(url, content=body, headers=headers))
    token = issue_link(worker)
    _clear(anon.post(f"{MONITORING}/self/{token}/reports", content=body, headers=headers))


@pytest.mark.parametrize(
    "path", ["/api/v1/people", "/api/v1/venues", "/api/v1/workplaces", "/api/v1/cases"]
)
def test_an_offset_beyond_64_bits(client_as: Clients, path: str) -> None:
    _clear(client_as("cdc").get(path, params={"offset": HUGE}))
    _clear(client_as("cdc").get(path, params={"limit": HUGE}))


def test_a_capacity_beyond_64_bits(client_as: Clients) -> None:
    venue = {
        "venue_code": "V9",
        "name": "超市",
        "category": "supermarket",
        "district": "周村区",
        "capacity": HUGE,
    }
    _clear(client_as("cdc").post("/api/v1/venues", json=venue))


@pytest.mark.parametrize(
    "path", ["/api/v1/people", "/api/v1/venues", "/api/v1/workplaces", "/api/v1/cases"]
)
def test_a_search_of_100000_characters(
    client_as: Clients, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx2._urlparse

    # the test client refuses URLs over 64 KiB; a raw request does not
    monkeypatch.setattr(httpx2._urlparse, "MAX_URL_LENGTH", 1 << 20)
    _clear(client_as("cdc").get(path, params={"q": "a" * 100_000}))


def test_a_workplace_with_an_empty_district(client_as: Clients) -> None:
    workplace = {"workplace_no": "W9", "name": "厂", "district": ""}
    _clear(client_as("cdc").post("/api/v1/workplaces", json=workplace))


def _upload(client: TestClient, path: str, data: bytes) -> object:
    return client.post(path, files={"file": ("file.csv", data, "text/csv")})


CASES_CSV = "case_no,district,classification,reported_on\nZB-1,周村区,无症状,2022-03-21\n"


@pytest.mark.parametrize("path", ["/api/v1/cases/import", "/api/v1/people/import"])
def test_a_utf16_csv(client_as: Clients, path: str) -> None:
    data = codecs.BOM_UTF16_LE + CASES_CSV.encode("utf-16-le")
    body = _clear(_upload(client_as("cdc"), path, data))
    assert "UTF-16" in str(body["message"])


@pytest.mark.parametrize("path", ["/api/v1/cases/import", "/api/v1/people/import"])
def test_bytes_that_are_neither_utf8_nor_gb18030(client_as: Clients, path: str) -> None:
    data = CASES_CSV.encode("gb18030") + b"ZB-2,\x81\x20,x,2022-03-21\n"
    body = _clear(_upload(client_as("cdc"), path, data))
    assert "line 3" in str(body["message"])


def test_a_fhir_bundle_nested_50000_deep(
    client_as: Clients,
    testing_town: None,  # noqa: F811
) -> None:
    hq = client_as("hq")
    assert hq.post("/api/v1/testing/rounds", json=ROUND).status_code == 201
    deep = '{"resourceType": "Bundle", "type": "collection", "entry": [' + "[" * 50_000
    deep += "]" * 50_000 + "]}"
    response = client_as("lab").post(
        "/api/v1/testing/rounds/ZC-R1/results",
        content=deep,
        headers={"content-type": "application/fhir+json"},
    )
    _clear(response)


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+08:00"]
)
def test_a_scan_dated_year_1(client_as: Clients, engine: Engine, moment: str) -> None:
    from fangkong.auth.jurisdiction import bind
    from fangkong.people import venues
    from fangkong.people.schemas import VenueCreate
    from fangkong.storage.db import session_factory

    with session_factory(engine)() as s, s.begin():
        venues.create_venue(
            s,
            data=VenueCreate(
                venue_code="V01", name="超市", category="supermarket", district="周村区"
            ),
            scope=bind("city", "3703"),
        )
    scan = {"person_id": "P1", "venue_code": "V01", "entered_at": moment}
    response = client_as("venue").post("/api/v1/scans", json=[scan])
    assert response.status_code < 500, response.text
    _clear(response)
