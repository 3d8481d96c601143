"""The city's zone feed (JSON, CSV, GeoJSON) and its schema, notices as text and Word,
reopening decisions imported and shown — each with its permission and jurisdiction — and
the reopening queries against 淄博's decision of 23 March 2022."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fangkong.people import venues as people_venues
from fangkong.people import workplaces as people_workplaces
from fangkong.people.schemas import VenueCreate, WorkplaceCreate
from fangkong.storage.db import session_factory
from fangkong.zones import reopening
from tests.quarantine import factories
from tests.quarantine.factories import CITY, DAY

POLYGON = {
    "type": "Polygon",
    "coordinates": [
        [[117.85, 36.80], [117.86, 36.80], [117.86, 36.81], [117.85, 36.81], [117.85, 36.80]]
    ],
}
AREA_KEYS = {
    "province",
    "city",
    "county",
    "area_name",
    "level",
    "level_label",
    "communities",
    "zone_code",
    "since",
}


def in_force(engine: Engine, hq: TestClient) -> dict[str, str]:
    with session_factory(engine)() as s, s.begin():
        sick = factories.resident(s, "P1")
        factories.case(s, "C1", sick, reported_on=DAY)
    made = hq.post("/api/v1/zones/propose", json={"day": DAY.isoformat()}).json()
    for z in made:
        ok = hq.post(
            f"/api/v1/zones/{z['code']}/confirm",
            json={"effective_at": "2022-03-16T10:00:00+08:00"},
        )
        assert ok.status_code == 200, ok.text
    codes = {z["level"]: z["code"] for z in made}
    drawn = hq.patch(f"/api/v1/zones/{codes['high']}", json={"reason": "边界", "geometry": POLYGON})
    assert drawn.status_code == 200, drawn.text
    return codes


def test_the_feed_in_three_shapes(engine: Engine, client_as: Callable[[str], TestClient]) -> None:
    hq = client_as("hq")
    codes = in_force(engine, hq)
    day = {"day": DAY.isoformat()}
    body = hq.get("/api/v1/zones/feed.json", params=day).json()
    assert (body["city_code"], body["day"]) == ("3703", "2022-03-16")
    areas = body["areas"]
    assert all(set(a) == AREA_KEYS for a in areas)
    assert [(a["level"], a["zone_code"]) for a in areas] == [
        ("high", codes["high"]),
        ("medium", codes["medium"]),
        ("low", codes["low"]),
    ]
    high = areas[0]
    assert (high["province"], high["city"], high["county"]) == ("山东省", "淄博市", "周村区")
    assert (high["area_name"], high["level_label"]) == ("新建路社区丝绸苑小区", "高风险区")
    assert high["communities"] == ["新建路社区"]
    assert areas[2]["communities"] == []
    table = hq.get("/api/v1/zones/feed.csv", params=day)
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert list(rows[0]) == [
        "province",
        "city",
        "county",
        "area_name",
        "level",
        "level_label",
        "communities",
        "zone_code",
        "since",
    ]
    assert [r["level"] for r in rows] == ["high", "medium", "low"]
    assert rows[1]["communities"] == "新建路社区"
    geo = hq.get("/api/v1/zones/feed.geojson", params=day)
    assert geo.headers["content-type"] == "application/geo+json"
    features = geo.json()["features"]
    assert geo.json()["type"] == "FeatureCollection"
    assert features[0]["geometry"] == POLYGON
    assert features[0]["properties"]["zone_code"] == codes["high"]
    assert [f["geometry"] for f in features[1:]] == [None, None]
    # nothing in force the day before; a district or the lab gets no city list
    assert hq.get("/api/v1/zones/feed.json", params={"day": "2022-03-15"}).json()["areas"] == []
    assert client_as("zhoucun").get("/api/v1/zones/feed.json").status_code == 403
    assert client_as("lab").get("/api/v1/zones/feed.csv").status_code == 403


def test_notices_as_text_and_word(engine: Engine, client_as: Callable[[str], TestClient]) -> None:
    hq = client_as("hq")
    codes = in_force(engine, hq)
    drawn = hq.get("/api/v1/zones/notice", params={"kind": "draw", "day": DAY.isoformat()})
    assert drawn.status_code == 200, drawn.text
    lines = drawn.json()["text"].split("\n")
    assert lines[0] == "淄博市关于划定风险区域的通告"
    assert lines[3] == (
        "一、自3月16日10时起，将新建路社区丝绸苑小区划定为高风险区。"
        "高风险区实行“足不出户、上门服务”。"
    )
    assert lines[-2:] == ["淄博市疫情防控指挥部办公室", "2022年3月16日"]
    word = hq.get("/api/v1/zones/notice.docx", params={"kind": "draw", "day": DAY.isoformat()})
    paragraphs = [p.text for p in Document(io.BytesIO(word.content)).paragraphs]
    assert paragraphs[0] == "淄博市关于划定风险区域的通告"
    assert paragraphs[-1] == "2022年3月16日"
    # day 7: the high zone's negative round lets it go to medium: an adjusting notice
    seventh = DAY + timedelta(days=7)
    hq.post(
        f"/api/v1/zones/{codes['high']}/screenings",
        json={"day": seventh.isoformat(), "round_code": "R7", "sampled": 1, "positives": 0},
    )
    run = hq.post("/api/v1/zones/lift", json={"day": seventh.isoformat()}).json()
    assert [a["code"] for a in run["applied"]] == [codes["high"]]
    adjusted = hq.get("/api/v1/zones/notice", params={"kind": "adjust", "day": seventh.isoformat()})
    assert adjusted.json()["text"].split("\n")[3] == (
        "一、自3月23日0时起，将新建路社区丝绸苑小区由高风险区调整为中风险区。"
        "中风险区实行“人不出区、错峰取物”。"
    )
    nothing = hq.get("/api/v1/zones/notice", params={"kind": "lift", "day": seventh.isoformat()})
    assert (nothing.status_code, nothing.json()["code"]) == (404, "nothing_to_notice")
    bad = hq.get("/api/v1/zones/notice", params={"kind": "erase", "day": DAY.isoformat()})
    assert bad.status_code == 422
    # another district's officer has no zone of its own to notice
    other = client_as("zhangdian").get(
        "/api/v1/zones/notice", params={"kind": "draw", "day": DAY.isoformat()}
    )
    assert other.status_code == 404


def test_reopening_import_show_and_queries(
    engine: Engine, client_as: Callable[[str], TestClient]
) -> None:
    hq = client_as("hq")
    text = reopening.builtin_text("zibo-2022-03-23")
    files = {"file": ("decision.toml", text.encode(), "application/toml")}
    assert client_as("zhoucun").post("/api/v1/zones/reopening", files=files).status_code == 403
    made = hq.post("/api/v1/zones/reopening", files=files)
    assert made.status_code == 201, made.text
    assert hq.post("/api/v1/zones/reopening", files=files).status_code == 409
    broken = {"file": ("d.toml", b'code = "X"\ncity = ', "application/toml")}
    refused = hq.post("/api/v1/zones/reopening", files=broken)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input")
    listed = client_as("hotline").get("/api/v1/zones/reopening").json()
    assert [d["code"] for d in listed] == ["3703-2022-03-23"]
    shown = hq.get("/api/v1/zones/reopening/3703-2022-03-23").json()
    assert shown["columns"][0] == ["*", "各行业"]
    regions = [r[0] for r in shown["rows"]]
    assert regions == ["全市（封控区、管控区外）", "全市（封控区、管控区内）", "周村区", "全市"]
    notice = shown["notice"].split("\n")
    assert notice[0] == "淄博市有序恢复正常生产生活秩序"
    assert notice[2] == "自3月23日0时起，淄博市逐步恢复正常生产生活秩序。现将有关事项通告如下："
    assert notice[3] == (
        "一、分区域。全市封控区、管控区以外的区域有序恢复，须落实测温、验码、戴口罩、限流。"
        "全市封控区、管控区暂不恢复：封控区、管控区继续实行分级分类管控。"
        "周村区暂不恢复：周村区（含文昌湖区）继续按照封控区、管控区、防范区要求"
        "严格实行分级分类管控。"
    )
    assert notice[4].startswith(
        "二、分行业。疫情防控、能源供应、交通物流、医疗物资、重大工程优先复工复产。"
    )
    assert notice[-2] == "淄博市委统筹疫情防控和经济运行工作领导小组（指挥部）办公室"
    assert hq.get("/api/v1/zones/reopening/none").status_code == 404
    with session_factory(engine)() as s, s.begin():
        for code, category, district in (
            ("V1", "超市", "张店区"),
            ("V2", "影剧院", "张店区"),
            ("V3", "超市", "周村区"),
        ):
            people_venues.create_venue(
                s,
                data=VenueCreate.model_validate(
                    {"venue_code": code, "name": code, "category": category, "district": district}
                ),
                scope=CITY,
            )
        for no, industry in (("W1", "energy"), ("W2", "retail")):
            people_workplaces.create_workplace(
                s,
                data=WorkplaceCreate.model_validate(
                    {"workplace_no": no, "name": no, "industry": industry, "district": "周村区"}
                ),
                scope=CITY,
            )
    at = {"at": datetime(2022, 3, 23, 1, 0, tzinfo=UTC).isoformat()}
    v1 = hq.get("/api/v1/zones/reopening/venues/V1", params=at).json()
    assert (v1["allowed"], v1["verdict"]) == (True, "conditional")
    assert v1["conditions"] == ["测温", "验码", "戴口罩", "限流"]
    v2 = hq.get("/api/v1/zones/reopening/venues/V2", params=at).json()
    assert (v2["allowed"], v2["verdict"]) == (False, "closed")
    v3 = hq.get("/api/v1/zones/reopening/venues/V3", params=at).json()
    assert (v3["allowed"], v3["verdict"]) == (False, "closed")
    w1 = hq.get("/api/v1/zones/reopening/workplaces/W1", params=at).json()
    assert (w1["allowed"], w1["verdict"]) == (True, "priority")
    w2 = hq.get("/api/v1/zones/reopening/workplaces/W2", params=at).json()
    assert (w2["allowed"], w2["verdict"]) == (False, "closed")
    before = {"at": "2022-03-22T12:00:00+08:00"}
    assert hq.get("/api/v1/zones/reopening/venues/V2", params=before).json()["allowed"]
