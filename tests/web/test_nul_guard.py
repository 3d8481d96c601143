"""NUL characters are refused at the door with a clear error, not deep in PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_nul_in_query_json_and_form_is_422(client: TestClient) -> None:
    for response in (
        client.get("/api/v1/cases", params={"q": "a\x00b"}),
        client.post(
            "/api/v1/cases",
            json={
                "case_no": "A\x00",
                "district": "张店区",
                "classification": "confirmed",
                "reported_on": "2022-03-20",
            },
        ),
        client.post("/login", data={"username": "x\x00", "password": "y"}),
    ):
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_input"


def test_clean_requests_pass(client: TestClient) -> None:
    assert client.get("/api/v1/cases", params={"q": "周村"}).status_code == 200
    r = client.post(
        "/api/v1/cases",
        json={
            "case_no": "A1",
            "district": "张店区",
            "classification": "confirmed",
            "reported_on": "2022-03-20",
        },
    )
    assert r.status_code == 201
