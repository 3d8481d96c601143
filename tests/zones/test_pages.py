"""The zone pages: the map's list with levels and countdowns, a zone's page (masked
residents, a full view audited, conditions with their rules, history), the reopening
matrix, the dashboard card; jurisdiction and permission of each."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from fangkong.auth.models import AuditEvent
from fangkong.storage.db import session_factory
from fangkong.zones import reopening
from tests.quarantine import factories
from tests.quarantine.factories import DAY, NOW


def in_force(engine: Engine, hq: TestClient) -> dict[str, str]:
    with session_factory(engine)() as s, s.begin():
        sick = factories.resident(s, "P1", name="王小明")
        factories.case(s, "C1", sick, reported_on=DAY)
    made = hq.post("/api/v1/zones/propose", json={"day": DAY.isoformat()}).json()
    for z in made[:2]:  # the district's low-risk proposal stays for the HQ to decide
        hq.post(f"/api/v1/zones/{z['code']}/confirm", json={"effective_at": NOW.isoformat()})
    return {z["level"]: z["code"] for z in made}


def test_map_zone_page_and_dashboard(
    engine: Engine, client_as: Callable[[str], TestClient]
) -> None:
    hq = client_as("hq")
    codes = in_force(engine, hq)
    page = hq.get("/zones", params={"day": DAY.isoformat()})
    assert page.status_code == 200, page.text
    assert "风险区域" in page.text
    assert 'id="zones-proposed"' in page.text  # the low-risk proposal awaits the HQ
    assert f'data-zone="{codes["high"]}"' in page.text
    assert "7 天（3月23日中风险区）" in page.text
    assert "第7天区域核酸筛查全部阴性" in page.text  # what holds it back
    one = hq.get(f"/zones/{codes['high']}", params={"day": DAY.isoformat()})
    assert one.status_code == 200, one.text
    assert "王*明" in one.text
    assert "王小明" not in one.text
    assert "national-9:zones.lifting.high.quiet_days" in one.text
    assert "national-9:zones.seal_unit" in one.text
    full = hq.get(f"/zones/{codes['high']}", params={"full": "1"})
    assert "王小明" in full.text
    with session_factory(engine)() as s:
        audited = s.scalars(select(AuditEvent).where(AuditEvent.action == "read_pii")).all()
        assert [a.entity_id for a in audited] == [codes["high"]]
    # the hotline reads zones but not personal data: a full view stays masked, unaudited
    hotline = client_as("hotline").get(f"/zones/{codes['high']}", params={"full": "1"})
    assert "王*明" in hotline.text
    assert "查看完整信息" not in hotline.text
    assert client_as("zhangdian").get(f"/zones/{codes['high']}").status_code == 404
    assert codes["high"] not in client_as("zhangdian").get("/zones").text
    assert client_as("lab").get("/zones").status_code in (403, 303)
    dashboard = hq.get("/", params={"day": DAY.isoformat()})
    assert 'id="zones-card"' in dashboard.text
    assert "待确认建议" in dashboard.text


def test_reopening_matrix_page(engine: Engine, client_as: Callable[[str], TestClient]) -> None:
    hq = client_as("hq")
    assert 'id="no-decision"' in hq.get("/zones/reopening").text
    with session_factory(engine)() as s, s.begin():
        text = reopening.builtin_text("zibo-2022-03-23")
        reopening.import_decision(s, text=text, now=NOW, by="t")
    page = hq.get("/zones/reopening")
    assert page.status_code == 200
    assert "淄博市有序恢复正常生产生活秩序" in page.text
    assert "2022-03-23 00:00 起施行" in page.text
    assert "优先复工复产" in page.text
    assert "影剧院" in page.text
    assert "自3月23日0时起，淄博市逐步恢复正常生产生活秩序。" in page.text
