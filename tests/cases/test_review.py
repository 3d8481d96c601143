"""Review and correction (审核、核减、订正): held cases do not count, a voided or corrected
case changes the figures at once, the day's bulletin says so, and what was published stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.jurisdiction import bind
from fangkong.auth.models import AuditEvent
from fangkong.auth.principal import Principal
from fangkong.cases import review, service
from fangkong.cases.schemas import CaseCreate, CaseUpdate
from fangkong.cases.vocab import Classification
from fangkong.errors import Conflict, InvalidInput
from fangkong.policy import load_policy

CITY = bind("city", "3703")
POLICY = load_policy("national-9")
HQ = Principal(
    kind="user", name="hq", role="command", permissions=frozenset({"cases.review"}),
    jurisdiction=CITY,
)  # fmt: skip
DAY = date(2022, 3, 21)
LATER = datetime(2022, 3, 23, 4, 0, tzinfo=UTC)  # 12:00 on 3月23日
Clients = Callable[[str], TestClient]


def add(
    session: Session, no: str, *, held: bool = False, classification: str = "asymptomatic"
) -> None:
    data = CaseCreate(
        case_no=no, district="周村区", classification=Classification(classification),
        reported_on=DAY, found_via="quarantine_site",
    )  # fmt: skip
    service.create_case(session, data=data, now=LATER, scope=CITY, held=held)


def figures(session: Session, day: date = DAY) -> tuple[int, int]:
    fig = service.day_series(
        session, city_code="3703", start=day, end=day, policy=POLICY, scope=CITY
    )[-1]
    return fig.new_asymptomatic, fig.total_asymptomatic


def bulletin(session: Session, day: date) -> str:
    return service.bulletin_text(
        session, city_code="3703", day=day, since=None, policy=POLICY, scope=CITY
    )


def test_a_held_case_counts_once_confirmed(session: Session) -> None:
    add(session, "A-1")
    add(session, "A-2", held=True)
    assert figures(session) == (1, 1)
    review.confirm(session, case_no="A-2", reason="核实无误", principal=HQ, now=LATER)
    assert figures(session) == (2, 2)
    assert service.counts_table(session) == {k: v for k, v in _recount(session).items() if v}
    with pytest.raises(Conflict):
        review.confirm(session, case_no="A-2", reason="again", principal=HQ, now=LATER)


def _recount(session: Session) -> dict[object, int]:
    before = service.counts_table(session)
    service.rebuild_counts(session)
    after = service.counts_table(session)
    assert before == after
    return after


def test_a_void_changes_the_figures_and_the_day_s_bulletin_says_it(session: Session) -> None:
    add(session, "A-1")
    add(session, "A-2")
    published = review.publish(
        session, city_code="3703", day=DAY, since=None, policy=POLICY, principal=HQ, now=LATER
    ).text
    assert "本土无症状感染者2例" in published
    with pytest.raises(InvalidInput):
        review.void(session, case_no="A-2", reason=" ", principal=HQ, now=LATER)
    review.void(session, case_no="A-2", reason="重复报告", principal=HQ, now=LATER)
    assert figures(session) == (1, 1)
    assert bulletin(session, date(2022, 3, 23)) == (
        "3月23日0时至24时，淄博市无新增本土确诊病例和无症状感染者。"
        "淄博市核减既往报告的本土无症状感染者1例，在周村区。"
        "截至3月23日24时，淄博市本土确诊病例0例、本土无症状感染者1例。"
    )
    # the bulletin of 3月21日 as published stays word for word
    stored = review.published(session, city_code="3703", day=DAY)
    assert stored is not None
    assert stored.text == published
    assert bulletin(session, DAY) != published
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.void")).all()
    assert [(e.entity_id, e.reason) for e in events] == [("A-2", "重复报告")]
    _recount(session)


def test_a_correction_moves_the_case_in_the_figures(session: Session) -> None:
    add(session, "A-1")
    review.correct(
        session, case_no="A-1", data=CaseUpdate(classification=Classification.confirmed),
        reason="订正诊断", principal=HQ, now=LATER,
    )  # fmt: skip
    fig = service.day_series(
        session, city_code="3703", start=DAY, end=DAY, policy=POLICY, scope=CITY
    )[-1]
    assert (fig.new_confirmed, fig.new_asymptomatic) == (1, 0)
    assert "淄博市订正既往报告病例1例，在周村区。" in bulletin(session, date(2022, 3, 23))
    with pytest.raises(InvalidInput):
        review.correct(
            session, case_no="A-1", data=CaseUpdate(notes="x"), reason="无",
            principal=HQ, now=LATER,
        )  # fmt: skip


def test_the_pages_review_and_void(client_as: Clients) -> None:
    cdc = client_as("cdc")
    form = {
        "case_no": "P-1", "classification": "asymptomatic", "origin": "local",
        "district": "370306", "reported_on": "2022-03-22", "new_person": "1", "name": "甲",
        "held": "1",
    }  # fmt: skip
    assert cdc.post("/cases/new", data=form, follow_redirects=False).status_code == 303
    page = cdc.get("/cases/P-1").text
    assert "待审核（不计入统计）" in page
    refused = cdc.post("/cases/P-1/review", data={"action": "confirm", "reason": ""})
    assert refused.status_code == 422
    assert "请填写原因" in refused.text
    done = cdc.post(
        "/cases/P-1/review", data={"action": "confirm", "reason": "流调核实"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.headers["location"] == "/cases/P-1?done=confirmed"
    voided = cdc.post(
        "/cases/P-1/review", data={"action": "void", "reason": "重复报告"},
        follow_redirects=False,
    )  # fmt: skip
    assert voided.headers["location"] == "/cases/P-1?done=voided"
    page = cdc.get("/cases/P-1").text
    assert "已核减" in page
    assert "重复报告" in page
    # a district officer may not review
    assert (
        client_as("zhoucun")
        .post("/cases/P-1/review", data={"action": "void", "reason": "x"})
        .status_code
        == 403
    )


def test_the_api_voids_and_keeps_the_published_bulletin(client_as: Clients) -> None:
    cdc = client_as("cdc")
    body = {"case_no": "Q-1", "district": "周村区", "classification": "asymptomatic",
            "reported_on": "2022-03-22"}  # fmt: skip
    assert cdc.post("/api/v1/cases", json=body).status_code == 201
    day = {"day": "2022-03-22"}
    published = cdc.post("/api/v1/bulletin/publish", params=day)
    assert published.status_code == 201, published.text
    assert cdc.post("/api/v1/bulletin/publish", params=day).json()["code"] == "conflict"
    voided = cdc.post("/api/v1/cases/Q-1/review", json={"action": "void", "reason": "假阳性"})
    assert voided.json()["status"] == "voided"
    read = cdc.get("/api/v1/bulletin", params=day).json()
    assert "无新增本土确诊病例和无症状感染者" in read["text"]
    assert read["published_text"] == published.json()["text"]
    assert "本土无症状感染者1例" in read["published_text"]
    assert (
        client_as("zhoucun")
        .post("/api/v1/cases/Q-1/review", json={"action": "void", "reason": "x"})
        .status_code
        == 403
    )
