"""The HTML pages without a browser: they render, forms write, bad input writes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

# The clock of the ``client`` fixture is 2022-03-23 20:00 in Shanghai.
CASES: list[dict[str, Any]] = [
    {
        "case_no": "ZB-0001",
        "district": "周村区",
        "classification": "asymptomatic",
        "found_via": "quarantine_site",
        "reported_on": "2022-03-20",
        "id_number": "370306199001011234",
        "name": "张三",
    },
    {
        "case_no": "ZB-0002",
        "district": "淄川区",
        "classification": "confirmed",
        "found_via": "community_screening",
        "reported_on": "2022-03-21",
    },
    {
        "case_no": "ZB-0003",
        "district": "周村区",
        "street": "萌水镇",
        "classification": "asymptomatic",
        "found_via": "quarantine_site",
        "reported_on": "2022-03-21",
    },
]

NEW_CASE = {
    "case_no": "ZB-0100",
    "name": "李四",
    "district": "370302",
    "classification": "asymptomatic",
    "origin": "local",
    "found_via": "home_isolation",
    "sampled_on": "2022-03-21",
    "reported_on": "2022-03-22",
    "new_person": "1",  # no registry person: the form creates one
}


def seed(client: TestClient) -> None:
    for case in CASES:
        response = client.post("/api/v1/cases", json=case)
        assert response.status_code == 201, response.text


def bulletin_of(html: str) -> str:
    found = re.search(r'<p id="bulletin-text" class="bulletin">(.*?)</p>', html, re.S)
    assert found, "no bulletin on the page"
    return found.group(1)


def api_bulletin(client: TestClient, day: str, since: str | None = None) -> str:
    params = {"day": day, **({"since": since} if since else {})}
    text: str = client.get("/api/v1/bulletin", params=params).json()["text"]
    return text


def tile(html: str, label: str) -> int:
    found = re.search(rf'data-label="{label}">.*?<div class="tile-value">(\d+)</div>', html, re.S)
    assert found, f"no tile {label}"
    return int(found.group(1))


def case_total(client: TestClient) -> int:
    total: int = client.get("/api/v1/cases").json()["total"]
    return total


# ---------------------------------------------------------------- dashboard


def test_dashboard_with_no_data_says_so(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "暂无病例数据" in html
    assert 'value="2022-03-23"' in html  # today, from the clock
    assert bulletin_of(html) == api_bulletin(client, "2022-03-23")
    assert "无新增本土确诊病例和无症状感染者" in bulletin_of(html)
    assert tile(html, "新增本土确诊") == 0


def test_dashboard_defaults_to_the_last_day_with_data(client: TestClient) -> None:
    seed(client)
    html = client.get("/").text
    assert "暂无病例数据" not in html
    assert 'id="day-input" value="2022-03-21"' in html
    # Cumulative figures count from the first day with data.
    assert 'id="since-input" value="2022-03-20"' in html
    assert bulletin_of(html) == (
        "3月21日0时至24时，淄博市报告新增本土确诊病例1例、本土无症状感染者1例，"
        "其中淄川区1例、文昌湖区1例。"
        "自3月20日至3月21日24时，淄博市累计报告本土确诊病例1例、本土无症状感染者2例。"
    )
    assert tile(html, "新增本土确诊") == 1
    assert tile(html, "社会面发现") == 1
    assert tile(html, "累计无症状") == 2
    # Function zones have rows of their own in the unit table.
    for name in ("文昌湖区", "高新区", "淄博经开区"):
        assert name in html
    assert "national-9:community.zero_streak_days" in html
    assert "社会面连续0天零新增" in html


def test_dashboard_shows_the_day_asked_for(client: TestClient) -> None:
    seed(client)
    html = client.get("/", params={"day": "2022-03-20"}).text
    assert bulletin_of(html) == api_bulletin(client, "2022-03-20", since="2022-03-20")
    assert "报告新增本土无症状感染者1例，在周村区，为集中隔离点的隔离人员" in html
    assert "社会面连续1天零新增" in html
    assert "/api/v1/bulletin.docx?day=2022-03-20&amp;since=2022-03-20" in html


def test_dashboard_since_changes_the_cumulative_sentence(client: TestClient) -> None:
    seed(client)
    html = client.get("/", params={"day": "2022-03-21", "since": "2022-03-21"}).text
    assert "自3月21日至3月21日24时，淄博市累计报告本土确诊病例1例、本土无症状感染者1例。" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"day": "yesterday"}, "无法识别"),
        ({"day": "2022-13-01"}, "无法识别"),
        ({"day": "9999-12-31"}, "超出范围"),
        ({"day": "1900-01-01"}, "超出范围"),
        ({"day": "2022-03-21", "since": "2022-03-22"}, "累计起始日"),
        ({"since": "nope"}, "无法识别"),
    ],
)
def test_dashboard_bad_day_gets_a_friendly_message(
    client: TestClient, query: dict[str, str], message: str
) -> None:
    seed(client)
    response = client.get("/", params=query)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text
    # The page still shows the default day underneath.
    assert 'id="day-input" value="2022-03-21"' in response.text


def test_static_assets_are_served(client: TestClient) -> None:
    for path in (
        "/static/vendor/echarts.min.js",
        "/static/vendor/htmx.min.js",
        "/static/js/dashboard.js",
        "/static/js/case_form.js",
        "/static/css/app.css",
        "/static/img/favicon.svg",
    ):
        assert client.get(path).status_code == 200, path


# ---------------------------------------------------------------- case list


def test_case_list_masks_id_numbers_and_filters(client: TestClient) -> None:
    seed(client)
    html = client.get("/cases").text
    assert "共 3 例" in html
    assert "370306********1234" in html
    assert "370306199001011234" not in html
    assert "张*" in html
    assert "张三" not in html
    html = client.get("/cases", params={"unit": "3703-wch"}).text
    assert "ZB-0003" in html
    assert "ZB-0001" not in html
    html = client.get("/cases", params={"classification": "confirmed"}).text
    assert "ZB-0002" in html
    assert "ZB-0003" not in html
    html = client.get("/cases", params={"found_via": "community_screening", "q": "0002"}).text
    assert "共 1 例" in html
    html = client.get("/cases", params={"reported_from": "2022-03-21"}).text
    assert "ZB-0001" not in html
    assert "ZB-0002" in html


def test_case_list_pages_and_htmx_partial(client: TestClient) -> None:
    for n in range(23):
        case = {
            "case_no": f"P-{n:03d}",
            "district": "张店区",
            "classification": "asymptomatic",
            "reported_on": "2022-03-21",
        }
        assert client.post("/api/v1/cases", json=case).status_code == 201
    first = client.get("/cases").text
    assert "第 1 / 2 页" in first
    assert "P-000" in first
    assert "P-022" not in first
    partial = client.get("/cases", params={"page": "2"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.text
    assert "P-022" in partial.text
    assert "第 2 / 2 页" in partial.text
    assert partial.headers["vary"] == "HX-Request"


def test_case_list_tolerates_bad_filters(client: TestClient) -> None:
    seed(client)
    response = client.get("/cases", params={"reported_from": "bad", "unit": "nowhere", "page": "x"})
    assert response.status_code == 200
    assert "无法识别" in response.text
    assert "共 3 例" in response.text


# ---------------------------------------------------------------- register


def test_new_case_form_renders(client: TestClient) -> None:
    html = client.get("/cases/new").text
    assert 'name="case_no"' in html
    assert "社会面筛查" in html  # found_via options carry Chinese labels
    assert "萌水镇" in html  # streets decide function zones
    assert 'value="2022-03-23"' in html  # reported_on defaults to today


def test_form_post_creates_a_case(client: TestClient) -> None:
    response = client.post("/cases/new", data=NEW_CASE, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/cases/ZB-0100?done=created"
    created = client.get("/api/v1/cases/ZB-0100").json()
    assert created["district_name"] == "淄川区"
    assert created["found_via"] == "home_isolation"
    assert created["sampled_on"] == "2022-03-21"
    page = client.get(response.headers["location"]).text
    assert "病例已登记" in page


def test_form_post_with_a_street_reports_under_the_function_zone(client: TestClient) -> None:
    data = {**NEW_CASE, "district": "370306", "street": "370306103"}
    assert client.post("/cases/new", data=data, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/cases/ZB-0100").json()["unit_name"] == "文昌湖区"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"case_no": "bad no!"}, "case_no", "只能包含"),
        ({"case_no": ""}, "case_no", "必填"),
        ({"reported_on": ""}, "reported_on", "必填"),
        ({"reported_on": "22.3.2022"}, "reported_on", "日期格式"),
        ({"classification": "sick"}, "classification", "请从列表中选择"),
        ({"sampled_on": "2022-03-23"}, "sampled_on", "采样日期晚于报告日期"),
        ({"district": ""}, "district", "请选择区县"),
        ({"district": "370306", "street": "370302102"}, "street", "不在所选区县"),
        ({"infector_case_no": "ZB-9999"}, "infector_case_no", "未找到病例 ZB-9999"),
    ],
)
def test_bad_form_shows_the_error_and_creates_nothing(
    client: TestClient, change: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/cases/new", data={**NEW_CASE, **change}, follow_redirects=False)
    assert response.status_code == 422
    html = response.text
    assert 'id="form-errors"' in html
    found = re.search(rf'data-error-for="{field}">([^<]*)<', html)
    assert found, html
    assert message in found.group(1)
    assert case_total(client) == 0
    # What was typed is still there.
    assert f'value="{NEW_CASE["sampled_on"]}"' in html or "sampled_on" in change


def test_duplicate_case_number_is_refused(client: TestClient) -> None:
    seed(client)
    response = client.post("/cases/new", data={**NEW_CASE, "case_no": "ZB-0001"})
    assert response.status_code == 422
    assert "病例编号 ZB-0001 已存在" in response.text
    assert case_total(client) == 3


# ---------------------------------------------------------------- one case


def test_case_page_renders_and_unknown_is_404(client: TestClient) -> None:
    seed(client)
    html = client.get("/cases/ZB-0001").text
    assert "病例 ZB-0001" in html
    # In full for the city CDC (person.pii.read); tests/cases/test_access.py has the rest.
    assert "370306199001011234" in html
    assert "张三" in html
    assert 'id="convert-form"' in html
    assert 'id="discharge-form"' in html
    assert 'id="convert-form"' not in client.get("/cases/ZB-0002").text  # confirmed at report
    missing = client.get("/cases/NOPE")
    assert missing.status_code == 404
    assert "未找到病例 NOPE" in missing.text


def edit_form(client: TestClient, case_no: str) -> dict[str, str]:
    """The edit form's fields as the page fills them in."""
    html = client.get(f"/cases/{case_no}").text
    form = html[html.index('id="edit-form"') :]
    values = dict(re.findall(r'<input type="\w+" name="(\w+)" id="[^"]*" value="([^"]*)"', form))
    for name, options in re.findall(r'<select name="(\w+)".*?>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        values[name] = chosen.group(1) if chosen else ""
    notes = re.search(r'<textarea name="notes"[^>]*>(.*?)</textarea>', form, re.S)
    values["notes"] = notes.group(1) if notes else ""
    return values


def test_edit_changes_only_what_was_changed(client: TestClient) -> None:
    seed(client)
    form = edit_form(client, "ZB-0001")
    assert form["district"] == "370306"
    assert form["id_number"] == ""  # never echoed back
    response = client.post(
        "/cases/ZB-0001",
        data={**form, "found_via": "community_screening", "notes": "复核"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    case = client.get("/api/v1/cases/ZB-0001").json()
    assert case["found_via"] == "community_screening"
    assert case["notes"] == "复核"
    assert case["id_number"] == "370306199001011234"  # a blank ID number keeps the stored one
    assert "修改已保存" in client.get(response.headers["location"]).text


def test_edit_moves_a_case_to_a_function_zone(client: TestClient) -> None:
    seed(client)
    form = edit_form(client, "ZB-0001")
    response = client.post(
        "/cases/ZB-0001", data={**form, "street": "370306104"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert client.get("/api/v1/cases/ZB-0001").json()["unit_name"] == "文昌湖区"
    units = {u["unit_name"]: u for u in client.get("/api/v1/stats/units?day=2022-03-20").json()}
    assert units["文昌湖区"]["new_total"] == 1
    assert units["周村区"]["new_total"] == 0


def test_unchanged_edit_saves_nothing(client: TestClient) -> None:
    seed(client)
    before = client.get("/api/v1/cases/ZB-0003").json()
    response = client.post(
        "/cases/ZB-0003", data=edit_form(client, "ZB-0003"), follow_redirects=False
    )
    assert response.headers["location"] == "/cases/ZB-0003?done=unchanged"
    assert client.get("/api/v1/cases/ZB-0003").json() == before


def test_bad_edit_shows_the_error_and_changes_nothing(client: TestClient) -> None:
    seed(client)
    before = client.get("/api/v1/cases/ZB-0001").json()
    form = edit_form(client, "ZB-0001")
    response = client.post(
        "/cases/ZB-0001", data={**form, "notes": "x", "sampled_on": "2022-03-25"}
    )
    assert response.status_code == 422
    assert "采样日期晚于报告日期" in response.text
    assert client.get("/api/v1/cases/ZB-0001").json() == before
    daily = client.get("/api/v1/stats/daily?start=2022-03-20&end=2022-03-21").json()
    assert [d["new_total"] for d in daily] == [1, 2]


def test_convert_and_discharge(client: TestClient) -> None:
    seed(client)
    response = client.post(
        "/cases/ZB-0001/convert", data={"on": "2022-03-22"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "已转为确诊病例" in client.get(response.headers["location"]).text
    again = client.post("/cases/ZB-0001/convert", data={"on": "2022-03-22"})
    assert again.status_code == 422
    assert "该病例已转为确诊" in again.text
    early = client.post("/cases/ZB-0001/discharge", data={"on": "2022-03-01"})
    assert early.status_code == 422
    assert "出院日期早于报告日期" in early.text
    response = client.post(
        "/cases/ZB-0001/discharge", data={"on": "2022-03-23"}, follow_redirects=False
    )
    assert response.status_code == 303
    case = client.get("/api/v1/cases/ZB-0001").json()
    assert (case["classification"], case["converted_on"], case["discharged_on"]) == (
        "confirmed",
        "2022-03-22",
        "2022-03-23",
    )
    html = client.get("/", params={"day": "2022-03-22"}).text
    assert tile(html, "转为确诊") == 1
    assert "淄博市报告本土无症状感染者转为确诊病例1例，在周村区。" in bulletin_of(html)


def test_event_without_a_date_is_refused(client: TestClient) -> None:
    seed(client)
    response = client.post("/cases/ZB-0001/convert", data={"on": ""})
    assert response.status_code == 422
    assert "请填写日期" in response.text
    assert client.get("/api/v1/cases/ZB-0001").json()["converted_on"] is None
