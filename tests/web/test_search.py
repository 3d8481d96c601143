"""The one search box: exact ID number, phone, case number and venue code, name by its
beginning; masked results inside the caller's area, linked only where they may go."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fangkong.auth.models import AuditEvent
from fangkong.config import Settings
from fangkong.lake.layout import lake_root
from fangkong.people.identity import check_character
from fangkong.storage.db import session_factory
from tests.quarantine import factories
from tests.tracing.helpers import zhoucun

Clients = Callable[[str], TestClient]
FIRST17 = "37030619850315001"
ID_NUMBER = FIRST17 + check_character(FIRST17)


@pytest.fixture
def city(app: object, engine: Engine, settings: Settings) -> None:
    with session_factory(engine)() as s, s.begin():
        zhoucun(s, lake_root(settings.home))
        person = factories.resident(s, "P9", name="欧阳小明", phone="13912345678")
        person.id_number = ID_NUMBER
        factories.resident(
            s,
            "Z9",
            name="欧阳大明",
            district="张店区",
            street=None,
            community=None,
            compound=None,
            building=None,
        )


def hits(client: TestClient, q: str) -> list[dict[str, str]]:
    response = client.get("/api/v1/search", params={"q": q})
    assert response.status_code == 200, response.text
    found: list[dict[str, str]] = response.json()["hits"]
    return found


def test_exact_fields_are_normalised(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    by_id = hits(cdc, f" {ID_NUMBER[:6]} {ID_NUMBER[6:].lower()} ")
    assert [(h["kind"], h["key"]) for h in by_id] == [("person", "P9")]
    assert by_id[0]["label"] == "欧**明"
    assert ID_NUMBER not in by_id[0]["detail"]
    assert "139****5678" in by_id[0]["detail"]
    assert [h["key"] for h in hits(cdc, "+86 139-1234-5678")] == ["P9"]
    assert hits(cdc, ID_NUMBER[:10]) == []  # part of an ID number is no ID number
    case = hits(cdc, "zb-001")
    assert [(h["kind"], h["key"], h["url"]) for h in case] == [("case", "ZB-001", "/cases/ZB-001")]
    venue = hits(cdc, "V1")
    assert [(h["kind"], h["url"]) for h in venue] == [("venue", "/venues/V1/exposures")]


def test_names_match_by_their_beginning_inside_the_area(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    assert [h["key"] for h in hits(cdc, "欧阳")] == ["P9", "Z9"]
    assert hits(cdc, "小明") == []  # not a beginning
    assert [h["key"] for h in hits(client_as("zhoucun"), "欧阳")] == ["P9"]
    assert [h["key"] for h in hits(client_as("zhangdian"), "欧阳")] == ["Z9"]
    assert hits(client_as("zhangdian"), "ZB-001") == []  # a case outside the district


def test_links_only_where_the_caller_may_go(client_as: Clients, city: None) -> None:
    # the site staff reads the registry but neither cases nor tracing
    assert hits(client_as("site"), "ZB-001") == []
    # a district officer reads tracing: a venue links to its exposures
    with_tracing = hits(client_as("zhoucun"), "V1")
    assert [h["url"] for h in with_tracing] == ["/venues/V1/exposures"]
    assert client_as("lab").get("/api/v1/search", params={"q": "V1"}).status_code == 403


def test_the_page_states_the_rule_and_audits_identifier_lookups(
    client_as: Clients, city: None, engine: Engine
) -> None:
    page = client_as("cdc").get("/search", params={"q": ID_NUMBER})
    assert page.status_code == 200
    assert "姓名按开头匹配" in page.text
    assert '<a href="/people/P9">P9</a>' in page.text
    assert ID_NUMBER not in page.text.replace(f'value="{ID_NUMBER}"', "").replace(
        f"“{ID_NUMBER}”", ""
    )
    with session_factory(engine)() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "search")).all()
    assert [(e.entity_type, e.fields) for e in events] == [("person", "id_number")]
