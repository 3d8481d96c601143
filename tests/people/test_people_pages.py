"""Registry pages: masked lists, the person page, HTMX partials, paging."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fangkong.people.identity import check_character

FIRST17 = "37030619850315001"
ID_NUMBER = FIRST17 + check_character(FIRST17)
MASKED_ID = ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]


def upload(client: TestClient, path: str, text: str) -> None:
    response = client.post(path, files={"file": ("f.csv", text.encode(), "text/csv")})
    assert response.status_code == 200, response.text


def seed(client: TestClient) -> None:
    upload(
        client,
        "/api/v1/workplaces/import",
        "单位编号,单位名称,行业,区县,部门\nW1,某纺织公司,制造业,周村区,生产一车间:workshop\n",
    )
    upload(
        client,
        "/api/v1/people/import",
        "人员编号,姓名,身份证号,手机号,户编号,区县,街道,社区,单位编号,部门\n"
        f"P001,张三丰,{ID_NUMBER},13853312345,H1,周村区,丝绸路街道,新建路社区,W1,生产一车间\n"
        "P002,李四,,13953398765,H1,周村区,丝绸路街道,新建路社区,,\n",
    )
    upload(
        client,
        "/api/v1/venues/import",
        "场所码,场所名称,类别,区县,容量\nV1,银座超市周村店,超市,周村区,300\n",
    )


def test_people_list_is_masked(client: TestClient) -> None:
    seed(client)
    page = client.get("/people")
    assert page.status_code == 200
    assert 'aria-current="page">人员' in page.text
    assert "张*丰" in page.text
    assert MASKED_ID in page.text
    assert "138****2345" in page.text
    assert ID_NUMBER not in page.text
    assert "13853312345" not in page.text
    assert "张三丰" not in page.text


def test_people_search_and_htmx_partial(client: TestClient) -> None:
    seed(client)
    found = client.get("/people", params={"phone": "1395"}, headers={"HX-Request": "true"})
    assert found.status_code == 200
    assert found.text.lstrip().startswith('<div id="people-table">')
    assert "<html" not in found.text
    assert "P002" in found.text
    assert "P001" not in found.text
    by_district = client.get("/people", params={"district": "370303"})
    assert "没有符合条件的人员" in by_district.text
    unknown = client.get("/people", params={"district": "火星区"})
    assert unknown.status_code == 200
    assert "unknown district" in unknown.text


def test_paging(client: TestClient) -> None:
    rows = "".join(f"P{i:03d},某人{i}\n" for i in range(60))
    upload(client, "/api/v1/people/import", "person_id,name\n" + rows)
    first = client.get("/people", params={"q": "某人"})
    assert "共 60 条，第 1–50 条" in first.text
    assert "offset=50" in first.text
    assert "上一页" not in first.text
    second = client.get("/people", params={"q": "某人", "offset": 50})
    assert "第 51–60 条" in second.text
    assert "P059" in second.text
    assert "下一页" not in second.text


def test_person_page_shows_full_values_and_household(client: TestClient) -> None:
    seed(client)
    page = client.get("/people/P001")
    assert page.status_code == 200
    assert ID_NUMBER in page.text
    assert "13853312345" in page.text
    assert "某纺织公司" in page.text
    assert "生产一车间" in page.text
    assert "李*" in page.text  # the household member, masked
    assert "13953398765" not in page.text
    assert client.get("/people/NOPE").status_code == 404


def test_venue_and_workplace_pages(client: TestClient) -> None:
    seed(client)
    venues = client.get("/venues")
    assert venues.status_code == 200
    assert "银座超市周村店" in venues.text
    assert 'aria-current="page">场所' in venues.text
    assert "银座" not in client.get("/venues", params={"category": "gym"}).text
    workplaces = client.get("/workplaces", params={"industry": "manufacturing"})
    assert workplaces.status_code == 200
    assert "某纺织公司" in workplaces.text
    assert "生产一车间" in workplaces.text
