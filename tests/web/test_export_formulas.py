"""Every CSV and Excel export writes text a spreadsheet would run as a formula (``= + - @``,
tab, carriage return first) as text: a leading apostrophe, in every cell."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from fangkong.storage.db import session_factory
from fangkong.tabular import FORMULA_PREFIXES
from tests.signin import form_login

NOW = datetime(2022, 3, 23, 12, 0, tzinfo=UTC)
CALC = "=1+cmd|' /C calc'!A0"
LINK = '=HYPERLINK("http://evil.example/x","open")'


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def _no_formula(cells: list[str]) -> None:
    assert cells
    bad = [c for c in cells if c.startswith(FORMULA_PREFIXES)]
    assert not bad, bad


def _person(client: TestClient, **values: str) -> None:
    body = {"person_no": "P001", "name": CALC, "district": "周村区", "street": "丝绸路街道"}
    body.update(values)
    response = client.post("/api/v1/people", json=body)
    assert response.status_code == 201, response.text


def test_people_csv(client_as: Callable[[str], TestClient]) -> None:
    cdc = client_as("cdc")
    _person(cdc, community="@SUM(A1)社区", room="-1+2")
    text = cdc.get("/api/v1/people.csv", params={"reason": "核查"}).text
    _no_formula(_cells(text))
    assert "'@SUM(A1)社区" in text


def test_cases_csv(client_as: Callable[[str], TestClient]) -> None:
    cdc = client_as("cdc")
    case = {
        "case_no": "ZB-001",
        "name": "+2+3+cmd",
        "district": "周村区",
        "classification": "asymptomatic",
        "reported_on": "2022-03-21",
    }
    assert cdc.post("/api/v1/cases", json=case).status_code == 201
    text = cdc.get("/api/v1/cases.csv", params={"reason": "核查"}).text
    _no_formula(_cells(text))
    assert "'+" in text


def test_audit_csv_of_a_failed_sign_in(
    anon: TestClient, client_as: Callable[[str], TestClient]
) -> None:
    assert form_login(anon, LINK, "wrong-password").status_code in (200, 303, 401, 403)
    text = client_as("admin").get("/api/v1/audit.csv", params={"reason": "月度核查"}).text
    _no_formula(_cells(text))
    assert "'" + LINK.replace('"', '""') in text


def test_contacts_csv(client_as: Callable[[str], TestClient], engine: Engine) -> None:
    from fangkong.cases.models import Case
    from fangkong.people.joins import Person
    from fangkong.tracing.models import Contact

    cdc = client_as("cdc")
    _person(cdc)
    case = {
        "case_no": "-ZB-1",
        "district": "周村区",
        "classification": "asymptomatic",
        "reported_on": "2022-03-21",
    }
    assert cdc.post("/api/v1/cases", json=case).status_code == 201
    with session_factory(engine)() as s, s.begin():
        reason = {"kind": "venue", "rule": "r", "venue_code": "@V1", "via": "\t=1"}
        case_id = s.query(Case.id).scalar()
        person_id = s.query(Person.id).scalar()
        s.add(
            Contact(
                case_id=case_id,
                person_id=person_id,
                degree="close",
                reasons=json.dumps([reason]),
                rule="r",
                first_found_at=NOW,
                updated_at=NOW,
            )
        )
    text = cdc.get("/api/v1/contacts.csv", params={"reason": "转运隔离"}).text
    cells = _cells(text)
    _no_formula(cells)
    assert {"'-ZB-1", "'@V1", "'\t=1"} <= set(cells)


def test_testing_list_workbook() -> None:
    from fangkong.testing.lists import Listed, workbook

    rows = [Listed("P1", LINK, "-13800000000", "@社区", "missing")]
    sheet = load_workbook(io.BytesIO(workbook(rows, title="=标题")))["名单"]
    cells = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    _no_formula(cells)
    assert "'" + LINK in cells
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)


def test_sampling_plan_workbook() -> None:
    from fangkong.testing.plan_xlsx import plan_workbook
    from fangkong.testing.planning import CommunityPopulation, plan_points

    start = datetime(2022, 3, 23, 0, 0, tzinfo=UTC)
    place = CommunityPopulation(
        code="370306001001", name="-社区", street="+街道", district="=区", population=1200
    )
    plan = plan_points([place], window_start=start, window_end=start + timedelta(hours=8))
    book = load_workbook(io.BytesIO(plan_workbook(plan, title="=第一轮")))
    cells = [
        c.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, str)
    ]
    _no_formula(cells)
    assert "'=区" in cells
