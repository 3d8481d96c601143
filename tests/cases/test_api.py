"""HTTP API of the case registry, statistics and bulletin, through the real app."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient

API = "/api/v1"
FULL_WIDTH = str.maketrans({",": "，", ";": "；", ":": "：", "(": "（", ")": "）"})
DISTRICTS = ["张店区", "淄川区", "博山区", "临淄区", "周村区", "桓台县", "高青县", "沂源县"]


def seed(text: str) -> str:
    """A seed sentence with full-width punctuation, as in test_bulletin.py."""
    return text.translate(FULL_WIDTH)


def body(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case_no": "ZB-1",
        "district": "周村区",
        "classification": "asymptomatic",
        "reported_on": "2022-03-21",
    }
    data.update(kw)
    return data


def create(client: TestClient, **kw: Any) -> dict[str, Any]:
    response = client.post(f"{API}/cases", json=body(**kw))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    payload: dict[str, Any] = response.json()
    assert set(payload) == {"code", "message", "details"}
    assert payload["code"] == code
    assert payload["message"]
    return payload


def upload(client: TestClient, rows: list[dict[str, str]], name: str = "cases.csv") -> Any:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    files = {"file": (name, out.getvalue().encode("utf-8"), "text/csv")}
    return client.post(f"{API}/cases/import", files=files)


# ---------------------------------------------------------------- registry


def test_create_get_patch_convert_discharge(client: TestClient) -> None:
    made = create(client, found_via="quarantine_site", street="萌水镇", name="张三")
    assert made["case_no"] == "ZB-1"
    assert (made["district_code"], made["district_name"]) == ("370306", "周村区")
    assert (made["unit_code"], made["unit_name"]) == ("3703-wch", "文昌湖区")
    assert made["under_control"] is True
    assert made["classification"] == made["reported_classification"] == "asymptomatic"
    assert made["created_at"] == made["updated_at"] == "2022-03-23T12:00:00Z"
    assert made["name"] == "张*"  # a write answers masked; the detail shows it in full

    got = client.get(f"{API}/cases/ZB-1").json()
    assert got == {**made, "name": "张三"}

    patched = client.patch(f"{API}/cases/ZB-1", json={"found_via": "walk_in", "notes": "复核"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["found_via"], patched.json()["under_control"]) == ("walk_in", False)
    assert patched.json()["notes"] == "复核"
    assert patched.json()["unit_name"] == "文昌湖区"  # street kept

    converted = client.post(f"{API}/cases/ZB-1/convert", json={"on": "2022-03-22"})
    assert converted.status_code == 200, converted.text
    assert converted.json()["classification"] == "confirmed"
    assert converted.json()["reported_classification"] == "asymptomatic"
    assert converted.json()["converted_on"] == "2022-03-22"

    discharged = client.post(f"{API}/cases/ZB-1/discharge", json={"on": "2022-04-02"})
    assert discharged.status_code == 200, discharged.text
    assert discharged.json()["discharged_on"] == "2022-04-02"


def test_unknown_case_is_404_json(client: TestClient) -> None:
    error(client.get(f"{API}/cases/NOPE"), 404, "not_found")
    error(client.patch(f"{API}/cases/NOPE", json={"notes": "x"}), 404, "not_found")
    error(client.post(f"{API}/cases/NOPE/convert", json={"on": "2022-03-22"}), 404, "not_found")
    error(client.get(f"{API}/no-such-route"), 404, "not_found")


def test_duplicate_case_no_is_409(client: TestClient) -> None:
    create(client)
    payload = error(client.post(f"{API}/cases", json=body()), 409, "conflict")
    assert payload["details"] == {"case_no": "ZB-1"}


def test_double_conversion_is_409(client: TestClient) -> None:
    create(client)
    assert client.post(f"{API}/cases/ZB-1/convert", json={"on": "2022-03-22"}).status_code == 200
    error(client.post(f"{API}/cases/ZB-1/convert", json={"on": "2022-03-23"}), 409, "conflict")


def test_converting_a_confirmed_case_is_409(client: TestClient) -> None:
    create(client, classification="confirmed")
    error(client.post(f"{API}/cases/ZB-1/convert", json={"on": "2022-03-22"}), 409, "conflict")


def test_double_discharge_is_409(client: TestClient) -> None:
    create(client)
    assert client.post(f"{API}/cases/ZB-1/discharge", json={"on": "2022-03-30"}).status_code == 200
    error(client.post(f"{API}/cases/ZB-1/discharge", json={"on": "2022-03-31"}), 409, "conflict")


@pytest.mark.parametrize(
    "bad",
    [
        {"reported_on": None},
        {"reported_on": "2022-02-30"},
        {"classification": "suspected"},
        {"case_no": "has space"},
        {"unknown_field": 1},
        {"classification": "confirmed", "converted_on": "2022-03-22"},
        {"sampled_on": "2022-03-22"},
    ],
)
def test_invalid_body_is_422_validation_error(client: TestClient, bad: dict[str, Any]) -> None:
    payload = error(client.post(f"{API}/cases", json=body(**bad)), 422, "validation_error")
    assert payload["details"]["errors"]


def test_unknown_district_is_422_invalid_input(client: TestClient) -> None:
    payload = error(client.post(f"{API}/cases", json=body(district="火星区")), 422, "invalid_input")
    assert payload["details"] == {"district": "火星区"}


def test_contradictory_edit_is_422_and_changes_nothing(client: TestClient) -> None:
    create(client)
    payload = error(
        client.patch(f"{API}/cases/ZB-1", json={"converted_on": "2022-03-01"}),
        422,
        "invalid_input",
    )
    assert payload["details"]["field"] == "converted_on"
    assert client.get(f"{API}/cases/ZB-1").json()["converted_on"] is None
    error(client.post(f"{API}/cases/ZB-1/convert", json={"on": "2022-03-01"}), 422, "invalid_input")
    error(client.patch(f"{API}/cases/ZB-1", json={"reported_on": None}), 422, "invalid_input")


def test_list_filters(client: TestClient) -> None:
    create(client, case_no="A-1", district="周村区", name="王五", reported_on="2022-03-20")
    create(client, case_no="A-2", district="周村区", street="商家镇", reported_on="2022-03-21")
    create(
        client, case_no="A-3", district="张店区", street="四宝山街道", classification="confirmed"
    )
    create(client, case_no="A-4", district="张店区", street="车站街道", origin="abroad")
    create(client, case_no="B-5", district="桓台县", reported_on="2022-03-22")
    # 兰山区 is in 临沂市, outside the city CDC's jurisdiction.
    refused = client.post(f"{API}/cases", json=body(case_no="LY-1", district="兰山区"))
    error(refused, 403, "outside_jurisdiction")

    def nos(**params: Any) -> list[str]:
        response = client.get(f"{API}/cases", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return sorted(item["case_no"] for item in page["items"])

    assert nos() == ["A-1", "A-2", "A-3", "A-4", "B-5"]
    assert nos(city="3703") == ["A-1", "A-2", "A-3", "A-4", "B-5"]
    assert nos(city="临沂市") == []
    assert nos(unit="周村区") == ["A-1"]
    assert nos(unit="370306") == ["A-1"]
    assert nos(unit="文昌湖区") == ["A-2"]
    assert nos(unit="高新区") == ["A-3"]
    assert nos(unit="3703-gxq") == ["A-3"]
    assert nos(unit="张店区") == ["A-4"]
    assert nos(classification="confirmed") == ["A-3"]
    assert nos(origin="abroad") == ["A-4"]
    assert nos(reported_from="2022-03-21", reported_to="2022-03-21") == ["A-2", "A-3", "A-4"]
    assert nos(reported_to="2022-03-20") == ["A-1"]
    assert nos(q="王五") == ["A-1"]
    assert nos(q="A-") == ["A-1", "A-2", "A-3", "A-4"]
    assert nos(unit="桓台县") == ["B-5"]
    page = client.get(f"{API}/cases", params={"limit": 2}).json()
    assert (page["total"], len(page["items"])) == (5, 2)
    assert page["items"][0]["case_no"] == "B-5"  # latest report first
    error(client.get(f"{API}/cases", params={"unit": "火星区"}), 422, "invalid_input")
    error(client.get(f"{API}/cases", params={"limit": 0}), 422, "validation_error")


# ---------------------------------------------------------------- import


def test_import_good_file(client: TestClient) -> None:
    rows = [
        {"病例编号": "I-1", "区县": "周村区", "类型": "无症状", "报告日期": "2022-03-21"},
        {"病例编号": "I-2", "区县": "淄川区", "类型": "确诊", "报告日期": "2022-03-21"},
    ]
    response = upload(client, rows)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["updated"], report["unchanged"], report["rejected"]) == (
        2,
        0,
        0,
        0,
    )
    assert client.get(f"{API}/cases").json()["total"] == 2
    again = upload(client, rows).json()
    assert (again["added"], again["unchanged"]) == (0, 2)


def test_import_bad_file_is_422_with_row_errors(client: TestClient) -> None:
    rows = [
        {
            "case_no": "I-1",
            "district": "周村区",
            "classification": "x",
            "reported_on": "2022-03-21",
        },
        {"case_no": "I-2", "district": "火星区", "classification": "确诊", "reported_on": "2022"},
    ]
    payload = error(upload(client, rows), 422, "import_rejected")
    errors = payload["details"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (2, "classification"),
        (3, "reported_on"),
    ]
    assert payload["details"]["report"]["rejected"] == 2
    assert client.get(f"{API}/cases").json()["total"] == 0


def test_import_unsupported_type_is_422(client: TestClient) -> None:
    files = {"file": ("cases.pdf", b"%PDF", "application/pdf")}
    error(client.post(f"{API}/cases/import", files=files), 422, "invalid_input")


def test_openapi_has_an_example_for_case_create(client: TestClient) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    create_schema = schema["components"]["schemas"]["CaseCreate"]
    example = create_schema["examples"][0]
    assert example["case_no"] == "ZB-2022-0194"
    assert set(example) <= set(create_schema["properties"])


# ---------------------------------------------------------------- the seed days


def D(day: int) -> date:
    return date(2022, 3, day)


def bulk_rows() -> list[dict[str, str]]:
    """3/8 to 3/20: 45 confirmed and 141 asymptomatic local cases (148 with 3/21's 7),
    an imported one; 3/19 in double digits, 3/19 and 3/20 all found in quarantine."""
    rows: list[dict[str, str]] = []

    def add(day: date, classification: str, district: str, via: str, **extra: str) -> None:
        rows.append(
            {
                "case_no": f"S-{len(rows):03d}",
                "district": district,
                "street": extra.get("street", ""),
                "classification": classification,
                "origin": extra.get("origin", "local"),
                "found_via": via,
                "reported_on": day.isoformat(),
            }
        )

    for i in range(45):
        add(D(8) + timedelta(days=i % 11), "confirmed", DISTRICTS[i % 8], "community_screening")
    for i in range(123):
        add(
            D(8) + timedelta(days=i % 11), "asymptomatic", DISTRICTS[i % 8], "sealed_zone_screening"
        )
    for _ in range(12):
        add(D(19), "asymptomatic", "周村区", "quarantine_site")
    for _ in range(6):
        add(D(20), "asymptomatic", "张店区", "quarantine_site", street="四宝山街道")
    add(D(15), "asymptomatic", "张店区", "arrival_test", origin="abroad")
    return rows


def seed_days(client: TestClient) -> None:
    response = upload(client, bulk_rows())
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 187
    n = 0

    def new(day: date, district: str) -> str:
        nonlocal n
        n += 1
        create(
            client,
            case_no=f"N-{n}",
            district=district,
            found_via="quarantine_site",
            reported_on=day.isoformat(),
        )
        return f"N-{n}"

    zhoucun = [new(D(21), "周村区") for _ in range(5)]
    for _ in range(2):
        new(D(21), "淄川区")
    new(D(22), "周村区")
    new(D(22), "周村区")
    new(D(22), "桓台县")
    converted = client.post(f"{API}/cases/{zhoucun[0]}/convert", json={"on": "2022-03-22"})
    assert converted.status_code == 200, converted.text
    new(D(23), "桓台县")


def bulletin(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get(f"{API}/bulletin", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_seed_bulletins_end_to_end(client: TestClient) -> None:
    seed_days(client)
    march21 = bulletin(client, day="2022-03-21")
    assert march21["text"] == seed(
        "3月21日0时至24时，淄博市报告新增本土无症状感染者7例，其中周村区5例、淄川区2例。"
        "截至3月21日24时，淄博市本土确诊病例45例、本土无症状感染者148例。"
    )
    assert (march21["city_code"], march21["city_name"], march21["since"]) == (
        "3703",
        "淄博市",
        None,
    )
    march22 = bulletin(client, day="2022-03-22", since="2022-03-08")
    assert march22["text"] == seed(
        "3月22日0时至24时,淄博市报告新增本土无症状感染者3例,其中周村区2例、桓台县1例。"
        "淄博市报告本土无症状感染者转为确诊病例1例,在周村区。"
        "自3月8日至3月22日24时,淄博市累计报告本土确诊病例46例、本土无症状感染者150例。"
    )
    march23 = bulletin(client, since="2022-03-08")  # the clock's day
    assert march23["day"] == "2022-03-23"
    assert march23["text"] == seed(
        "3月23日0时至24时，淄博市报告新增本土无症状感染者1例，在桓台县，为集中隔离点的隔离人员。"
        "自3月8日至3月23日24时，淄博市累计报告本土确诊病例46例、本土无症状感染者151例。"
    )
    assert bulletin(client, day="2022-03-23", city="淄博")["text"].startswith(
        "3月23日0时至24时，淄博市报告新增本土无症状感染者1例"
    )

    docx = client.get(f"{API}/bulletin.docx", params={"day": "2022-03-21"})
    assert docx.status_code == 200
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="bulletin-3703-2022-03-21.docx"' in docx.headers["content-disposition"]
    paragraphs = [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    assert paragraphs == ["淄博市新冠肺炎疫情情况（3月21日）", march21["text"]]


def test_seed_daily_figures_and_stable_control(client: TestClient) -> None:
    seed_days(client)
    response = client.get(
        f"{API}/stats/daily",
        params={"start": "2022-03-19", "end": "2022-03-23", "since": "2022-03-08"},
    )
    assert response.status_code == 200, response.text
    days = {d["day"]: d for d in response.json()}
    assert [days[f"2022-03-{d}"]["new_total"] for d in (19, 20, 21, 22, 23)] == [12, 6, 7, 3, 1]
    assert days["2022-03-21"]["stable_control"] is False
    assert days["2022-03-22"]["stable_control"] is True
    assert days["2022-03-22"]["conversions"] == 1
    assert (days["2022-03-22"]["total_confirmed"], days["2022-03-22"]["total_asymptomatic"]) == (
        46,
        150,
    )
    assert days["2022-03-19"]["community_zero"] is True
    assert days["2022-03-21"]["community_cleared"] is True  # 3/19, 3/20, 3/21
    assert "national-9:community.stable_control" in days["2022-03-22"]["rules"]
    # whole series by default: from the first day with data to today
    everything = client.get(f"{API}/stats/daily").json()
    assert (everything[0]["day"], everything[-1]["day"]) == ("2022-03-08", "2022-03-23")
    assert everything[-1]["total_asymptomatic"] == 151
    # one unit
    unit = client.get(
        f"{API}/stats/daily", params={"unit": "高新区", "start": "2022-03-20", "end": "2022-03-20"}
    ).json()
    assert [(u["day"], u["new_asymptomatic"]) for u in unit] == [("2022-03-20", 6)]
    error(
        client.get(f"{API}/stats/daily", params={"start": "2022-03-23", "end": "2022-03-01"}),
        422,
        "invalid_input",
    )


def test_seed_unit_figures(client: TestClient) -> None:
    seed_days(client)
    response = client.get(f"{API}/stats/units", params={"day": "2022-03-21"})
    assert response.status_code == 200, response.text
    units = {u["unit_name"]: u for u in response.json()}
    assert len(units) == 11
    assert units["周村区"]["new_total"] == 5
    assert units["淄川区"]["new_total"] == 2
    assert units["高新区"]["new_total"] == 0
    assert sum(u["new_total"] for u in units.values()) == 7
    assert sum(u["total_confirmed"] for u in units.values()) == 45
    assert sum(u["total_asymptomatic"] for u in units.values()) == 148
    assert units["高新区"]["total_asymptomatic"] == 6


def test_days_without_cases(client: TestClient) -> None:
    text = bulletin(client, day="2022-03-21")["text"]
    assert text == (
        "3月21日0时至24时，淄博市无新增本土确诊病例和无症状感染者。"
        "截至3月21日24时，淄博市本土确诊病例0例、本土无症状感染者0例。"
    )
    daily = client.get(f"{API}/stats/daily").json()
    assert [d["day"] for d in daily] == ["2022-03-23"]
    error(client.get(f"{API}/bulletin", params={"city": "北京"}), 404, "not_found")


def test_nul_characters_are_refused_not_a_server_error(client: TestClient) -> None:
    # PostgreSQL cannot store or compare text with NUL: a 422 on both stores (web/nul_guard).
    create(client)
    error(client.get(f"{API}/cases", params={"q": "ZB\x00"}), 422, "invalid_input")
    error(client.get(f"{API}/cases.csv", params={"reason": "ab\x00"}), 422, "invalid_input")
    error(client.get(f"{API}/cases/ZB-1%00"), 422, "invalid_input")
    error(client.post(f"{API}/cases", json=body(case_no="ZB-2", name="张\x00")), 422,
          "invalid_input")  # fmt: skip
    error(client.patch(f"{API}/cases/ZB-1", json={"notes": "\x00"}), 422, "invalid_input")
    assert client.get("/cases", params={"q": "ZB\x00"}).status_code == 422
