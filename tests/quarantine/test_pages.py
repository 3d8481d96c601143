"""The quarantine pages through the real app: the day's board with its two buttons, a site,
an order's timeline with lost and found, the list, the dashboard card; who sees what."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from fangkong.flows import quarantine_day
from fangkong.people.models import Person
from fangkong.policy import load_policy
from fangkong.quarantine import pages, placement
from fangkong.quarantine.models import QuarantineOrder, QuarantineSwab, SiteRoom, TransferTask
from fangkong.storage.db import session_factory
from tests.conftest import PASSWORD
from tests.signin import form_login

from .factories import CITY, case, contact, resident, site

Clients = Callable[[str], TestClient]
POLICY = load_policy("national-9")
PLANNED = date(2022, 3, 17)  # day 1: centralized 17–23 March, released on the app's today
PLANNED_AT = datetime(2022, 3, 17, 2, 0, tzinfo=UTC)
ZHANGDIAN = {"district": "张店区", "street": "车站街道", "community": "车站社区"}
FULL_NAME = "王小明"
MASKED = "王*明"


@pytest.fixture(autouse=True)
def routed(app: FastAPI) -> None:
    """Until main.py includes the pages, the tests do."""
    if not any(getattr(r, "path", "") == "/quarantine" for r in app.routes):
        app.include_router(pages.router)


def _outbreak(engine: Engine) -> None:
    """Case C1 (周村区) with a household of three close contacts (HH-A), one alone (P-SOLO)
    and one in 张店区 (P-ZD); site S01 in 周村区 (a 3-bed room, two singles), S02 in 张店区."""
    with session_factory(engine)() as s, s.begin():
        c1 = case(s, "C1", resident(s, "P-INDEX"))
        for i in range(3):
            contact(s, c1, resident(s, f"P-H{i}", household="HH-A"))
        contact(s, c1, resident(s, "P-SOLO"))
        contact(s, c1, resident(s, "P-ZD", **ZHANGDIAN))
        site(s, "S01", rooms={"301": 3, "101": 1, "102": 1})
        site(s, "S02", rooms={"201": 2}, district_code="370303", lon=118.05, lat=36.81)


def orders(engine: Engine) -> dict[str, QuarantineOrder]:
    with session_factory(engine)() as s:
        rows = s.execute(
            select(Person.person_no, QuarantineOrder).join(
                QuarantineOrder, QuarantineOrder.person_id == Person.id
            )
        ).all()
        return dict(rows)


@pytest.fixture
def placed(app: FastAPI, users: object, engine: Engine) -> dict[str, QuarantineOrder]:
    """The outbreak planned on 17 March: HH-A and P-ZD delivered (in quarantine until the
    23rd, the app's today), P-SOLO still waiting for its transfer; P-H0's tests are all
    negative, the others' were never taken."""
    _outbreak(engine)
    with session_factory(engine)() as s, s.begin():
        plan = quarantine_day.plan_day(
            s, day=PLANNED, policy=POLICY, now=PLANNED_AT, actor="cdc", scope=CITY
        )
        for task in plan.placement.transfers:
            if task.persons == 3 or task.site.code == "S02":
                placement.transfer_done(s, task, now=PLANNED_AT, actor="s01")
    made = orders(engine)
    with session_factory(engine)() as s, s.begin():
        s.execute(
            update(QuarantineSwab)
            .where(QuarantineSwab.order_id == made["P-H0"].id)
            .values(state="negative")
        )
    return made


def task_of(engine: Engine, order: QuarantineOrder) -> str:
    with session_factory(engine)() as s:
        found = s.get_one(TransferTask, order.transfer_id)
        return found.task_no


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"><dt>[^<]*</dt><dd>(?:<a[^>]*>)?([^<]*)<', html)
    assert found, f"no figure {name}"
    return found.group(1)


def section(html: str, node_id: str) -> str:
    assert f'id="{node_id}"' in html, f"no {node_id} on the page"
    return html.split(f'id="{node_id}"')[1].split("</section>")[0]


def rows(html: str, prefix: str) -> list[str]:
    return re.findall(rf'<tr id="{prefix}-([^"]+)"', html)


# ---------------------------------------------------------------- the board


def test_the_board_for_the_cdc(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    page = client_as("cdc").get("/quarantine")
    assert page.status_code == 200, page.text
    html = page.text
    assert "2022年3月23日" in html
    assert figure(html, "in_quarantine") == "4"
    assert figure(html, "pending_transfer") == "1"
    assert figure(html, "transfers_pending") == "1"
    assert figure(html, "releases_due") == "4"
    assert figure(html, "alerts_open") == "0"
    assert 'href="/monitoring" id="alerts-link"' in html
    # occupancy: S01 holds the household and awaits P-SOLO; S02 holds P-ZD
    occupancy = section(html, "occupancy")
    assert rows(occupancy, "site") == ["S02", "S01"]  # by district: 张店区 370303 first
    s01 = occupancy.split('id="site-S01"')[1].split("</tr>")[0]
    cells = re.findall(r'<td class="num">(\d+)</td>', s01)
    assert cells == ["3", "2", "5", "3", "1", "1"]  # rooms, in use, beds, in, arriving, free
    assert "80%" in s01
    assert '<rect width="80.0" height="10">' in s01  # the bar, as SVG (no style attribute)
    assert 'href="/quarantine/sites/S01?date=2022-03-23"' in s01
    # today's releases: the household and P-ZD, with what still blocks them
    releases = section(html, "releases")
    due = {o.order_no for no, o in placed.items() if no.startswith("P-H") or no == "P-ZD"}
    assert set(rows(releases, "release")) == due
    h0 = releases.split(f'id="release-{placed["P-H0"].order_no}"')[1].split("</tr>")[0]
    assert "集中隔离期满" in h0
    assert "转居家健康监测至3月26日" in h0
    assert "qk-reasons" not in h0  # every test negative: nothing blocks P-H0
    h1 = releases.split(f'id="release-{placed["P-H1"].order_no}"')[1].split("</tr>")[0]
    assert "未采样" in h1
    # the pending transfer with its form and the arrival button
    task = task_of(engine, placed["P-SOLO"])
    transfers = section(html, "transfers")
    assert rows(transfers, "transfer") == [task]
    assert f'action="/quarantine/transfers/{task}/dispatch"' in transfers
    assert f'action="/quarantine/transfers/{task}/done"' in transfers
    assert placed["P-SOLO"].order_no in transfers
    # tests per site, with the overdue ones
    tests = section(html, "tests")
    s01_tests = tests.split('id="tests-S01"')[1].split("</tr>")[0]
    assert 'href="/quarantine/sites/S01?date=2022-03-23#worklist"' in s01_tests
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', s01_tests)[0] == "4"  # due on the 23rd
    assert "生成今日隔离计划" in html
    assert "执行今日解除隔离" in html
    assert MASKED in html
    assert FULL_NAME not in html


def test_the_board_of_another_day_and_a_bad_day(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    cdc = client_as("cdc")
    before = cdc.get("/quarantine", params={"date": "2022-03-22"}).text
    assert figure(before, "releases_due") == "0"
    assert 'id="no-releases"' in before
    assert 'href="/quarantine?date=2022-03-21"' in before
    assert "生成3月22日隔离计划" in before
    later = cdc.get("/quarantine", params={"date": "2022-03-24"}).text
    assert 'id="planner"' not in later  # nothing is planned or released ahead of its day
    ahead = cdc.post("/quarantine/release", data={"date": "2022-03-24"})
    assert ahead.status_code == 422
    assert "尚未到来" in ahead.text
    assert orders(engine)["P-H0"].status == "in_quarantine"
    for wrong in ("22 March", "9999-12-31", "0001-01-01"):
        bad = cdc.get("/quarantine", params={"date": wrong})
        assert bad.status_code == 400
        assert "无法识别或超出范围" in bad.text
        assert figure(bad.text, "releases_due") == "4"  # today's board instead
        assert cdc.get("/quarantine/sites/S01", params={"date": wrong}).status_code == 400
        assert cdc.post("/quarantine/release", data={"date": wrong}).status_code == 422


def test_a_community_worker_reads_the_board_without_the_buttons(
    client_as: Clients, placed: dict[str, QuarantineOrder]
) -> None:
    worker = client_as("worker")  # 丝绸路街道 of 周村区: the household and P-SOLO
    html = worker.get("/quarantine").text
    assert figure(html, "in_quarantine") == "3"
    assert figure(html, "pending_transfer") == "1"
    for node in ("planner", "plan-day", "release-day", "plan-form"):
        assert f'id="{node}"' not in html
    assert "/dispatch" not in html
    assert "/done" not in html
    assert placed["P-ZD"].order_no not in html
    assert worker.post("/quarantine/plan", data={"date": "2022-03-23"}).status_code == 403
    assert worker.post("/quarantine/release", data={"date": "2022-03-23"}).status_code == 403
    assert 'href="/quarantine"' in html  # the nav entry


def test_a_district_officer_sees_only_their_people(
    client_as: Clients, placed: dict[str, QuarantineOrder]
) -> None:
    officer = client_as("zhangdian")
    html = officer.get("/quarantine").text
    assert figure(html, "in_quarantine") == "1"
    assert set(rows(section(html, "releases"), "release")) == {placed["P-ZD"].order_no}
    assert rows(section(html, "occupancy"), "site") == ["S02", "S01"]  # sites are the city's
    zhoucun = placed["P-H0"].order_no
    missing = officer.get(f"/quarantine/orders/{zhoucun}")
    assert missing.status_code == 404
    assert f"未找到隔离令 {zhoucun}" in missing.text
    assert officer.get(f"/quarantine/orders/{placed['P-ZD'].order_no}").status_code == 200
    assert officer.post(f"/quarantine/orders/{zhoucun}/lost", data={"why": "x"}).status_code == 404
    # a site in the city shows its rooms, naming only the officer's own people
    s01 = officer.get("/quarantine/sites/S01").text
    room = s01.split('id="room-301"')[1].split("</tr>")[0]
    assert "另有 3 人（其他辖区）" in room
    assert zhoucun not in room
    listing = officer.get("/quarantine/orders").text
    assert rows(listing, "order") == [placed["P-ZD"].order_no]


def test_site_staff_see_their_site_and_no_other(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    staff = client_as("site")  # bound to S01
    assert staff.get("/quarantine/sites/S01").status_code == 200
    other = staff.get("/quarantine/sites/S02")
    assert other.status_code == 404
    assert "未找到隔离点 S02" in other.text
    assert staff.get("/quarantine/sites/NOPE").status_code == 404
    assert staff.get(f"/quarantine/orders/{placed['P-H0'].order_no}").status_code == 200
    assert staff.get(f"/quarantine/orders/{placed['P-ZD'].order_no}").status_code == 404
    board = staff.get("/quarantine").text
    assert rows(section(board, "occupancy"), "site") == ["S01"]
    assert figure(board, "in_quarantine") == "3"
    # they mark arrivals but do not plan or dispatch
    task = task_of(engine, placed["P-SOLO"])
    transfers = section(board, "transfers")
    assert f"/quarantine/transfers/{task}/done" in transfers
    assert "/dispatch" not in transfers
    assert 'id="plan-day"' not in board
    done = staff.post(f"/quarantine/transfers/{task}/done", follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == (
        f"/quarantine?date=2022-03-23&done=arrived&task={task}#transfer-{task}"
    )
    after = staff.get(done.headers["location"]).text
    assert f"转运任务 {task} 已送达" in after
    assert 'id="no-transfers"' in after
    assert orders(engine)["P-SOLO"].status == "in_quarantine"
    again = staff.post(f"/quarantine/transfers/{task}/done")
    assert again.status_code == 409
    late = client_as("cdc").post(f"/quarantine/transfers/{task}/dispatch", data={"team": "x"})
    assert late.status_code == 409
    assert "已送达或已取消，不能再修改" in late.text
    assert "已送达或已取消" in again.text


def test_transfers_outside_the_jurisdiction_are_not_found(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    task = task_of(engine, placed["P-SOLO"])  # a 周村区 household
    officer = client_as("zhangdian")
    assert officer.post(f"/quarantine/transfers/{task}/done").status_code == 404
    answer = officer.post(f"/quarantine/transfers/{task}/dispatch", data={"vehicle": "鲁C1"})
    assert answer.status_code == 404
    assert f"未找到转运任务 {task}" in answer.text
    s02_task = task_of(engine, placed["P-ZD"])
    assert client_as("site").post(f"/quarantine/transfers/{s02_task}/done").status_code == 404


def test_dispatching_a_transfer(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    cdc = client_as("cdc")
    task = task_of(engine, placed["P-SOLO"])
    form = {
        "date": "2022-03-23",
        "vehicle": "鲁C12345",
        "team": "周村转运一组",
        "pickup_at": "2022-03-23T21:30",
    }
    done = cdc.post(f"/quarantine/transfers/{task}/dispatch", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    html = cdc.get(done.headers["location"]).text
    assert f"已更新转运任务 {task}" in html
    row = section(html, "transfers").split(f'id="transfer-{task}"')[1].split("</tr>")[0]
    assert 'value="鲁C12345"' in row
    assert 'value="周村转运一组"' in row
    assert 'value="2022-03-23T21:30"' in row
    with session_factory(engine)() as s:
        found = s.scalar(select(TransferTask).where(TransferTask.task_no == task))
        assert found is not None
        assert found.vehicle == "鲁C12345"
        assert found.pickup_at == datetime(2022, 3, 23, 13, 30, tzinfo=UTC)
    bad = cdc.post(f"/quarantine/transfers/{task}/dispatch", data={"pickup_at": "tonight"})
    assert bad.status_code == 422
    assert "出发时间格式" in bad.text
    # the worker reads the transfer without the form
    worker = section(client_as("worker").get("/quarantine").text, "transfers")
    assert "鲁C12345 · 周村转运一组 · 2022-03-23 21:30" in worker


def test_the_pickup_leaves_out_building_and_room(
    client_as: Clients, placed: dict[str, QuarantineOrder]
) -> None:
    for persona in ("cdc", "site"):
        transfers = section(client_as(persona).get("/quarantine").text, "transfers")
        assert "新建路社区 丝绸苑小区" in transfers
        assert "1号楼" not in transfers


# ---------------------------------------------------------------- the two buttons


def test_planning_the_day(client_as: Clients, users: object, engine: Engine) -> None:
    """A household of three and P-SOLO, contacts found on the 16th; S01 has one 3-bed room
    in service (the singles and S02 are not): the household goes, P-SOLO and P-ZD wait."""
    _outbreak(engine)
    with session_factory(engine)() as s, s.begin():
        s.execute(
            update(SiteRoom)
            .where(SiteRoom.room_no.in_(("101", "102", "201")))
            .values(in_service=False)
        )
    cdc = client_as("cdc")
    page = cdc.post("/quarantine/plan", data={"date": "2022-03-23"})
    assert page.status_code == 200, page.text
    result = section(page.text, "plan-result")
    assert re.search(r'id="plan-made">5<', result)
    assert re.search(r'id="plan-placed">3<', result)
    assert re.search(r'id="plan-waiting">2<', result)
    waiting = result.split('id="waiting-table"')[1].split("</table>")[0]
    assert waiting.count("隔离点房间已满") == 2
    made = orders(engine)
    assert made["P-SOLO"].order_no in waiting
    assert made["P-ZD"].order_no in waiting
    placed_rows = result.split('id="placed-table"')[1].split("</table>")[0]
    assert "S01隔离点 301" in placed_rows
    assert MASKED in result
    assert FULL_NAME not in page.text
    # the board below already shows the new transfer
    assert figure(page.text, "transfers_pending") == "1"
    # planning again makes no order twice; who waits is tried again
    again = section(cdc.post("/quarantine/plan", data={"date": "2022-03-23"}).text, "plan-result")
    assert re.search(r'id="plan-made">0<', again)
    assert re.search(r'id="plan-waiting">2<', again)
    bad = cdc.post("/quarantine/plan", data={"date": "soon"})
    assert bad.status_code == 422
    assert "无法识别或超出范围" in bad.text


def test_releasing_the_day(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    cdc = client_as("cdc")
    page = cdc.post("/quarantine/release", data={"date": "2022-03-23"})
    assert page.status_code == 200, page.text
    result = section(page.text, "release-result")
    assert re.search(r'id="released-count">1<', result)
    assert re.search(r'id="completed-count">0<', result)
    assert re.search(r'id="held-count">3<', result)
    released = result.split('id="released-table"')[1].split("</table>")[0]
    assert placed["P-H0"].order_no in released
    assert "居家健康监测中" in released
    held = result.split('id="held-table"')[1].split("</table>")[0]
    h1 = held.split(f"{placed['P-H1'].order_no}</a>")[1].split("</tr>")[0]
    assert "3月17日未采样" in h1
    assert MASKED in result
    assert FULL_NAME not in page.text
    assert orders(engine)["P-H0"].status == "in_home_monitoring"
    assert figure(page.text, "in_home_monitoring") == "1"


# ---------------------------------------------------------------- a site


def test_a_site_its_rooms_chart_and_worklist(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    page = client_as("cdc").get("/quarantine/sites/S01")
    assert page.status_code == 200, page.text
    html = page.text
    assert "S01隔离点" in html
    assert "周村区" in html
    assert re.search(r'id="persons">3<', html)
    assert re.search(r'id="beds-free">1<', html)
    rooms = section(html, "rooms")
    assert rows(rooms, "room") == ["101", "102", "301"]
    r301 = rooms.split('id="room-301"')[1].split("</tr>")[0]
    for no in ("P-H0", "P-H1", "P-H2"):
        assert placed[no].order_no in r301
    assert r301.count(MASKED) == 3
    assert "隔离中" in r301
    r101 = rooms.split('id="room-101"')[1].split("</tr>")[0]
    assert placed["P-SOLO"].order_no in r101
    assert "待转运" in r101
    chart = script_json(html, "occupancy-data")
    assert len(chart["days"]) == 28
    assert chart["days"][-1] == "3/23"
    assert chart["beds"] == 5
    assert chart["persons"][chart["days"].index("3/16")] == 0
    assert chart["persons"][chart["days"].index("3/17")] == 3
    assert chart["persons"][-1] == 3
    # the day's worklist: the household and P-SOLO (arriving) have their 7th-day test
    worklist = section(html, "worklist")
    assert "Q-S01-20220323" in worklist
    listed = re.findall(r'<tr id="test-([^"]+)-2022-03-23"', worklist)
    assert sorted(listed) == sorted(placed[n].order_no for n in ("P-H0", "P-H1", "P-H2", "P-SOLO"))
    assert "待采样" in worklist
    assert "阴性" in worklist
    assert MASKED in html
    assert FULL_NAME not in html
    assert "（尚未开启）" in worklist
    assert 'id="round-link"' not in worklist
    with session_factory(engine)() as s, s.begin():
        s.execute(
            update(QuarantineSwab)
            .where(QuarantineSwab.due_on == date(2022, 3, 23))
            .values(round_code="Q-S01-20220323")
        )
    opened = section(client_as("cdc").get("/quarantine/sites/S01").text, "worklist")
    assert 'href="/testing/rounds/Q-S01-20220323" id="round-link"' in opened
    # an earlier day: P-H1's tests of the 17th are overdue by now
    earlier = section(
        client_as("cdc").get("/quarantine/sites/S01?date=2022-03-17").text, "worklist"
    )
    h1 = earlier.split(f'id="test-{placed["P-H1"].order_no}-2022-03-17"')[1].split("</tr>")[0]
    assert "逾期" in h1


def script_json(html: str, node_id: str) -> dict[str, list[object] | int]:
    import json

    found = re.search(rf'<script type="application/json" id="{node_id}">(.*?)</script>', html, re.S)
    assert found, f"no {node_id} on the page"
    data: dict[str, list[object] | int] = json.loads(found.group(1))
    return data


# ---------------------------------------------------------------- an order


def test_an_orders_timeline(client_as: Clients, placed: dict[str, QuarantineOrder]) -> None:
    order = placed["P-H1"]
    page = client_as("cdc").get(f"/quarantine/orders/{order.order_no}")
    assert page.status_code == 200, page.text
    html = page.text
    facts = section(html, "order-facts")
    assert "P-H1" in facts
    assert MASKED in facts
    assert "密切接触者" in facts
    assert 'href="/cases/C1"' in facts
    assert "S01隔离点 301" in facts
    assert "national-9:quarantine.close" in facts
    # ten days on the strip: seven centralized, three of home monitoring, today marked
    strip = section(html, "calendar")
    days = re.findall(r'<div class="qk-day ([a-z_]+)( marked)?" data-day="([^"]+)"', strip)
    assert next(d for _, _, d in days) == "2022-03-17"
    assert len(days) == 10
    assert [k for k, _, _ in days] == ["centralized"] * 7 + ["home_monitoring"] * 3
    assert [d for _, m, d in days if m] == ["2022-03-23"]
    # d1/2/3/5 passed untested; d7 (today) and d3 at home still to come
    assert strip.count("核酸 逾期未检") == 4
    assert strip.count("核酸 待采样") == 2
    assert "集中隔离 3月17日—3月23日" in strip
    # every move with who and why
    moves = section(html, "transitions")
    assert "生成：待转运" in moves
    assert "待转运 → 隔离中" in moves
    assert "密切接触者，流调判定" in moves
    assert "s01" in moves
    tests = section(html, "tests")
    assert tests.count("逾期") == 4  # the 17th, 18th, 19th and 21st passed untested
    assert 'id="no-reports"' in html
    assert 'id="no-tasks"' in html
    assert 'id="mark-lost"' in html
    assert 'id="mark-found"' not in html
    assert FULL_NAME not in html


def test_monitoring_reports_and_tasks_on_the_timeline(
    client_as: Clients, placed: dict[str, QuarantineOrder], engine: Engine
) -> None:
    from fangkong.monitoring.models import MonitoringReport, MonitoringTask

    order = placed["P-H0"]
    at = datetime(2022, 3, 23, 0, 30, tzinfo=UTC)
    with session_factory(engine)() as s, s.begin():
        report = MonitoringReport(
            order_id=order.id,
            day=date(2022, 3, 23),
            window="morning",
            reported_at=at,
            temperature=37.6,
            symptoms="fever dry_cough",
            channel="phone",
            entered_by="worker",
        )
        s.add(report)
        s.flush()
        s.add(
            MonitoringTask(
                order_id=order.id,
                kind="referral",
                day=date(2022, 3, 23),
                window="morning",
                reason="体温 37.6℃，发热、干咳",
                report_id=report.id,
                district_code="370306",
                status="open",
                created_at=at,
            )
        )
    html = client_as("cdc").get(f"/quarantine/orders/{order.order_no}").text
    reports = section(html, "reports")
    assert "37.6" in reports
    assert "发热、干咳" in reports
    assert "电话询问" in reports
    assert "2022-03-23 08:30" in reports
    assert ">早<" in reports
    tasks = section(html, "tasks")
    assert "发热/症状转诊" in tasks
    assert "待处理" in tasks


def test_lost_and_found(client_as: Clients, placed: dict[str, QuarantineOrder]) -> None:
    cdc = client_as("cdc")
    url = f"/quarantine/orders/{placed['P-H2'].order_no}"
    empty = cdc.post(f"{url}/lost", data={"why": " "})
    assert empty.status_code == 422
    assert "请填写原因" in empty.text
    done = cdc.post(f"{url}/lost", data={"why": "电话无人接听"}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"{url}?done=lost"
    html = cdc.get(done.headers["location"]).text
    assert "已登记失访" in html
    assert re.search(r'id="order-status">失访<', html)
    assert 'id="mark-found"' in html
    assert 'id="mark-lost"' not in html
    assert "隔离中 → 失访" in html
    assert "电话无人接听" in html
    twice = cdc.post(f"{url}/lost", data={"why": "again"})
    assert twice.status_code == 409
    assert "不能登记失访" in twice.text
    found = cdc.post(f"{url}/found", data={"why": "已联系上"}, follow_redirects=False)
    assert found.status_code == 303
    html = cdc.get(found.headers["location"]).text
    assert re.search(r'id="order-status">隔离中<', html)
    again = cdc.post(f"{url}/found", data={"why": "again"})
    assert again.status_code == 409
    assert "隔离令当前为“隔离中”，不是失访状态" in again.text
    assert "失访 → 隔离中" in html
    # the worker reads the order but may not mark it
    worker = client_as("worker")
    assert 'id="mark-lost"' not in worker.get(url).text
    assert worker.post(f"{url}/lost", data={"why": "x"}).status_code == 403


# ---------------------------------------------------------------- the list


def test_the_list_filters_and_pages(
    client_as: Clients, placed: dict[str, QuarantineOrder], monkeypatch: pytest.MonkeyPatch
) -> None:
    cdc = client_as("cdc")
    html = cdc.get("/quarantine/orders").text
    assert re.search(r'id="order-count">5<', html)
    assert html.count(MASKED) == 5
    assert FULL_NAME not in html
    inside = cdc.get("/quarantine/orders", params={"status": "in_quarantine"}).text
    assert len(rows(inside, "order")) == 4
    at_s02 = cdc.get("/quarantine/orders", params={"site": "S02"}).text
    assert rows(at_s02, "order") == [placed["P-ZD"].order_no]
    assert 'value="S02" selected' in at_s02
    later = cdc.get("/quarantine/orders", params={"date": "2022-04-01"}).text
    assert 'id="no-orders"' in later
    bad = cdc.get("/quarantine/orders", params={"status": "bored", "date": "x"})
    assert bad.status_code == 400
    for offset in ("x", "-3", "²", "99999999999999999999999"):
        assert cdc.get("/quarantine/orders", params={"offset": offset}).status_code == 200
    monkeypatch.setattr(pages, "PAGE", 2)
    first = cdc.get("/quarantine/orders", params={"status": "in_quarantine"}).text
    assert len(rows(first, "order")) == 2
    assert 'href="/quarantine/orders?status=in_quarantine&amp;offset=2"' in first
    second = cdc.get("/quarantine/orders", params={"status": "in_quarantine", "offset": 2}).text
    assert len(rows(second, "order")) == 2
    assert set(rows(first, "order")).isdisjoint(rows(second, "order"))


# ---------------------------------------------------------------- access, dashboard, CSRF


def test_access(client_as: Clients, anon: TestClient, placed: dict[str, QuarantineOrder]) -> None:
    order = placed["P-H0"].order_no
    for path in (
        "/quarantine",
        "/quarantine/orders",
        f"/quarantine/orders/{order}",
        "/quarantine/sites/S01",
    ):
        response = anon.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login")
        assert client_as("hotline").get(path).status_code == 403, path
    assert 'href="/quarantine"' not in client_as("hotline").get("/").text
    assert client_as("cdc").get("/quarantine/orders/NOPE").status_code == 404


def test_the_dashboard_card(client_as: Clients, placed: dict[str, QuarantineOrder]) -> None:
    card = section(client_as("cdc").get("/").text, "quarantine-card")
    assert figure(card, "in_quarantine") == "4"
    assert figure(card, "in_home_monitoring") == "0"
    assert figure(card, "pending_transfer") == "1"
    assert figure(card, "releases_due") == "4"
    assert figure(card, "tests_overdue") == "16"
    assert figure(card, "alerts_open") == "0"
    assert 'href="/quarantine"' in card
    assert 'href="/monitoring"' in card
    officer = section(client_as("zhangdian").get("/").text, "quarantine-card")
    assert figure(officer, "in_quarantine") == "1"
    assert 'id="quarantine-card"' not in client_as("hotline").get("/").text


def test_a_signed_in_browser_posts_with_its_csrf_token(
    anon: TestClient, users: dict[str, str], placed: dict[str, QuarantineOrder]
) -> None:
    signed = form_login(anon, "cdc", PASSWORD)
    assert signed.status_code == 303
    page = anon.get("/quarantine").text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert token
    form_html = page.split('id="release-form"')[1].split("</form>")[0]
    assert f'name="csrf_token" value="{token.group(1)}"' in form_html
    assert anon.post("/quarantine/release", data={"date": "2022-03-23"}).status_code == 403
    done = anon.post(
        "/quarantine/release", data={"date": "2022-03-23", "csrf_token": token.group(1)}
    )
    assert done.status_code == 200
    assert 'id="release-result"' in done.text
