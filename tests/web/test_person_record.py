"""一人一档: a person's page links their case, contacts, orders, swabs and reports; masked
by default, in full and audited with ``person.pii.read``, 404 outside the caller's area."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fangkong.auth.models import ApiToken, AuditEvent
from fangkong.config import Settings
from fangkong.lake.layout import lake_root
from fangkong.monitoring import service as monitoring
from fangkong.policy import load_policy
from fangkong.storage.db import session_factory
from tests.quarantine import factories
from tests.tracing.helpers import zhoucun

Clients = Callable[[str], TestClient]
POLICY = load_policy("zibo-2022-03")


@pytest.fixture
def city(app: object, engine: Engine, settings: Settings) -> None:
    """The tracing city (case ZB-001 of C1 with its contacts in 周村区), A under home
    monitoring with a fever report, and a person in 张店区."""
    with session_factory(engine)() as s, s.begin():
        zhoucun(s, lake_root(settings.home))
    with session_factory(engine)() as s, s.begin():
        person = factories.resident(s, "A2", name="王小明", household="HH2")
        order = factories.order_row(
            s,
            person,
            start=date(2022, 3, 20),
            policy=POLICY,
            status="in_home_monitoring",
            order_no="QO-A2",
            with_tests=True,
        )
        monitoring.record_report(
            s,
            order=order,
            at=datetime(2022, 3, 22, 0, 30, tzinfo=UTC),
            temperature=37.8,
            symptoms=(),
            channel="phone",
            entered_by="worker",
            note=None,
            policy=POLICY,
            now=datetime(2022, 3, 22, 1, 0, tzinfo=UTC),
        )
        factories.resident(
            s, "Z1", district="张店区", street=None, community=None, compound=None, building=None
        )


def test_a_case_record_links_its_contacts(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    assert cdc.post("/cases/ZB-001/contacts/trace", follow_redirects=False).status_code == 303
    page = cdc.get("/people/C1")
    assert page.status_code == 200
    html = page.text
    assert "一人一档" in html
    assert '<a href="/cases/ZB-001">ZB-001</a>' in html
    assert "作为病例的接触者" in html
    assert '<a href="/people/H1">H1</a>' in html  # a household contact, linked
    assert "同住（户号 HH1）" in html
    assert "同单位同部门（单位 W1）" in html
    assert "张小三" in html  # the cdc reads personal data: the person in full…
    assert "张*三" in html  # …their contacts masked
    # the contact's record names the case they were exposed to
    contact = cdc.get("/people/A").text
    assert '<a href="/cases/ZB-001/contacts">ZB-001</a>' in contact
    assert "场所共同暴露（场所码 V1）" in contact


def test_orders_swabs_and_reports_on_the_record(client_as: Clients, city: None) -> None:
    html = client_as("cdc").get("/people/A2").text
    assert '<a href="/quarantine/orders/QO-A2">QO-A2</a>' in html
    assert "居家健康监测中" in html
    assert "待采样" in html  # the order's scheduled swabs
    assert "37.8" in html  # the report
    assert "不是登记病例" in html
    assert "未被判定为任何病例的接触者" in html


def test_in_full_and_audited_with_pii(client_as: Clients, city: None, engine: Engine) -> None:
    # the HQ reads personal data: the look is in the audit log
    hq = client_as("hq").get("/people/A2")
    assert "王小明" in hq.text
    with session_factory(engine)() as s:
        looks = s.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "person", AuditEvent.entity_id == "A2"
            )
        ).all()
    assert [e.action for e in looks] == ["read_pii"]


def test_masked_without_the_pii_permission(client_as: Clients, city: None, engine: Engine) -> None:
    # the district officer's token, without person.pii.read (a token keeps its permissions)
    with session_factory(engine)() as s, s.begin():
        token = s.scalars(select(ApiToken).where(ApiToken.name == "zhoucun-token")).one()
        token.permissions = " ".join(p for p in token.permissions.split() if p != "person.pii.read")
    html = client_as("zhoucun").get("/people/A2").text
    assert "王小明" not in html
    assert "王*明" in html
    assert "138****2345" in html
    assert "13853312345" not in html


def test_a_person_outside_the_area_is_not_found(client_as: Clients, city: None) -> None:
    assert client_as("zhoucun").get("/people/Z1").status_code == 404
    assert client_as("zhangdian").get("/people/Z1").status_code == 200
    assert client_as("zhangdian").get("/people/C1").status_code == 404
