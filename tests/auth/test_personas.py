"""Each persona against each endpoint family: what answers, what is refused, what is hidden.

Personas (tests/conftest.py): the HQ, the city CDC, the 张店区 and 周村区 officers, a
community worker of 周村区 丝绸路街道, a quarantine-site worker, a lab, a venue device, a
12345 operator, an administrator, and an anonymous visitor.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

ALL = ("hq", "cdc", "zhangdian", "zhoucun", "worker", "site", "lab", "venue", "hotline", "admin")

# endpoint -> personas answered with 200; every other persona gets 403, anonymous 401.
FAMILIES: dict[str, set[str]] = {
    "/api/v1/cases": {"hq", "cdc", "zhangdian", "zhoucun", "worker"},
    "/api/v1/stats/daily": {"hq", "cdc", "zhangdian", "zhoucun", "hotline", "admin"},
    "/api/v1/stats/units": {"hq", "cdc", "zhangdian", "zhoucun", "hotline", "admin"},
    "/api/v1/bulletin?day=2022-03-21": {"hq", "cdc", "hotline", "admin"},
    "/api/v1/people": {"hq", "cdc", "zhangdian", "zhoucun", "worker", "site", "hotline"},
    "/api/v1/venues": {"hq", "cdc", "zhangdian", "zhoucun", "worker", "site", "hotline"},
    "/api/v1/workplaces": {"hq", "cdc", "zhangdian", "zhoucun", "worker", "site", "hotline"},
    "/api/v1/audit": {"admin"},
    "/api/v1/users": {"admin"},
    "/api/v1/tokens": {"admin"},
    "/api/v1/auth/me": set(ALL),
    "/api/v1/regions/3703/units": set(ALL),
}


@pytest.mark.parametrize("path", list(FAMILIES))
def test_family(path: str, client_as: Callable[[str], TestClient], anon: TestClient) -> None:
    allowed = FAMILIES[path]
    got = {p: client_as(p).get(path).status_code for p in ALL}
    want = {p: 200 if p in allowed else 403 for p in ALL}
    assert got == want
    anonymous = anon.get(path).status_code
    assert anonymous == (200 if path.startswith("/api/v1/regions") else 401)


def _seed(cdc: TestClient) -> None:
    for no, district, street in (
        ("ZC-1", "周村区", "丝绸路街道"),
        ("ZC-2", "周村区", "萌水镇"),  # 文昌湖区
        ("ZD-1", "张店区", "车站街道"),
    ):
        r = cdc.post(
            "/api/v1/cases",
            json={
                "case_no": no,
                "name": "王小明",
                "id_number": "370306199001011234",
                "district": district,
                "street": street,
                "classification": "asymptomatic",
                "reported_on": "2022-03-21",
            },
        )
        assert r.status_code == 201, r.text


# persona -> cases visible (others answer 404 on their detail)
VISIBLE = {
    "hq": {"ZC-1", "ZC-2", "ZD-1"},
    "cdc": {"ZC-1", "ZC-2", "ZD-1"},
    "zhoucun": {"ZC-1", "ZC-2"},
    "zhangdian": {"ZD-1"},
    "worker": {"ZC-1"},
}


@pytest.mark.parametrize("persona", list(VISIBLE))
def test_each_sees_only_their_jurisdiction(
    persona: str, client_as: Callable[[str], TestClient]
) -> None:
    _seed(client_as("cdc"))
    c = client_as(persona)
    listed = {item["case_no"] for item in c.get("/api/v1/cases").json()["items"]}
    assert listed == VISIBLE[persona]
    for no in ("ZC-1", "ZC-2", "ZD-1"):
        r = c.get(f"/api/v1/cases/{no}")
        assert r.status_code == (200 if no in VISIBLE[persona] else 404), (persona, no)
        if r.status_code == 404:
            assert r.json()["code"] == "not_found"
            assert "王" not in r.text


def test_lists_are_masked_for_everyone(client_as: Callable[[str], TestClient]) -> None:
    _seed(client_as("cdc"))
    for persona in VISIBLE:
        text = client_as(persona).get("/api/v1/cases").text
        assert "370306199001011234" not in text
        assert "王小明" not in text
