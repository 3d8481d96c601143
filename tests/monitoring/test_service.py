"""Home health monitoring on a real store: reports and their alerts, the alert run (missed
windows, referrals, idempotence, jurisdiction), tasks, the community worklist."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import count

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import Jurisdiction, bind
from fangkong.clock import LOCAL_TZ
from fangkong.errors import InvalidInput, NotFound
from fangkong.monitoring import service, worklist
from fangkong.monitoring import tasks as monitoring_tasks
from fangkong.monitoring.models import MonitoringReport, MonitoringTask
from fangkong.people.models import Person
from fangkong.policy import load_policy
from fangkong.quarantine import stages
from fangkong.quarantine.models import QuarantineOrder
from tests.quarantine import factories

CITY = bind("city", "3703")
ZHANGDIAN = bind("district", "370303")
POLICY = load_policy("zibo-2022-03")
DAY = date(2022, 3, 23)  # tests/conftest.py's NOW is 20:00 local on this day
# A close contact from 9 March under 淄博's rule: 14 d centralized, home monitoring 23–29 March.
START = date(2022, 3, 9)
CREATED = datetime(2022, 3, 9, 1, 0, tzinfo=UTC)
_numbers = count(1)


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


def make_person(
    session: Session,
    no: str,
    *,
    name: str = "王小明",
    phone: str = "13853312345",
    district: str = "周村区",
    street: str = "丝绸路街道",
    community: str = "新建路社区",
    household: str | None = None,
) -> Person:
    return factories.resident(
        session,
        no,
        name=name,
        phone=phone,
        household=household,
        district=district,
        street=street,
        community=community,
        building="3号楼",
        room="301",
        at=CREATED,
    )


def make_order(
    session: Session,
    person: Person,
    *,
    kind: str = "close",
    start: date = START,
    status: str = "in_home_monitoring",
    order_no: str | None = None,
    created_at: datetime = CREATED,
    edition: str = "zibo-2022-03",
) -> QuarantineOrder:
    """An order inserted as the quarantine service would leave it (tests of monitoring do
    not depend on how orders are made)."""
    return factories.order_row(
        session,
        person,
        start=start,
        policy=load_policy(edition),
        kind=kind,
        status=status,
        order_no=order_no or f"QO-{next(_numbers):05d}",
        at=created_at,
    )


def report(
    session: Session,
    order: QuarantineOrder,
    at: datetime,
    temperature: float = 36.5,
    symptoms: tuple[str, ...] = (),
    channel: str = "phone",
) -> service.Recorded:
    return service.record_report(
        session,
        order=order,
        at=at,
        temperature=temperature,
        symptoms=symptoms,
        channel=channel,
        entered_by="worker",
        note=None,
        policy=POLICY,
        now=local(23, 59),
    )


def all_tasks(session: Session) -> list[MonitoringTask]:
    return list(session.scalars(select(MonitoringTask).order_by(MonitoringTask.id)))


def alerts(session: Session, now: datetime, scope: Jurisdiction = CITY) -> service.AlertRun:
    return service.run_alerts(session, day=DAY, now=now, policy=POLICY, scope=scope)


@pytest.fixture
def order(session: Session) -> QuarantineOrder:
    return make_order(session, make_person(session, "P001"))


# ---------------------------------------------------------------- reports


def test_fever_at_the_threshold_alerts_and_just_below_does_not(
    session: Session, order: QuarantineOrder
) -> None:
    below = report(session, order, local(7), 37.2)
    assert below.alert is None
    assert below.task is None
    assert all_tasks(session) == []
    at = report(session, order, local(8), 37.3)
    assert at.alert is not None
    assert "37.3℃" in at.alert
    assert "zibo-2022-03:quarantine.fever_celsius" in at.alert  # the rule behind it
    (task,) = all_tasks(session)
    assert (task.kind, task.day, task.window, task.status) == ("referral", DAY, "morning", "open")
    assert task.report_id == at.report.id
    assert (task.district_code, task.street_code, task.community_id) == (
        order.district_code,
        order.street_code,
        order.community_id,
    )


def test_a_listed_symptom_alerts_without_fever(session: Session, order: QuarantineOrder) -> None:
    done = report(session, order, local(19), 36.6, ("dry_cough", "diarrhoea"))
    assert done.alert is not None
    assert "干咳、腹泻" in done.alert
    assert done.alert.endswith("（zibo-2022-03:quarantine.symptoms）")
    assert done.report.symptoms == "dry_cough diarrhoea"
    (task,) = all_tasks(session)
    assert (task.kind, task.window) == ("referral", "evening")


def test_a_second_alert_in_the_window_keeps_one_task_and_reopens_a_closed_one(
    session: Session, order: QuarantineOrder
) -> None:
    first = report(session, order, local(7), 38.0)
    second = report(session, order, local(8), 38.2)
    assert first.task is not None
    assert second.task is not None
    assert first.task.id == second.task.id
    monitoring_tasks.close_task(
        session, task=first.task, by="worker", outcome="已转诊", now=local(9)
    )
    third = report(session, order, local(10), 38.5)
    assert third.task is not None
    assert third.task.id == first.task.id
    assert (third.task.status, third.task.report_id, third.task.outcome) == (
        "open",
        third.report.id,
        None,
    )
    assert len(all_tasks(session)) == 1


@pytest.mark.parametrize(
    ("temperature", "symptoms", "at", "field"),
    [
        (36.5, ("cough",), local(7), None),  # unknown code: a typo must not hide a symptom
        (33.9, (), local(7), "temperature"),
        (43.1, (), local(7), "temperature"),
        (36.5, (), datetime(2022, 3, 23, 7, 0), "at"),  # noqa: DTZ001 (naive on purpose)
        (36.5, (), local(8, day=date(2022, 3, 24)), "at"),  # after now
    ],
)
def test_bad_reports_are_refused_and_nothing_is_stored(
    session: Session,
    order: QuarantineOrder,
    temperature: float,
    symptoms: tuple[str, ...],
    at: datetime,
    field: str | None,
) -> None:
    with pytest.raises(InvalidInput) as error:
        report(session, order, at, temperature, symptoms)
    if field:
        assert error.value.details["field"] == field
    else:
        assert error.value.details["codes"] == ["cough"]
    assert session.scalar(select(func.count(MonitoringReport.id))) == 0


def test_an_unknown_channel_is_refused(session: Session, order: QuarantineOrder) -> None:
    with pytest.raises(InvalidInput):
        report(session, order, local(7), channel="wechat")


def test_a_report_outside_every_window_is_kept_with_its_local_day(
    session: Session, order: QuarantineOrder
) -> None:
    noon = report(session, order, local(13), 37.8)
    assert (noon.report.window, noon.report.day) == (None, DAY)
    (task,) = all_tasks(session)
    assert (task.kind, task.window) == ("referral", "")
    # 23:30 local is 15:30 UTC: still the 23rd; 00:30 local on the 24th is the 24th.
    late = report(session, order, datetime(2022, 3, 23, 15, 30, tzinfo=UTC))
    assert (late.report.window, late.report.day) == (None, DAY)
    early = service.record_report(
        session,
        order=order,
        at=datetime(2022, 3, 23, 16, 30, tzinfo=UTC),
        temperature=36.4,
        symptoms=(),
        channel="self",
        entered_by="link",
        note=None,
        policy=POLICY,
    )
    assert (early.report.window, early.report.day) == (None, date(2022, 3, 24))
    # A window includes its opening minute, not its closing one.
    assert report(session, order, local(6)).report.window == "morning"
    assert report(session, order, local(12)).report.window is None


def test_only_an_order_under_home_monitoring_takes_reports(session: Session) -> None:
    at_site = make_order(
        session, make_person(session, "P002"), status="in_quarantine", start=date(2022, 3, 15)
    )
    with pytest.raises(service.NotUnderMonitoring) as error:
        report(session, at_site, local(7))
    assert error.value.code == "not_under_monitoring"
    # In quarantine but on a home stage that day: rehabilitation after discharge.
    rehab = make_order(
        session,
        make_person(session, "P003"),
        kind="discharged",
        start=date(2022, 3, 20),
        status="in_quarantine",
    )
    assert report(session, rehab, local(7)).report.window == "morning"
    done = make_order(session, make_person(session, "P004"), status="completed")
    with pytest.raises(service.NotUnderMonitoring):
        report(session, done, local(7))


def test_who_is_under_monitoring_on_a_day(session: Session) -> None:
    person = make_person(session, "P005")
    released = make_order(session, person, status="in_home_monitoring")
    assert stages.monitored_on(released, DAY)
    assert not stages.monitored_on(released, date(2022, 3, 8))  # before the order
    at_site = make_order(session, person, status="in_quarantine")
    assert not stages.monitored_on(at_site, DAY - date.resolution)  # centralized
    assert stages.monitored_on(at_site, DAY)  # its home stage, not yet released
    iso = make_order(
        session, person, kind="secondary", status="in_quarantine", edition="national-9"
    )
    assert stages.monitored_on(iso, date(2022, 3, 15))  # 7 d home isolation
    assert not stages.monitored_on(iso, date(2022, 3, 16))  # over
    for status in ("pending_transfer", "released", "lost", "converted", "completed"):
        other = make_order(session, person, status=status)
        assert not stages.monitored_on(other, DAY), status


# ---------------------------------------------------------------- the alert run


def test_a_missed_window_is_followed_up_only_once_it_has_closed(
    session: Session, order: QuarantineOrder
) -> None:
    run = alerts(session, local(11, 59))
    assert (run.checked, run.follow_ups, run.referrals, run.closed_windows) == (1, 0, 0, ())
    run = alerts(session, local(12))
    assert (run.follow_ups, run.closed_windows) == (1, ("morning",))
    (task,) = all_tasks(session)
    assert (task.kind, task.window, task.status) == ("follow_up", "morning", "open")
    assert "五包一" in task.reason
    assert "zibo-2022-03:quarantine.report_windows" in task.reason
    assert alerts(session, local(22, 59)).follow_ups == 0
    report(session, order, local(19))
    run = alerts(session, local(23))
    assert (run.follow_ups, run.closed_windows) == (0, ("morning", "evening"))


def test_a_report_in_the_window_needs_no_follow_up_but_one_outside_does(
    session: Session,
) -> None:
    kept = make_order(session, make_person(session, "P010"))
    late = make_order(session, make_person(session, "P011"))
    report(session, kept, local(7))
    report(session, kept, local(19))
    report(session, late, local(13))  # after the morning window: still missed
    run = alerts(session, local(23, 30))
    assert (run.checked, run.follow_ups) == (2, 2)
    assert {(t.order_id, t.window) for t in all_tasks(session)} == {
        (late.id, "morning"),
        (late.id, "evening"),
    }


def test_the_alert_run_is_idempotent(session: Session, order: QuarantineOrder) -> None:
    other = make_order(session, make_person(session, "P012"))
    report(session, other, local(7), 38.1)  # referral raised at once
    first = alerts(session, local(23, 30))
    assert (first.checked, first.referrals, first.follow_ups) == (2, 0, 3)
    tasks_before = [(t.order_id, t.kind, t.window) for t in all_tasks(session)]
    second = alerts(session, local(23, 45))
    assert (second.referrals, second.follow_ups) == (0, 0)
    assert [(t.order_id, t.kind, t.window) for t in all_tasks(session)] == tasks_before


def test_the_run_refers_alerting_reports_that_have_no_task(
    session: Session, order: QuarantineOrder
) -> None:
    # Reports arriving without the service (a bulk feed): the run still refers them.
    for hour, temperature, symptoms in ((7, 38.0, ""), (8, 38.4, ""), (13, 36.5, "fatigue")):
        session.add(
            MonitoringReport(
                order_id=order.id,
                day=DAY,
                window="morning" if hour < 12 else None,
                reported_at=local(hour),
                temperature=temperature,
                symptoms=symptoms,
                channel="self",
                entered_by="feed",
            )
        )
    session.flush()
    run = alerts(session, local(9))
    assert run.referrals == 2  # one per window: the morning's two fevers make one
    referrals = {t.window: t for t in all_tasks(session)}
    assert set(referrals) == {"morning", ""}
    assert "38.0℃" in referrals["morning"].reason
    assert "乏力" in referrals[""].reason
    assert alerts(session, local(9, 30)).referrals == 0


def test_a_window_closed_before_the_order_was_made_is_not_missed(session: Session) -> None:
    make_order(session, make_person(session, "P013"), created_at=local(14))
    assert alerts(session, local(23, 30)).follow_ups == 1  # the evening only


def test_the_run_stays_inside_its_jurisdiction(session: Session, order: QuarantineOrder) -> None:
    away = make_order(
        session,
        make_person(session, "P020", district="张店区", street="车站街道", community="车站社区"),
    )
    run = alerts(session, local(23, 30), scope=ZHANGDIAN)
    assert (run.checked, run.follow_ups) == (1, 2)
    assert {t.order_id for t in all_tasks(session)} == {away.id}
    run = alerts(session, local(23, 30))
    assert (run.checked, run.follow_ups) == (2, 2)


def test_orders_not_under_monitoring_are_not_checked(session: Session) -> None:
    person = make_person(session, "P021")
    make_order(session, person, status="in_quarantine", start=date(2022, 3, 15))  # at a site
    make_order(session, person, status="completed")
    make_order(session, person, status="converted")
    assert alerts(session, local(23, 30)).checked == 0


# ---------------------------------------------------------------- tasks


def test_closing_a_task(session: Session, order: QuarantineOrder) -> None:
    done = report(session, order, local(7), 38.0)
    assert done.task is not None
    with pytest.raises(InvalidInput):
        monitoring_tasks.close_task(
            session, task=done.task, by="worker", outcome="  ", now=local(9)
        )
    monitoring_tasks.close_task(
        session, task=done.task, by="worker", outcome="已转诊至区医院", now=local(9)
    )
    assert (done.task.status, done.task.done_by, done.task.outcome) == (
        "done",
        "worker",
        "已转诊至区医院",
    )
    with pytest.raises(service.TaskClosed) as error:
        monitoring_tasks.close_task(
            session, task=done.task, by="worker", outcome="again", now=local(10)
        )
    assert error.value.code == "task_closed"


def test_task_lists_are_cut_to_the_jurisdiction_and_masked(
    session: Session, order: QuarantineOrder
) -> None:
    report(session, order, local(7), 38.0)
    alerts(session, local(23, 30))
    rows, total = monitoring_tasks.tasks(session, scope=CITY, day=DAY)
    assert total == 2
    assert {r.name for r in rows} == {"王*明"}
    assert monitoring_tasks.tasks(session, scope=CITY, kind="referral")[1] == 1
    assert monitoring_tasks.tasks(session, scope=CITY, kind="follow_up", status="open")[1] == 1
    assert monitoring_tasks.tasks(session, scope=ZHANGDIAN)[1] == 0
    street = bind("street", "370306001")
    assert monitoring_tasks.tasks(session, scope=street)[1] == 2
    with pytest.raises(NotFound):
        monitoring_tasks.get_task(session, task_id=rows[0].id, scope=ZHANGDIAN)
    with pytest.raises(InvalidInput):
        monitoring_tasks.tasks(session, scope=CITY, kind="visit")


# ---------------------------------------------------------------- the worklist


def test_the_worklist_groups_households_and_shows_each_window(session: Session) -> None:
    a1 = make_order(session, make_person(session, "P030", name="张三丰", household="H1"))
    a2 = make_order(session, make_person(session, "P031", name="张小红", household="H1"))
    b = make_order(session, make_person(session, "P032", name="李四", household="H2"))
    make_order(session, make_person(session, "P033", household="H3"), status="completed")
    report(session, a1, local(7), 36.6)
    report(session, a2, local(8), 37.9)
    report(session, b, local(13), 36.4)  # outside both windows
    community_id = a1.community_id
    assert community_id is not None
    found = worklist.worklist(
        session,
        day=DAY,
        community_id=community_id,
        scope=CITY,
        now=local(20),
        policy=POLICY,
    )
    assert (found.total_households, found.total_persons, found.community_name) == (
        2,
        3,
        "新建路社区",
    )
    # The household with an alert (an open referral) comes first.
    first, second = found.households
    assert first.household_no == "H1"
    assert second.household_no == "H2"
    zhang, xiaohong = first.members
    assert (zhang.name, zhang.phone, zhang.address) == ("张*丰", "138****2345", None)
    assert [(w.name, w.state, w.temperature) for w in zhang.windows] == [
        ("morning", "reported", 36.6),
        ("evening", "open", None),
    ]
    assert xiaohong.alert
    assert xiaohong.windows[0].alert
    assert [t.kind for t in xiaohong.open_tasks] == ["referral"]
    (li,) = second.members
    assert [w.state for w in li.windows] == ["missed", "open"]
    assert (li.last_temperature, li.other_reports) == (36.4, 1)
    assert found.counts["morning_reported"] == 2
    assert found.counts["morning_missed"] == 1
    assert found.counts["alert"] == 1
    assert found.counts["open_tasks"] == 1
    before = worklist.worklist(
        session, day=DAY, community_id=community_id, scope=CITY, now=local(5), policy=POLICY
    )
    assert {w.state for h in before.households for m in h.members for w in m.windows} >= {"not_yet"}


def test_the_worklist_in_full_and_by_page(session: Session) -> None:
    for i in range(5):
        make_order(session, make_person(session, f"P04{i}", name="赵六", household=f"H4{i}"))
    person = session.scalars(select(Person).where(Person.person_no == "P040")).one()
    assert person.community_id is not None
    full = worklist.worklist(
        session,
        day=DAY,
        community_id=person.community_id,
        scope=CITY,
        now=local(20),
        policy=POLICY,
        pii=True,
        limit=2,
        offset=2,
    )
    assert full.total_households == 5
    assert [h.household_no for h in full.households] == ["H42", "H43"]
    member = full.households[0].members[0]
    assert (member.name, member.phone, member.address) == (
        "赵六",
        "13853312345",
        "丝绸苑小区 3号楼 301",
    )


def test_the_worklist_of_a_community_outside_the_jurisdiction_is_absent(
    session: Session, order: QuarantineOrder
) -> None:
    assert order.community_id is not None
    for scope in (ZHANGDIAN, bind("street", "370306002"), bind("site", "S01")):
        with pytest.raises(NotFound):
            worklist.worklist(
                session,
                day=DAY,
                community_id=order.community_id,
                scope=scope,
                now=local(20),
                policy=POLICY,
            )
    choices = worklist.communities_under_monitoring(
        session, day=DAY, scope=bind("street", "370306001")
    )
    assert choices == [(order.community_id, "新建路社区", 1)]
    assert worklist.communities_under_monitoring(session, day=DAY, scope=ZHANGDIAN) == []
