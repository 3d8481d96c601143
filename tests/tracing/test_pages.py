"""The tracing pages through the real app: contacts, venue exposures, notice, clusters."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fangkong.config import Settings
from fangkong.lake.layout import lake_root
from fangkong.storage.db import session_factory

from .helpers import zhoucun

Clients = Callable[[str], TestClient]


@pytest.fixture
def city(app: object, engine: Engine, settings: Settings) -> None:
    with session_factory(engine)() as s, s.begin():
        zhoucun(s, lake_root(settings.home))


def traced(client: TestClient) -> None:
    response = client.post("/cases/ZB-001/contacts/trace", follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == (
        "/cases/ZB-001/contacts?done=traced&added=6&changed=0&removed=0"
    )


def script_json(html: str, node_id: str) -> Any:
    found = re.search(rf'<script type="application/json" id="{node_id}">(.*?)</script>', html, re.S)
    assert found, f"no {node_id} on the page"
    return json.loads(found.group(1))


def test_contacts_page(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    before = cdc.get("/cases/ZB-001/contacts")
    assert before.status_code == 200
    assert "共 0 人" in before.text
    traced(cdc)
    page = cdc.get("/cases/ZB-001/contacts?done=traced&added=6&changed=0&removed=0")
    html = page.text
    assert page.status_code == 200
    assert "流调完成：新增 6 人" in html
    assert "密切接触者 <strong>4</strong> 人，次密切接触者 <strong>1</strong> 人" in html
    # every reason in words, with the rule that decided it
    assert "同住：同一户（户号 HH1）" in html
    assert "同单位同部门：单位 W1，车间" in html
    assert (
        '<a href="/venues/V1/exposures">场所共同暴露：场所V1（V1），3月8日10:30—11:00，'
        "重叠 30 分钟</a>" in html
    )
    assert "重叠 10 分钟" in html  # B, a general contact
    assert "次密接：与密切接触者 张*三（A）同住（户号 HH2）" in html
    assert 'title="national-9:tracing.min_overlap_minutes">第九版方案·时空交集判定</abbr>' in html
    assert ':tracing.identify_secondary">' in html  # the reference on hover
    # masked, never in full
    assert "张*三" in html
    assert "138****2345" in html
    assert "张小三" not in html
    assert "13853312345" not in html
    # the timeline: a table and the chart's data, in Beijing time; the park visit is there
    assert "3月8日10:00—11:00" in html
    assert "3月8日15:00—16:00" in html
    chart = script_json(html, "timeline-data")
    assert [v["start"] for v in chart["visits"]] == ["2022-03-08 10:00:00", "2022-03-08 15:00:00"]
    assert chart["window"]["start"].startswith("2022-03-04 00:00")  # 9th ed.: 4 days
    assert not any(v["inferred"] for v in chart["visits"])
    assert 'id="trace-form"' in html
    assert "开展流调" in html
    assert 'name="csrf_token"' not in html  # a token client has no web session
    # the case page links here
    assert 'href="/cases/ZB-001/contacts" id="contacts-link"' in cdc.get("/cases/ZB-001").text


def test_status_change(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    traced(cdc)
    done = cdc.post(
        "/cases/ZB-001/contacts/A/status", data={"status": "controlled"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/cases/ZB-001/contacts?done=status#contact-A"
    contacts = cdc.get("/api/v1/cases/ZB-001/contacts").json()
    assert next(c["status"] for c in contacts if c["person_no"] == "A") == "controlled"
    html = cdc.get("/cases/ZB-001/contacts").text
    row = html.split('id="contact-A"')[1].split("</tr>")[0]
    assert '<span class="badge controlled">已管控</span>' in row
    bad = cdc.post("/cases/ZB-001/contacts/A/status", data={"status": "gone"})
    assert bad.status_code == 422
    assert cdc.post("/cases/ZB-001/contacts/NOBODY/status", data={"status": "new"}).status_code == (
        404
    )
    # a re-run keeps what someone acted on
    again = cdc.post("/cases/ZB-001/contacts/trace", follow_redirects=False)
    assert "added=0" in again.headers["location"]
    contacts = cdc.get("/api/v1/cases/ZB-001/contacts").json()
    assert next(c["status"] for c in contacts if c["person_no"] == "A") == "controlled"


def test_access(client_as: Clients, anon: TestClient, city: None) -> None:
    for path in ("/cases/ZB-001/contacts", "/clusters", "/venues/V1/exposures", "/clusters/ZB-001"):
        response = anon.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login")
    zhangdian = client_as("zhangdian")
    outside = zhangdian.get("/cases/ZB-001/contacts")
    assert outside.status_code == 404
    assert "未找到病例 ZB-001" in outside.text
    assert zhangdian.get("/venues/V1/exposures").status_code == 404
    assert zhangdian.get("/venues/V1/notice").status_code == 404
    assert zhangdian.post("/cases/ZB-001/contacts/trace").status_code == 403
    cdc = client_as("cdc")
    traced(cdc)
    assert zhangdian.get("/clusters/ZB-001").status_code == 404
    assert "ZB-001" not in zhangdian.get("/clusters").text
    # the district officer of 周村区 reads, but does not trace nor change a status
    officer = client_as("zhoucun")
    page = officer.get("/cases/ZB-001/contacts")
    assert page.status_code == 200
    assert "开展流调" not in page.text
    assert 'href="/clusters"' in page.text  # the nav entry
    assert officer.post("/cases/ZB-001/contacts/trace").status_code == 403
    assert officer.post("/cases/ZB-001/contacts/A/status", data={"status": "new"}).status_code == (
        403
    )
    assert client_as("hotline").get("/clusters").status_code == 403


def test_venue_exposures_and_notice(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    traced(cdc)
    html = cdc.get("/venues/V1/exposures").text
    section = html.split('id="positive-ZB-001"')[1]
    assert "在此停留：3月8日10:00—11:00" in section
    assert "3月8日10:30—11:00" in section
    assert "3月8日10:50—11:00" in section
    assert section.count("<tr>") == 4  # header, A, B, X
    assert "张*三" in section
    assert "张小三" not in html
    assert "13853312345" not in html
    assert "密切接触者" in section
    assert "一般接触者" in section
    assert "阳性感染者 1 例，同时段在场人员 3 人次" in html
    assert "暂无已流调的阳性感染者" in cdc.get("/venues/PK/exposures").text
    assert cdc.get("/venues/NOPE/exposures").status_code == 404

    notice = cdc.get("/venues/V1/notice")
    assert notice.status_code == 200
    text = re.search(r'<p id="notice-text" class="bulletin">(.*?)</p>', notice.text, re.S)
    assert text, notice.text
    assert text.group(1).startswith("【紧急寻找】淄博市周村区新冠肺炎疫情防控指挥部")
    assert "凡于2022年3月8日10:00—11:00在淄博市周村区场所V1停留的人员" in text.group(1)
    assert 'id="prefilled"' in notice.text
    assert 'value="2022-03-08T10:00"' in notice.text
    assert 'id="copy-notice"' in notice.text

    chosen = cdc.get(
        "/venues/V1/notice",
        params=[
            ("from", "2022-03-08T09:00"),
            ("to", "2022-03-08T09:30"),
            ("from", "2022-03-09T18:00"),
            ("to", "2022-03-09T19:15"),
            ("issuer", "淄博市疾病预防控制中心"),
            ("hotline", "0533-6412345"),
        ],
    ).text
    assert "凡于2022年3月8日9:00—9:30、3月9日18:00—19:15在淄博市周村区场所V1" in chosen
    assert "淄博市疾病预防控制中心\n2022年3月23日" in chosen
    assert "周村区疫情防控热线0533-6412345" in chosen
    bad = cdc.get("/venues/V1/notice", params={"from": "2022-03-08T10:00", "to": "yesterday"})
    assert bad.status_code == 400
    assert "无法识别" in bad.text
    empty = cdc.get("/venues/PK/notice")
    assert empty.status_code == 200
    assert 'id="no-windows"' in empty.text


def test_clusters(client_as: Clients, city: None) -> None:
    cdc = client_as("cdc")
    assert 'id="no-clusters"' in cdc.get("/clusters").text
    traced(cdc)
    listing = cdc.get("/clusters").text
    assert '<a href="/clusters/ZB-001">周村区 3月8日 聚集性疫情 (ZB-001)</a>' in listing
    row = listing.split('href="/clusters/ZB-001"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells == ["2", "1", "2022-03-08", "2022-03-10", "周村区", "4"]

    html = cdc.get("/clusters/ZB-001").text
    graph = script_json(html, "graph-data")
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {"ZB-001", "ZB-002"}
    assert graph["categories"][nodes["ZB-001"]["category"]]["name"] == "确诊"
    assert graph["categories"][nodes["ZB-002"]["category"]]["name"] == "无症状"
    assert nodes["ZB-001"]["contacts"] == {"close": 4, "secondary": 1, "general": 1}
    assert nodes["ZB-001"]["symbolSize"] > nodes["ZB-002"]["symbolSize"]
    assert graph["links"] == [
        {
            "source": "ZB-001",
            "target": "ZB-002",
            "kind": "infector",
            "label": "传染源",
            "detail": "",
        }
    ]
    assert {k["kind"] for k in graph["edgeKinds"]} == {
        "infector",
        "shared_contact",
        "co_presence",
        "contact",
    }
    assert 'href="/cases/ZB-002/contacts"' in html
    assert cdc.get("/clusters/ZB-404").status_code == 404
