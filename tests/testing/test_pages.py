"""The testing pages through the real app: rounds, a round's figures and coverage, the lists
a community acts on (recalls re-sampled, exemptions), routine compliance, who sees what."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fangkong.auth.jurisdiction import bind
from fangkong.config import Settings
from fangkong.flows import rounds
from fangkong.lake.layout import lake_root
from fangkong.people import service as people_service
from fangkong.people import workplaces
from fangkong.people.models import Community, Person
from fangkong.people.schemas import PersonCreate, WorkplaceCreate
from fangkong.policy import load_policy
from fangkong.storage.db import session_factory
from fangkong.testing import results, samples, service
from fangkong.testing.fhir import LabResult, TubeResult
from fangkong.testing.lake import outcome_dir
from fangkong.testing.models import Recall, RoundExemption, TestingRound
from tests.conftest import NOW, PASSWORD
from tests.signin import form_login

Clients = Callable[[str], TestClient]
CITY = bind("city", "3703")
POLICY = load_policy("zibo-2022-03")
START = datetime(2022, 3, 20, 22, 0, tzinfo=UTC)  # 06:00 in Shanghai, 21 March
ROUND = "/testing/rounds/ZC-R1"


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def resident(no: str, street: str, community: str) -> PersonCreate:
    return PersonCreate.model_validate(
        {
            "person_no": no,
            "name": "孙小七",
            "phone": "13853312345",
            "district": "周村区",
            "street": street,
            "community": community,
        }
    )


@pytest.fixture
def town(app: object, engine: Engine, settings: Settings) -> Path:
    """A round over 周村区: twelve residents of 新建路社区 (丝绸路街道) and four of 东门社区
    (大街街道). Pool A (P00–P04) negative, pool B (P05–P09) positive, pool C (Q00–Q02)
    negative; P10, P11 and Q03 not sampled. Nothing applied yet."""
    lake = lake_root(settings.home)
    with session_factory(engine)() as s, s.begin():
        for i in range(12):
            people_service.create_person(
                s, data=resident(f"P{i:02d}", "丝绸路街道", "新建路社区"), now=START, scope=CITY
            )
        for i in range(4):
            people_service.create_person(
                s, data=resident(f"Q{i:02d}", "大街街道", "东门社区"), now=START, scope=CITY
            )
        s.flush()
        spec = service.RoundSpec(
            code="ZC-R1",
            name="周村区全员核酸检测",
            city_code="3703",
            areas=["周村区"],
            starts_at=START,
        )
        service.create_round(s, spec, lake=lake, policy=POLICY, now=NOW, actor="cdc", scope=CITY)
    pools = [
        *((f"P{i:02d}", "A", i) for i in range(5)),
        *((f"P{i:02d}", "B", i) for i in range(5, 10)),
        *((f"Q{i:02d}", "C", 60 + i) for i in range(3)),
    ]
    samples.add_samples(
        lake,
        "ZC-R1",
        pa.table(
            {
                "person_id": [p for p, _, _ in pools],
                "tube_barcode": [t for _, t, _ in pools],
                "tube_size": [5] * len(pools),
                "point_code": ["P1"] * len(pools),
                "sampled_at": [at(m) for _, _, m in pools],
            }
        ),
    )
    found = [
        LabResult(tube, result, "淄博市疾控中心", at(240))
        for tube, result in (
            ("A", TubeResult.NEGATIVE),
            ("B", TubeResult.POSITIVE),
            ("C", TubeResult.NEGATIVE),
        )
    ]
    results.import_results(lake, "ZC-R1", found, source="test")
    return lake


@pytest.fixture
def applied(town: Path, engine: Engine) -> Path:
    with session_factory(engine)() as s, s.begin():
        round_ = service.get_round(s, code="ZC-R1", scope=CITY)
        rounds.apply_round(s, round_, lake=town, policy=POLICY, now=NOW, scope=CITY)
    return town


def community_id(engine: Engine, name: str) -> int:
    with session_factory(engine)() as s:
        found = s.scalar(select(Community.id).where(Community.name == name))
        assert found is not None
        return found


def script_json(html: str, node_id: str) -> Any:
    found = re.search(rf'<script type="application/json" id="{node_id}">(.*?)</script>', html, re.S)
    assert found, f"no {node_id} on the page"
    return json.loads(found.group(1))


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"><dt>[^<]*</dt><dd>([^<]*)</dd>', html)
    assert found, f"no figure {name}"
    return found.group(1)


def areas_shown(html: str) -> list[str]:
    table = html.split('id="coverage-table"')[1].split("</tbody>")[0]
    return re.findall(r'<tr data-area="([^"]+)">', table)


# ---------------------------------------------------------------- rounds


def test_the_pages_render_for_the_cdc(client_as: Clients, applied: Path, engine: Engine) -> None:
    cdc = client_as("cdc")
    listing = cdc.get("/testing")
    assert listing.status_code == 200
    assert 'aria-current="page">核酸检测' in listing.text
    row = listing.text.split('id="round-ZC-R1"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[2:] == [
        "全员",
        "3月21日 06:00—3月22日 06:00",
        '<span class="badge closed">已结束</span>',  # its window ended a day ago
        "16",
        "81.2%",  # 13 of 16
        "0",
        "2022-03-23 20:00",
    ]
    assert 'id="round-form"' in listing.text  # the cdc plans rounds

    html = cdc.get(ROUND).text
    assert (figure(html, "due"), figure(html, "sampled"), figure(html, "missing")) == (
        "16",
        "13",
        "3",
    )
    assert (figure(html, "pool_positive"), figure(html, "positive")) == ("5", "0")
    # tubes: three pools for 13 persons, against 10-in-1 and the floor at p̂ = 0
    assert '<strong id="tubes">3</strong>' in html
    compare = html.split('id="tests-compare"')[1]
    assert re.findall(r'<div class="value">([^<]+)</div>', compare)[:3] == [
        "0.231",
        "0.100",
        "0.000",
    ]
    assert "固定 10合1" in compare
    # the area's pool size and the rule that chose it
    areas = html.split('id="round-areas"')[1].split("</table>")[0]
    assert "周村区" in areas
    assert "10合1" in areas
    assert "zibo-2022-03:testing.fixed_pool:10" in areas
    chart = script_json(html, "progress-data")
    assert chart["hours"][0] == "3/21 06:00"
    assert sum(chart["samples"]) == 13
    assert chart["cumulative"][-1] == 13
    assert chart["due"] == 16
    assert areas_shown(html) == ["370306"]
    assert 'id="apply-round"' in html
    assert 'href="/api/v1/testing/rounds/ZC-R1/plan.xlsx"' in html
    points = html.split('id="point-table"')[1].split("</table>")[0]
    assert "新建路社区采样点" in points
    assert 'name="csrf_token"' not in html  # a token client has no web session

    # drill down: the district's streets, a street's communities with their lists
    streets = cdc.get(ROUND, params={"level": "street", "parent": "370306"}).text
    assert areas_shown(streets) == ["370306001", "370306002"]
    crumbs = streets.split('id="coverage-crumbs"')[1].split("</p>")[0]
    assert "全部区县" in crumbs
    assert "周村区" in crumbs
    partial = cdc.get(
        ROUND, params={"level": "community", "parent": "370306001"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in partial.text
    cid = community_id(engine, "新建路社区")
    assert areas_shown(partial.text) == [str(cid)]
    assert f'href="{ROUND}/lists/missing?community_id={cid}"' in partial.text


def test_before_any_outcome_the_round_says_so(client_as: Clients, town: Path) -> None:
    cdc = client_as("cdc")
    html = cdc.get(ROUND).text
    assert 'id="not-applied"' in html
    assert "尚未应用检测结果" in html
    assert 'id="coverage-table"' not in html
    assert 'id="progress-data"' not in html
    missing = cdc.get(f"{ROUND}/lists/missing")
    assert missing.status_code == 200
    assert "尚未应用检测结果，暂无名单" in missing.text
    assert "81.2%" not in cdc.get("/testing").text


def test_applying_through_the_button(client_as: Clients, town: Path, engine: Engine) -> None:
    cdc = client_as("cdc")
    done = cdc.post(f"{ROUND}/apply", follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{ROUND}?done=applied&recalls=5&settled=0&cases=0"
    html = cdc.get(done.headers["location"]).text
    assert "检测结果已应用：新增待复核人员 5 人" in html
    assert figure(html, "sampled") == "13"
    with session_factory(engine)() as s:
        assert len(s.scalars(select(Recall)).all()) == 5
    # the district officer reads and applies; the street worker may not apply
    assert client_as("zhoucun").post(f"{ROUND}/apply", follow_redirects=False).status_code == 303
    worker = client_as("worker")
    assert worker.post(f"{ROUND}/apply").status_code == 403
    assert 'id="apply-round"' not in worker.get(ROUND).text


def test_closing_sampling(client_as: Clients, town: Path, engine: Engine) -> None:
    cdc = client_as("cdc")
    done = cdc.post(f"{ROUND}/close", follow_redirects=False)
    assert done.headers["location"] == f"{ROUND}?done=closed"
    html = cdc.get(done.headers["location"]).text
    assert "已结束采样" in html
    assert 'id="close-round"' not in html
    with session_factory(engine)() as s:
        assert s.scalar(select(TestingRound.status)) == "closed"


# ---------------------------------------------------------------- creating a round


def test_creating_a_round_through_the_form(client_as: Clients, town: Path) -> None:
    cdc = client_as("cdc")
    form = {
        "code": "ZC-R2",
        "name": "丝绸路街道第二轮",
        "kind": "mass",
        "areas": ["370306001"],
        "starts_at": "2022-03-24T06:00",
        "pool_mode": "by_area",
        "pool_size": "10",
        "three_stage": "1",
    }
    done = cdc.post("/testing/rounds", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/testing/rounds/ZC-R2?done=created"
    html = cdc.get(done.headers["location"]).text
    assert "轮次已创建" in html
    assert "3月24日 06:00—3月25日 06:00" in html
    areas = html.split('id="round-areas"')[1].split("</table>")[0]
    assert "丝绸路街道" in areas
    assert "testing.dorfman" in areas
    assert '<td class="num">12</td>' in areas  # due: its twelve residents
    assert 'id="not-applied"' in html


def test_a_bad_form_shows_the_errors_in_chinese_and_keeps_the_values(
    client_as: Clients, town: Path
) -> None:
    cdc = client_as("cdc")
    bad = cdc.post(
        "/testing/rounds",
        data={"code": "bad code!", "name": "", "kind": "mass", "starts_at": "", "pool_size": "10"},
    )
    assert bad.status_code == 422
    assert 'id="form-errors"' in bad.text
    assert "只能包含字母" in bad.text
    assert "请至少选择一个区域" in bad.text
    assert "请填写开始时间" in bad.text
    assert 'value="bad code!"' in bad.text
    base = {
        "code": "ZC-R3",
        "name": "第三轮",
        "kind": "mass",
        "starts_at": "2022-03-24T06:00",
        "pool_mode": "fixed",
        "pool_size": "10",
    }
    inside = cdc.post("/testing/rounds", data={**base, "areas": ["370306", "370306001"]})
    assert inside.status_code == 422
    assert "丝绸路街道位于周村区内，请只选其一" in inside.text
    assert re.search(r'value="370306001" checked', inside.text)  # the choice is kept
    taken = cdc.post("/testing/rounds", data={**base, "code": "ZC-R1", "areas": ["370306"]})
    assert "轮次编号 ZC-R1 已存在" in taken.text
    ends = cdc.post(
        "/testing/rounds", data={**base, "areas": ["370306"], "ends_at": "2022-03-23T06:00"}
    )
    assert "结束时间应晚于开始时间" in ends.text
    # a district officer may not take another district
    other = client_as("zhangdian").post("/testing/rounds", data={**base, "areas": ["370306"]})
    assert other.status_code == 422
    assert "周村区不在您的管辖范围内" in other.text
    assert "ZC-R3" not in cdc.get("/testing").text.split('id="round-table"')[1]


def test_a_signed_in_browser_posts_the_form_with_its_csrf_token(
    anon: TestClient, users: dict[str, str], town: Path
) -> None:
    signed = form_login(anon, "cdc", PASSWORD)
    assert signed.status_code == 303
    page = anon.get("/testing").text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert token
    form_html = page.split('id="round-form"')[1].split("</form>")[0]
    assert f'name="csrf_token" value="{token.group(1)}"' in form_html
    form = {
        "code": "ZC-R4",
        "name": "第四轮",
        "kind": "mass",
        "areas": ["370306002"],
        "starts_at": "2022-03-24T06:00",
        "pool_mode": "fixed",
        "pool_size": "5",
    }
    assert anon.post("/testing/rounds", data=form).status_code == 403
    done = anon.post(
        "/testing/rounds", data={**form, "csrf_token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "第四轮" in anon.get("/testing/rounds/ZC-R4").text


# ---------------------------------------------------------------- lists


def test_the_missing_list_is_masked(client_as: Clients, applied: Path, engine: Engine) -> None:
    cid = community_id(engine, "新建路社区")
    page = client_as("cdc").get(f"{ROUND}/lists/missing", params={"community_id": cid})
    assert page.status_code == 200
    html = page.text
    assert '共 <span id="list-count">2</span> 人' in html
    assert re.findall(r'<tr id="person-([^"]+)">', html) == ["P10", "P11"]
    assert "孙*七" in html
    assert "138****2345" in html
    assert "孙小七" not in html
    assert "13853312345" not in html
    assert "新建路社区" in html
    assert 'action="/api/v1/testing/rounds/ZC-R1/lists/missing.xlsx" id="export-form"' in html
    export = html.split('id="export-form"')[1].split("</form>")[0]
    assert f'name="community_id" value="{cid}"' in export
    assert 'name="reason"' in export
    assert "下次“应用检测结果”后才计入统计" in html


def test_a_street_worker_sees_only_their_street(client_as: Clients, applied: Path) -> None:
    worker = client_as("worker")  # 丝绸路街道
    html = worker.get(ROUND).text
    assert areas_shown(html) == ["370306001"]
    # asking for the district's streets shows theirs only; the district level is not theirs
    streets = worker.get(ROUND, params={"level": "street", "parent": "370306"}).text
    assert areas_shown(streets) == ["370306001"]
    assert areas_shown(worker.get(ROUND, params={"level": "district"}).text) == ["370306001"]
    missing = worker.get(f"{ROUND}/lists/missing").text
    assert re.findall(r'<tr id="person-([^"]+)">', missing) == ["P10", "P11"]  # not Q03
    assert 'id="round-form"' not in worker.get("/testing").text
    officer = client_as("zhoucun").get(ROUND, params={"level": "street", "parent": "370306"})
    assert areas_shown(officer.text) == ["370306001", "370306002"]


def test_marking_a_recall_resampled(client_as: Clients, applied: Path, engine: Engine) -> None:
    worker = client_as("worker")
    cid = community_id(engine, "新建路社区")
    listing = worker.get(f"{ROUND}/lists/recall", params={"community_id": cid}).text
    assert re.findall(r'<tr id="person-([^"]+)">', listing) == ["P05", "P06", "P07", "P08", "P09"]
    assert listing.count(">已复采</button>") == 5
    done = worker.post(
        f"{ROUND}/recalls/P05/resampled", data={"community_id": str(cid)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == (
        f"{ROUND}/lists/recall?community_id={cid}&done=resampled&person=P05#person-P05"
    )
    html = worker.get(done.headers["location"]).text
    assert "已记录 P05 已复采" in html
    row = html.split('id="person-P05"')[1].split("</tr>")[0]
    assert '<span class="badge resampled">已复采</span>' in row
    assert "<button" not in row
    assert html.count(">已复采</button>") == 4
    with session_factory(engine)() as s:
        statuses = dict(
            s.execute(
                select(Recall.tube_barcode, Recall.status).where(Recall.status == "resampled")
            ).all()
        )
        assert statuses == {"B": "resampled"}
    with session_factory(engine)() as s, s.begin():
        settled = s.scalar(
            select(Recall)
            .join(Person, Person.id == Recall.person_id)
            .where(Person.person_no == "P06")
        )
        assert settled is not None
        settled.status = "cleared"  # as a later single tube's result does
    refused = worker.post(f"{ROUND}/recalls/P06/resampled")
    assert refused.status_code == 409
    assert "P06 的复核已有结果（复核阴性）" in refused.text
    missing = worker.post(f"{ROUND}/recalls/P00/resampled")
    assert missing.status_code == 404
    assert "没有 P00 的复核任务" in missing.text
    # the district officer reads the list but does not sample
    assert client_as("zhoucun").post(f"{ROUND}/recalls/P06/resampled").status_code == 403


def test_recording_an_exemption(client_as: Clients, applied: Path, engine: Engine) -> None:
    worker = client_as("worker")
    done = worker.post(
        f"{ROUND}/exemptions",
        data={"person_no": "P11", "reason": "hospital", "note": "区人民医院"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{ROUND}/lists/missing?done=exempted&person=P11#person-P11"
    html = worker.get(done.headers["location"]).text
    assert "已登记 P11 免检" in html
    assert "下次“应用检测结果”后计入统计" in html
    row = html.split('id="person-P11"')[1].split("</tr>")[0]
    assert "已登记免检：住院" in row
    with session_factory(engine)() as s:
        assert s.scalar(select(RoundExemption.reason)) == "hospital"
    bad = worker.post(f"{ROUND}/exemptions", data={"person_no": "P10", "reason": "bored"})
    assert bad.status_code == 422
    assert "请选择免检原因" in bad.text
    outside = worker.post(f"{ROUND}/exemptions", data={"person_no": "Q03", "reason": "other"})
    assert outside.status_code == 422
    assert "未找到人员 Q03" in outside.text
    # in the figures at the next apply
    client_as("cdc").post(f"{ROUND}/apply")
    after = worker.get(f"{ROUND}/lists/missing").text
    assert re.findall(r'<tr id="person-([^"]+)">', after) == ["P10"]
    assert figure(worker.get(ROUND).text, "exempt") == "1"


# ---------------------------------------------------------------- access and errors


def test_access(client_as: Clients, anon: TestClient, applied: Path) -> None:
    for path in ("/testing", ROUND, f"{ROUND}/lists/missing", "/testing/routine"):
        response = anon.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login")
        assert client_as("hotline").get(path).status_code == 403, path
    assert 'href="/testing"' not in client_as("hotline").get("/").text
    unknown = client_as("cdc").get("/testing/rounds/NOPE")
    assert unknown.status_code == 404
    assert "未找到核酸检测轮次 NOPE" in unknown.text
    assert client_as("cdc").get("/testing/rounds/NOPE/lists/missing").status_code == 404
    assert client_as("cdc").post("/testing/rounds/NOPE/apply").status_code == 404
    assert client_as("cdc").get(f"{ROUND}/lists/everyone").status_code == 404
    # a district officer elsewhere: the round is not theirs to see
    assert client_as("zhangdian").get(ROUND).status_code == 404
    assert "ZC-R1" not in client_as("zhangdian").get("/testing").text


def test_lost_outcome_files_give_a_page_not_json(client_as: Clients, applied: Path) -> None:
    outcome_dir(applied, "ZC-R1").unlink()  # the link to the last run's files
    cdc = client_as("cdc")
    for path in (ROUND, f"{ROUND}/lists/missing"):
        page = cdc.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "请重新“应用检测结果”" in page.text


def test_the_dashboard_card(client_as: Clients, applied: Path) -> None:
    card = client_as("cdc").get("/").text.split('id="testing-card"')[1].split("</section>")[0]
    assert "周村区全员核酸检测" in card
    assert "已采样 <strong>13</strong> / 应检 16 人（81.2%）" in card
    assert f'href="{ROUND}#progress"' in card
    assert 'id="testing-card"' not in client_as("hotline").get("/").text
    assert 'id="testing-card"' not in client_as("zhangdian").get("/").text


# ---------------------------------------------------------------- routine testing


def test_routine_compliance(
    client_as: Clients, app: FastAPI, engine: Engine, settings: Settings
) -> None:
    assert 'id="no-policy-groups"' in client_as("cdc").get("/testing/routine").text  # national-9
    app.state.settings = settings.model_copy(update={"policy": "zibo-2022-03"})
    lake = lake_root(settings.home)
    with session_factory(engine)() as s, s.begin():
        firm = WorkplaceCreate.model_validate(
            {
                "workplace_no": "HOSP",
                "name": "周村区人民医院",
                "industry": "healthcare",
                "district": "周村区",
                "units": [{"name": "门诊"}],
            }
        )
        workplaces.create_workplace(s, data=firm, scope=CITY)
        for no in ("D1", "D2"):
            person = PersonCreate.model_validate(
                {
                    "person_no": no,
                    "name": "王小五",
                    "phone": "13953398765",
                    "district": "周村区",
                    "workplace_no": "HOSP",
                    "workplace_unit": "门诊",
                }
            )
            people_service.create_person(s, data=person, now=NOW, scope=CITY)
    samples.add_samples(
        lake,
        "RT-1",
        pa.table(
            {
                "person_id": ["D1"],
                "tube_barcode": ["T1"],
                "tube_size": [1],
                "point_code": ["HOSP"],
                "sampled_at": [NOW - timedelta(hours=6)],
            }
        ),
    )
    cdc = client_as("cdc")
    html = cdc.get("/testing/routine").text
    assert (
        '依据 <abbr class="rule-ref" title="zibo-2022-03:testing.routine_groups">'
        "淄博3月方案·重点人群检测频次</abbr>"
    ) in html
    assert "<strong>每日</strong>（间隔 1 天）" in html
    group = html.split('id="group-table"')[1].split("</tbody>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", group, re.S)
    assert [c.strip() for c in cells] == ["医疗卫生", "每日", "2", "1", "0", "1", "50.0%"]
    assert '<a href="/testing/routine?enterprise=HOSP#workers">周村区人民医院</a>' in html
    workers = cdc.get("/testing/routine", params={"enterprise": "HOSP"}).text
    one = workers.split('id="worker-D1"')[1].split("</tr>")[0]
    assert "王*五" in one
    assert "139****8765" in one
    assert "2022-03-23 14:00" in one  # sampled 06:00 UTC
    assert "2022-03-24 14:00" in one  # due a day later
    assert "按期检测" in one
    assert "从未检测" in workers.split('id="worker-D2"')[1].split("</tr>")[0]
    assert "王小五" not in workers
    assert cdc.get("/testing/routine", params={"enterprise": "NOPE"}).status_code == 404
    # the street worker's street has no workplaces of the key industries
    assert 'id="no-groups"' in client_as("worker").get("/testing/routine").text
